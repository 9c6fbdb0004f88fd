/**
 * `npm run bench:emulator`: the integer emulator's throughput and memory on
 * every bundled model, against ONNX Runtime's float throughput measured in
 * the same run.
 *
 * For each model: quantize (default recipe, calibration set of the manifest),
 * integerize (models integer code refuses, e.g. the ViT, are listed with the
 * reason), then, at batch 64, in alternating rounds (so that a busy machine
 * disturbs all alike):
 *   - emu:    samples/s of a compiled Emulator (WebAssembly SIMD engine; one thread)
 *   - ort1:   ONNX Runtime on the float model, intra-op threads 1, default optimizations
 *   - ort2:   the same with 2 intra-op threads
 * Ratios are emu ÷ ort1 and emu ÷ ort2 of the medians over rounds, in wall
 * time; "best" is emu ÷ ort1 of each engine's best round, and "cpu" emu ÷ ort1
 * in process CPU time: two cross-checks that load from other processes
 * disturbs less. Target ≥ 0.25 (stretch ≥ 0.5) against ort1.
 *
 * Memory: the emulator's own buffer (packed weights + scratch + value arena)
 * and its largest live set of values, and, from a fresh child process that
 * only integerizes and runs 20 batches of 64, the peak RSS and ArrayBuffer
 * bytes (process.memoryUsage, sampled after every batch) over its baseline.
 *
 * Accuracy, for context: top-1 on the 2,000 eval images of the emulator and
 * of ORT running the fake-quant QDQ model with graph optimizations off, and
 * how often their top-1 agree.
 *
 * Knobs: FIXQ_BENCH_REPS (rounds, default 7), FIXQ_BENCH_MODELS (comma list).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { Emulator, runProgram } from "../src/backends/emulator/run.js";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { argmaxRows } from "../src/eval/classify.js";
import type { Program } from "../src/integer/program.js";
import { integerizeModel } from "../src/integer/integerize.js";
import { readNpy } from "../src/io/npy.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { encodeModel } from "../src/ir/onnx/save.js";
import { bundledProgram } from "./bundled-program.js";
import { printBenchHeader } from "./cpu-header.js";

const BATCH = 64;
const SAMPLE = 784;
const MB = 1024 * 1024;
const x = readNpy(join(MODELS_DIR, "data/eval.npy")).data as Float32Array;
const labels = readNpy(join(MODELS_DIR, "data/eval_labels.npy")).data as BigInt64Array;
const N = labels.length;

/** Child mode: integerize MODEL, run 20 batches, report peak memory over the baseline as JSON. */
async function child(path: string): Promise<void> {
  const p = integerizeModel(loadModel(path));
  const before = process.memoryUsage();
  let rss = before.rss;
  let ab = before.arrayBuffers;
  const feeds = new Map([[p.inputs[0]!.name, x.subarray(0, BATCH * SAMPLE)]]);
  for (let i = 0; i < 20; i++) {
    runProgram(p, feeds, BATCH);
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    ab = Math.max(ab, m.arrayBuffers);
  }
  console.log(JSON.stringify({ rssMB: (rss - before.rss) / MB, arrayBuffersMB: (ab - before.arrayBuffers) / MB, baselineRssMB: before.rss / MB }));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Rate {
  wall: number;
  cpu: number;
}

/** Samples/s of `run` over at least `ms` milliseconds, by wall clock and by process CPU time. */
async function rate(run: () => unknown, ms = 300): Promise<Rate> {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await run();
    n++;
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: (n * BATCH) / wall, cpu: (n * BATCH) / ((c.user + c.system) / 1e6) };
}

async function ortSession(bytes: Uint8Array, threads: number, optimization: "all" | "disabled" = "all") {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: optimization,
    logSeverityLevel: 3,
  });
}

async function top1(p: Program, qBytes: Uint8Array): Promise<{ emu: number; fake: number; agree: number }> {
  const emu = new Int32Array(N);
  const r = runProgram(p, new Map([[p.inputs[0]!.name, x]]), N);
  argmaxRows(r.outputs.get(p.outputs[0]!.name)!, N, emu, 0);
  const s = await ortSession(qBytes, 1, "disabled");
  const fake = new Int32Array(N);
  for (let start = 0; start < N; start += 500) {
    const n = Math.min(500, N - start);
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", x.subarray(start * SAMPLE, (start + n) * SAMPLE), [n, 1, 28, 28]) });
    argmaxRows(out[s.outputNames[0]!]!.data as Float32Array, n, fake, start);
  }
  await s.release();
  let e = 0;
  let f = 0;
  let a = 0;
  for (let i = 0; i < N; i++) {
    const y = Number(labels[i]);
    if (emu[i] === y) e++;
    if (fake[i] === y) f++;
    if (emu[i] === fake[i]) a++;
  }
  return { emu: e / N, fake: f / N, agree: a / N };
}

async function main(): Promise<void> {
  ort.env.logLevel = "error";
  const reps = Number(process.env["FIXQ_BENCH_REPS"] ?? 7);
  const only = process.env["FIXQ_BENCH_MODELS"]?.split(",").filter(Boolean);
  const dir = mkdtempSync(join(tmpdir(), "fixq-emu-bench-"));
  const rows: Record<string, unknown>[] = [];
  printBenchHeader("emulator");
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; batch ${BATCH}; ${reps} rounds; ratios are emulator ÷ ORT float`);
  console.log(
    `${"model".padEnd(16)} ${"emu/s".padStart(7)} ${"ort1/s".padStart(7)} ${"ratio".padStart(6)} ${"best".padStart(5)} ${"cpu".padStart(5)} ${"ort2/s".padStart(7)} ${"ratio2".padStart(6)}  ${"mem MB (live)".padEnd(14)} ${"child rss/ab MB".padEnd(16)} top1 emu/fake (agree)`,
  );
  try {
    for (const m of bundledModels()) {
      if (only && !only.includes(m.key)) continue;
      const built = await bundledProgram(m);
      if ("refused" in built) {
        console.log(`${m.key.padEnd(16)} refused: ${built.refused}`);
        rows.push({ model: m.key, refused: built.refused });
        continue;
      }
      const { float, q, p } = built;
      const qBytes = encodeModel(q);
      const qPath = join(dir, `${m.key}.q.onnx`);
      writeFileSync(qPath, qBytes);
      const fBytes = encodeModel(float);
      const s1 = await ortSession(fBytes, 1);
      const s2 = await ortSession(fBytes, 2);
      const tensor = new ort.Tensor("float32", x.subarray(0, BATCH * SAMPLE), [BATCH, 1, 28, 28]);
      const emu = Emulator.compile(p, BATCH);
      const feeds = new Map([[p.inputs[0]!.name, x.subarray(0, BATCH * SAMPLE)]]);
      for (let i = 0; i < 5; i++) {
        emu.run(feeds);
        await s1.run({ [s1.inputNames[0]!]: tensor });
        await s2.run({ [s2.inputNames[0]!]: tensor });
      }
      const r = { emu: [] as Rate[], ort1: [] as Rate[], ort2: [] as Rate[] };
      for (let k = 0; k < reps; k++) {
        r.emu.push(await rate(() => emu.run(feeds)));
        r.ort1.push(await rate(() => s1.run({ [s1.inputNames[0]!]: tensor })));
        r.ort2.push(await rate(() => s2.run({ [s2.inputNames[0]!]: tensor })));
      }
      await s1.release();
      await s2.release();
      const med = (v: Rate[], k: keyof Rate) => median(v.map((x) => x[k]));
      const emuS = med(r.emu, "wall");
      const ort1S = med(r.ort1, "wall");
      const ort2S = med(r.ort2, "wall");
      const cpuRatio = med(r.emu, "cpu") / med(r.ort1, "cpu");
      const best = (v: Rate[]) => Math.max(...v.map((x) => x.wall));
      const bestRatio = best(r.emu) / best(r.ort1);
      const c = spawnSync(process.execPath, ["--import", "tsx", import.meta.filename, "--child", qPath], { encoding: "utf8" });
      const mem = c.status === 0 ? (JSON.parse(c.stdout.trim().split("\n").pop()!) as { rssMB: number; arrayBuffersMB: number }) : undefined;
      const acc = await top1(p, qBytes);
      const row = {
        model: m.key,
        ops: p.ops.length,
        emuPerS: emuS,
        ort1PerS: ort1S,
        ort2PerS: ort2S,
        ratio1: emuS / ort1S,
        ratio2: emuS / ort2S,
        bestRatio1: bestRatio,
        cpuRatio1: cpuRatio,
        emulatorMemoryMB: emu.memoryBytes / MB,
        peakLiveMB: emu.peakLiveBytes / MB,
        child: mem ?? { error: c.stderr.trim().split("\n").slice(-3).join(" ") },
        top1: acc,
      };
      rows.push(row);
      const memCol = `${row.emulatorMemoryMB.toFixed(2)} (${row.peakLiveMB.toFixed(2)})`;
      const childCol = mem ? `${mem.rssMB.toFixed(1)}/${mem.arrayBuffersMB.toFixed(1)}` : "-";
      console.log(
        `${m.key.padEnd(16)} ${emuS.toFixed(0).padStart(7)} ${ort1S.toFixed(0).padStart(7)} ${row.ratio1.toFixed(2).padStart(6)} ${bestRatio.toFixed(2).padStart(5)} ${cpuRatio.toFixed(2).padStart(5)} ${ort2S.toFixed(0).padStart(7)} ${row.ratio2.toFixed(2).padStart(6)}  ${memCol.padEnd(14)} ${childCol.padEnd(16)} ${(acc.emu * 100).toFixed(2)}/${(acc.fake * 100).toFixed(2)} (${(acc.agree * 100).toFixed(2)}%)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`BENCH_EMULATOR ${JSON.stringify(rows)}`);
}

if (process.argv[2] === "--child") await child(process.argv[3]!);
else await main();
