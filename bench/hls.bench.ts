/**
 * `npm run bench:hls`: the HLS design of each bundled model at reuse factors
 * 1, 4 and 16 — the resource ESTIMATES of the code written (resources.ts:
 * multipliers = products per cycle, DSP48 by the operand-width rule, weight
 * and activation bits, Σ rows · R: the cycles the II pragmas ask for), the
 * latency/throughput estimates (timing.ts: II raised to the dual-port memory
 * bound; latency and interval in cycles, samples/s at 5 ns; buffer and FIFO
 * memory, line buffers in stream I/O), the generated code's
 * size, and its C simulation (g++, fixq's ap_types): the mismatch count
 * against the emulator on 64 eval samples (raw integers and floats; must be
 * 0) and samples/s of csim_run beside the emulator's, same run.
 *
 * The activation × activation matmuls (attention; ViT) are reuse-factor
 * layers like conv/dense (matmul-layer.ts): they count in the row's totals,
 * and one more line gives their share (multipliers, DSP48, b-block bits,
 * cycles). The other transformer layers (softmax, layernorm, tables,
 * addconst) print one more line: their estimates (resources-transformer.ts),
 * which no reuse factor changes.
 *
 * A factor applies to a layer where it divides the weight count and keeps
 * every partition within 4096; elsewhere the layer takes its least divisor
 * above the factor that fits ("adjusted" counts those layers). Estimates
 * are not synthesis results: no Vitis here.
 *
 * Knobs: FIXQ_BENCH_MODELS (comma list), FIXQ_BENCH_HLS_FACTORS (default
 * 1,4,16), FIXQ_BENCH_HLS_IO (parallel | stream), FIXQ_BENCH_HLS_LAYERS=1
 * (also the per-layer report). Skipped with a notice when g++ or make is absent.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runProgram } from "../src/backends/emulator/run.js";
import { emitHls } from "../src/backends/hls/emit.js";
import { estimateResources, formatResources, isPlannedOp, PARTITION_LIMIT, productsPerRow } from "../src/backends/hls/resources.js";
import { estimateTransformerResources, formatTransformerResources } from "../src/backends/hls/resources-transformer.js";
import { estimateTiming, formatTiming } from "../src/backends/hls/timing.js";
import type { HlsIo } from "../src/backends/hls/top.js";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { certifyProgram } from "../src/integer/certify.js";
import { type Program, sampleSize } from "../src/integer/program.js";
import { readNpy } from "../src/io/npy.js";
import { bundledProgram } from "./bundled-program.js";
import { printBenchHeader } from "./cpu-header.js";

const N = 64;
const x = readNpy(join(MODELS_DIR, "data/eval.npy")).data as Float32Array;

/** Per layer: the least divisor of its products per row (weights; matmul K·N) ≥ r whose plan fits (estimateResources checks it again). */
function factors(p: Program, r: number): { byLayer: Map<string, number>; adjusted: number } {
  const cert = certifyProgram(p);
  const byLayer = new Map<string, number>();
  let adjusted = 0;
  for (const op of p.ops.filter(isPlannedOp)) {
    const w = productsPerRow(p, op);
    for (let d = r; d <= w; d++) {
      if (w % d !== 0) continue;
      try {
        estimateResources({ ...p, ops: [op] }, cert, { byLayer: new Map([[op.source, d]]) });
      } catch {
        continue; // a partition over PARTITION_LIMIT at d
      }
      byLayer.set(op.source, d);
      if (d !== r) adjusted++;
      break;
    }
  }
  return { byLayer, adjusted };
}

/** Median wall time per sample of `exe IN OUT` over `reps` runs on the N samples. */
function timeCsim(exe: string, dir: string, reps: number): number {
  const ts: number[] = [];
  for (let k = 0; k < reps; k++) {
    const t0 = performance.now();
    execFileSync(exe, [join(dir, "x.bin"), join(dir, "t.out")]);
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]! / N;
}

async function main(): Promise<void> {
  for (const tool of ["g++", "make"]) {
    if (spawnSync(tool, ["--version"], { stdio: "ignore" }).status !== 0) {
      console.log(`bench:hls skipped: ${tool} not found`);
      return;
    }
  }
  const only = process.env["FIXQ_BENCH_MODELS"]?.split(",").filter(Boolean);
  const rs = (process.env["FIXQ_BENCH_HLS_FACTORS"] ?? "1,4,16").split(",").map(Number);
  const io = (process.env["FIXQ_BENCH_HLS_IO"] ?? "parallel") as HlsIo;
  const root = mkdtempSync(join(tmpdir(), "fixq-hls-bench-"));
  printBenchHeader("hls");
  console.log(`--io ${io}; ap types; estimates (not synthesis); csim: g++ -O2 with fixq's ap_types, ${N} eval samples, median of 3 runs; partition limit ${PARTITION_LIMIT}`);
  console.log(
    `${"model".padEnd(12)} ${"R".padStart(3)} ${"adj".padStart(3)} ${"mults".padStart(7)} ${"DSP48".padStart(7)} ${"weight kbit".padStart(11)} ${"act kbit".padStart(9)} ${"asked cyc".padStart(9)} ${"latency".padStart(8)} ${"interval".padStart(8)} ${"est/s".padStart(6)} ${"mem kbit".padStart(8)} ${"code KB".padStart(8)} ${"lines".padStart(7)} ${"mismatch".padStart(8)} ${"csim/s".padStart(8)} ${"emu/s".padStart(8)}`,
  );
  try {
    for (const m of bundledModels()) {
      if (only && !only.includes(m.key)) continue;
      const b = await bundledProgram(m);
      if ("refused" in b) {
        console.log(`${m.key.padEnd(12)} refused: ${b.refused}`);
        continue;
      }
      const p = b.p;
      const cert = certifyProgram(p);
      const ops = estimateTransformerResources(p, cert);
      const size = sampleSize(p.inputs[0]!.shape);
      const xs = x.subarray(0, N * size);
      const t0 = performance.now();
      const want = runProgram(p, new Map([[p.inputs[0]!.name, xs]]), N);
      const emuPerSample = (performance.now() - t0) / N;
      for (const r of rs) {
        const { byLayer, adjusted } = factors(p, r);
        const layers = estimateResources(p, cert, { byLayer });
        const timing = estimateTiming(p, cert, layers, io, "ap");
        const files = emitHls(p, { cert, layers, io, modelName: m.key });
        const dir = join(root, `${m.key}-${r}`);
        for (const [rel, text] of files) {
          mkdirSync(dirname(join(dir, rel)), { recursive: true });
          writeFileSync(join(dir, rel), text);
        }
        const firmware = [...files].filter(([rel]) => rel.startsWith("firmware/")).map(([, t]) => t);
        const bytes = firmware.reduce((s, t) => s + t.length, 0);
        const lines = firmware.reduce((s, t) => s + t.split("\n").length, 0);
        execFileSync("make", ["-s", "-C", dir, "csim_run"], { stdio: ["ignore", "ignore", "inherit"] });
        writeFileSync(join(dir, "x.bin"), Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength));
        execFileSync(join(dir, "csim_run"), [join(dir, "x.bin"), join(dir, "y.bin"), "--int", join(dir, "yi.bin")]);
        const gotF = new Float32Array(new Uint8Array(readFileSync(join(dir, "y.bin"))).buffer);
        const gotI = new Int32Array(new Uint8Array(readFileSync(join(dir, "yi.bin"))).buffer);
        const wantF = want.outputs.get(p.outputs[0]!.name)!;
        const wantI = want.ints.get([...want.ints.keys()][0]!)!;
        let mismatches = Math.abs(gotF.length - wantF.length) + Math.abs(gotI.length - wantI.length);
        for (let i = 0; i < Math.min(gotF.length, wantF.length); i++) if (!Object.is(gotF[i], wantF[i])) mismatches++;
        for (let i = 0; i < Math.min(gotI.length, wantI.length); i++) if (gotI[i] !== wantI[i]) mismatches++;
        const csim = timeCsim(join(dir, "csim_run"), dir, 3);
        const sum = (f: (l: (typeof layers)[number]) => number) => layers.reduce((s, l) => s + f(l), 0);
        console.log(
          `${m.key.padEnd(12)} ${String(r).padStart(3)} ${String(adjusted).padStart(3)} ${String(sum((l) => l.multipliers)).padStart(7)} ${String(sum((l) => l.dsp)).padStart(7)} ${(sum((l) => l.weightBits) / 1000).toFixed(1).padStart(11)} ${(sum((l) => l.activationBits) / 1000).toFixed(1).padStart(9)} ${String(sum((l) => l.cycles)).padStart(9)} ${String(timing.latency).padStart(8)} ${String(timing.interval).padStart(8)} ${(1e9 / (timing.interval * 5)).toFixed(0).padStart(6)} ${((timing.bufferBits + timing.fifoBits) / 1000).toFixed(0).padStart(8)} ${(bytes / 1024).toFixed(0).padStart(8)} ${String(lines).padStart(7)} ${String(mismatches).padStart(8)} ${(1000 / csim).toFixed(0).padStart(8)} ${(1000 / emuPerSample).toFixed(0).padStart(8)}`,
        );
        const mm = layers.filter((l) => l.kind === "matmul");
        if (mm.length > 0) {
          const t = (f: (l: (typeof mm)[number]) => number) => mm.reduce((s, l) => s + f(l), 0);
          const ts = timing.layers.filter((l) => l.kind === "matmul");
          console.log(
            `${"".padEnd(12)}   of which ${mm.length} activation matmuls (R ${[...new Set(mm.map((l) => l.reuseFactor))].join("/")}): ${t((l) => l.multipliers)} multipliers, ${t((l) => l.dsp)} DSP48, ${(t((l) => l.weightBits) / 1000).toFixed(1)} b-block kbit, ${t((l) => l.cycles)} asked cycles, ${ts.reduce((s, l) => s + l.cycles, 0)} estimated cycles (II est ${[...new Set(ts.map((l) => l.ii))].join("/")})`,
          );
        }
        if (ops.length > 0) {
          const total = (f: (l: (typeof ops)[number]) => number) => ops.reduce((t, l) => t + f(l), 0);
          console.log(`${"".padEnd(12)}   + ${ops.length} other transformer layers (R does not apply): ${total((l) => l.multipliers.length)} multipliers, ${total((l) => l.dsp)} DSP48, ${(total((l) => l.romBits) / 1000).toFixed(1)} ROM kbit, ${total((l) => l.dividers)} dividers, ${total((l) => l.cycles)} cycles/sample`);
        }
        if (process.env["FIXQ_BENCH_HLS_LAYERS"] === "1") console.log(`${formatResources(layers)}\n${formatTiming(timing, 5)}`);
        if (process.env["FIXQ_BENCH_HLS_LAYERS"] === "1" && ops.length > 0) console.log(formatTransformerResources(ops));
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
