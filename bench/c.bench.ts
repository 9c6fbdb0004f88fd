/**
 * `npm run bench:c`: the generated C (`fixq compile --target c`) against
 * ONNX Runtime on the same machine, one thread, measured in the same run.
 *
 * For each bundled model fixq compiles to integers (default recipe,
 * calibration set of the manifest), in alternating rounds (so that a busy
 * machine disturbs all alike), samples/s of:
 *   - c:        the generated C, gcc -O3 (its Makefile's flags: no -march, so run-time CPU dispatch,
 *               cpu-dispatch.ts, takes the AVX2 pass where the CPU has AVX2), NAME_run_batch over 64 samples
 *   - c-base:   the same binary with FIXQ_CPU=portable (the baseline pass: SSE2 on x86-64)
 *   - c-native: the same with -O3 -march=native (no dispatch: the target macros choose)
 *   - nat1:     -O3 -march=native, NAME_run one sample per call (batch 1)
 *   - ort-int8: ONNX Runtime on the QDQ model (graph optimizations all: int8
 *               QLinearConv / MatMulInteger kernels), intra-op threads 1, batch 64
 *   - int8-own: ort-int8 without the cost of a call through onnxruntime-node:
 *               64 / (t_int8 − t_call), t_call the time per run of an Identity
 *               model whose output has the same size as the model's (the
 *               binding, the output copy into JS). The C driver times compute
 *               only (its input read once beforehand), as ORT's own model_run
 *               does; c ÷ int8-own compares them on that footing.
 *   - int8-b1:  the same at batch 1, one sample per call as the C API runs
 *   - ort-f32:  ONNX Runtime on the float model, threads 1, batch 64
 *   - emu:      fixq's emulator (WebAssembly SIMD engine, one thread), batch 64
 * The C is timed inside a small C driver (bench writes it next to the
 * generated files) with clock_gettime over ≥ 300 ms per round; ORT and the
 * emulator with performance.now() over ≥ 300 ms. Ratios are of the medians
 * over rounds; the goal is c ÷ ort-int8 ≥ 1.0 on every CNN and the MLP.
 * Also printed: code size and static RAM of model_run (`size`: text, and
 * data + bss), and the CPU's flags. Before timing, the C outputs are checked
 * bit for bit against the emulator on 64 samples.
 *
 * Knobs: FIXQ_BENCH_REPS (rounds, default 5), FIXQ_BENCH_MODELS (comma list), CC (default gcc).
 * Skipped with a notice when the C compiler or make is absent.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { emitC } from "../src/backends/c/emit.js";
import { Emulator, runProgram } from "../src/backends/emulator/run.js";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { type Program, sampleSize } from "../src/integer/program.js";
import { readNpy } from "../src/io/npy.js";
import { encodeModel } from "../src/ir/onnx/save.js";
import { DataType } from "../src/ir/dtype.js";
import { graph, model, node, value } from "../test/ir/builders.js";
import { bundledProgram } from "./bundled-program.js";
import { printBenchHeader } from "./cpu-header.js";

const BATCH = 64;
const CC = process.env["CC"] ?? "gcc";
const x = readNpy(join(MODELS_DIR, "data/eval.npy")).data as Float32Array;

/**
 * The timing driver: `timer x.bin MS batch|one` runs NAME_run_batch over the ${BATCH} samples of x.bin
 * (batch), or NAME_run once per sample (one), cycling, for ≥ MS ms; prints samples/s.
 */
const DRIVER = `#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  static float x[${BATCH}][FIXQ_IN0_SIZE], y[${BATCH}][FIXQ_OUT0_SIZE];
  FILE *f = fopen(argv[1], "rb");
  double ms = atof(argv[2]), t0, t;
  int batch = argc > 3 && strcmp(argv[3], "batch") == 0;
  long n = 0;
  if (!f || fread(x, sizeof x, 1, f) != 1) return 1;
  fclose(f);
  if (fixq_run_batch(&x[0][0], &y[0][0], ${BATCH}) != FIXQ_OK) return 1; /* warm up */
  t0 = now();
  do {
    if (batch) {
      if (fixq_run_batch(&x[0][0], &y[0][0], ${BATCH}) != FIXQ_OK) return 1;
    } else {
      for (int i = 0; i < ${BATCH}; i++) if (fixq_run(x[i], y[i]) != FIXQ_OK) return 1;
    }
    n += ${BATCH};
    t = now();
  } while ((t - t0) * 1000 < ms);
  printf("%.1f\\n", n / (t - t0));
  return 0;
}
`;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function rate(run: () => unknown, ms = 300): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await run();
    n++;
  }
  return (n * BATCH) / ((performance.now() - t0) / 1000);
}

/** An Identity model on [BATCH, n] floats: a call through the binding and an output copy of n floats per sample, no compute. */
function identityModel(n: number) {
  return model(graph([node("Identity", ["x"], ["y"])], [value("x", DataType.FLOAT, [BATCH, n])], [value("y", DataType.FLOAT, [BATCH, n])]), 17);
}

function session(bytes: Uint8Array) {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all", logSeverityLevel: 3 });
}

/** Builds the generated C with `cflags` into dir/name (model_run and the timing driver). */
function build(p: Program, dir: string, cflags: string): { timer: string; run: string } {
  mkdirSync(dir, { recursive: true });
  for (const [rel, text] of emitC(p, { modelName: "bench" })) writeFileSync(join(dir, rel), text);
  writeFileSync(join(dir, "timer.c"), DRIVER);
  execFileSync("make", ["-s", "-C", dir, `CC=${CC}`, `CFLAGS=${cflags}`], { stdio: "inherit" });
  const timer = join(dir, "timer");
  execFileSync(CC, ["-std=c99", "-ffp-contract=off", "-fno-trapping-math", ...cflags.split(" "), "-o", timer, join(dir, "timer.c"), join(dir, "model.c"), "-lm"], { stdio: "inherit" });
  return { timer, run: join(dir, "model_run") };
}

/** text and data + bss bytes of an executable (`size`, Berkeley format). */
function sizes(exe: string): { text: number; ram: number } | undefined {
  const r = spawnSync("size", [exe], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  const [text, data, bss] = r.stdout.trim().split("\n")[1]!.trim().split(/\s+/).map(Number);
  return { text: text!, ram: data! + bss! };
}

/** model_run's float outputs on the first `n` samples equal the emulator's, bit for bit (or the bench stops). */
function checkBits(p: Program, exe: string, dir: string, n: number, env?: NodeJS.ProcessEnv): void {
  const size = sampleSize(p.inputs[0]!.shape);
  const xs = x.subarray(0, n * size);
  writeFileSync(join(dir, "check.bin"), Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength));
  execFileSync(exe, [join(dir, "check.bin"), join(dir, "check.out")], { env });
  const got = readFileSync(join(dir, "check.out"));
  const want = runProgram(p, new Map([[p.inputs[0]!.name, xs]]), n).outputs.get(p.outputs[0]!.name)!;
  if (!got.equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))) throw new Error(`${exe}: outputs differ from the emulator's`);
}

async function main(): Promise<void> {
  for (const tool of [CC, "make"]) {
    if (spawnSync(tool, ["--version"], { stdio: "ignore" }).status !== 0) {
      console.log(`bench:c skipped: ${tool} not found`);
      return;
    }
  }
  ort.env.logLevel = "error";
  const reps = Number(process.env["FIXQ_BENCH_REPS"] ?? 5);
  const only = process.env["FIXQ_BENCH_MODELS"]?.split(",").filter(Boolean);
  const dir = mkdtempSync(join(tmpdir(), "fixq-c-bench-"));
  const rows: Record<string, unknown>[] = [];
  printBenchHeader("c");
  console.log(`${CC} ${execFileSync(CC, ["-dumpversion"], { encoding: "utf8" }).trim()}; ${reps} rounds; one thread; batch ${BATCH} (C: NAME_run_batch), and batch 1 (nat1: NAME_run per sample, -march=native; int8b1: ORT at batch 1); ratios are of medians`);
  console.log("c: gcc -O3 (dispatched: the -O3 build's path is printed per model); base: the same binary with FIXQ_CPU=portable; native: -O3 -march=native");
  console.log("own: ORT int8 less the time of a call through onnxruntime-node (an Identity model with the same output size), as the C driver times compute only");
  console.log(
    `${"model".padEnd(14)} ${"c/s".padStart(8)} ${"base/s".padStart(8)} ${"native/s".padStart(8)} ${"int8/s".padStart(8)} ${"own/s".padStart(8)} ${"f32/s".padStart(8)} ${"emu/s".padStart(8)} ${"nat1/s".padStart(8)} ${"int8b1/s".padStart(8)}  ${"c÷int8".padStart(6)} ${"c÷own".padStart(6)} ${"base÷int8".padStart(9)} ${"nat÷int8".padStart(8)} ${"b1÷b1".padStart(6)} ${"c÷f32".padStart(6)} ${"c÷emu".padStart(6)}  text/ram KB  -O3 path`,
  );
  try {
    for (const m of bundledModels()) {
      if (only && !only.includes(m.key)) continue;
      const built = await bundledProgram(m);
      if ("refused" in built) {
        console.log(`${m.key.padEnd(14)} refused: ${built.refused}`);
        rows.push({ model: m.key, refused: built.refused });
        continue;
      }
      const { float, q, p } = built;
      const size = sampleSize(p.inputs[0]!.shape);
      const xs = x.subarray(0, BATCH * size);
      let plain: ReturnType<typeof build>;
      try {
        plain = build(p, join(dir, m.key, "o3"), "-O3");
      } catch (e) {
        const refused = String((e as Error).message).split("\n")[0]!;
        console.log(`${m.key.padEnd(14)} refused: ${refused}`);
        rows.push({ model: m.key, refused });
        continue;
      }
      const native = build(p, join(dir, m.key, "native"), "-O3 -march=native");
      const portable = { ...process.env, FIXQ_CPU: "portable" };
      checkBits(p, plain.run, join(dir, m.key), BATCH);
      checkBits(p, plain.run, join(dir, m.key), BATCH, portable);
      const path = execFileSync(plain.run, ["--cpu"], { encoding: "utf8" }).trim();
      checkBits(p, native.run, join(dir, m.key), BATCH);
      const xBin = join(dir, m.key, "x.bin");
      writeFileSync(xBin, Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength));
      const timeC = (exe: string, mode: "batch" | "one", env?: NodeJS.ProcessEnv) => Number(execFileSync(exe, [xBin, "300", mode], { encoding: "utf8", env }).trim());
      const sInt8 = await session(encodeModel(q));
      const sF32 = await session(encodeModel(float));
      const outSize = sampleSize(p.outputs[0]!.shape);
      const sCall = await session(encodeModel(identityModel(outSize)));
      const callIn = new ort.Tensor("float32", new Float32Array(BATCH * outSize), [BATCH, outSize]);
      const dims = [BATCH, ...p.inputs[0]!.shape];
      const tensor = new ort.Tensor("float32", xs, dims);
      const emu = Emulator.compile(p, BATCH);
      const feeds = new Map([[p.inputs[0]!.name, xs]]);
      for (let i = 0; i < 3; i++) {
        emu.run(feeds);
        await sInt8.run({ [sInt8.inputNames[0]!]: tensor });
        await sF32.run({ [sF32.inputNames[0]!]: tensor });
        await sCall.run({ x: callIn });
      }
      const one = new ort.Tensor("float32", xs.subarray(0, size), [1, ...p.inputs[0]!.shape]);
      const r = { c: [] as number[], base: [] as number[], native: [] as number[], native1: [] as number[], int8: [] as number[], int8own: [] as number[], int8b1: [] as number[], f32: [] as number[], emu: [] as number[] };
      for (let k = 0; k < reps; k++) {
        r.c.push(timeC(plain.timer, "batch"));
        r.base.push(timeC(plain.timer, "batch", portable));
        r.native.push(timeC(native.timer, "batch"));
        r.native1.push(timeC(native.timer, "one"));
        const int8 = await rate(() => sInt8.run({ [sInt8.inputNames[0]!]: tensor }));
        const call = await rate(() => sCall.run({ x: callIn }));
        r.int8.push(int8);
        r.int8own.push(BATCH / (BATCH / int8 - BATCH / call));
        r.int8b1.push((await rate(() => sInt8.run({ [sInt8.inputNames[0]!]: one }))) / BATCH);
        r.f32.push(await rate(() => sF32.run({ [sF32.inputNames[0]!]: tensor })));
        r.emu.push(await rate(() => emu.run(feeds)));
      }
      await sInt8.release();
      await sF32.release();
      await sCall.release();
      const med = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)])) as Record<keyof typeof r, number>;
      const sz = sizes(plain.run);
      const row = { model: m.key, cpuPath: path, baseOverInt8: med.base / med.int8, ...Object.fromEntries(Object.entries(med).map(([k, v]) => [`${k}PerS`, v])), cOverInt8: med.c / med.int8, cOverInt8Own: med.c / med.int8own, native1OverInt8B1: med.native1 / med.int8b1, nativeOverInt8: med.native / med.int8, cOverF32: med.c / med.f32, cOverEmu: med.c / med.emu, textBytes: sz?.text, staticRamBytes: sz?.ram };
      rows.push(row);
      const f = (v: number) => v.toFixed(0).padStart(8);
      const ratio = (v: number, w = 6) => v.toFixed(2).padStart(w);
      console.log(
        `${m.key.padEnd(14)} ${f(med.c)} ${f(med.base)} ${f(med.native)} ${f(med.int8)} ${f(med.int8own)} ${f(med.f32)} ${f(med.emu)} ${f(med.native1)} ${f(med.int8b1)}  ${ratio(row.cOverInt8)} ${ratio(row.cOverInt8Own)} ${ratio(row.baseOverInt8, 9)} ${ratio(row.nativeOverInt8, 8)} ${ratio(row.native1OverInt8B1)} ${ratio(row.cOverF32)} ${ratio(row.cOverEmu)}  ${(sz ? `${(sz.text / 1024).toFixed(0)}/${(sz.ram / 1024).toFixed(0)}` : "-").padStart(11)}  ${path}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`BENCH_C ${JSON.stringify(rows)}`);
}

await main();
