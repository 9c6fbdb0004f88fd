/**
 * Every bundled CNN/MLP model, quantized with the default recipe and
 * integerized: the generated C, built by its own Makefile (plain, no -march:
 * the run-time CPU dispatch, cpu-dispatch.ts), equals the emulator bit for bit
 * (dequantized floats and raw integers) on both CPU paths of that one build
 * (its default, AVX2 where the CPU has it, and FIXQ_CPU=portable, the
 * baseline bodies; `model_run --cpu` names each), on eval images, on random
 * floats around the input quantizer (ties, ±Inf, NaN), on float edge values
 * (exact halves, huge, ±∞, NaN, −0, denormals) and on extreme integer inputs
 * (all qmin, all qmax, a checkerboard, uniform). mlp, cnn and resnet build
 * with the Makefile's default gcc -O3 (-std=c99 -Wall -Wextra -Werror;
 * optimisation can expose undefined behaviour), mobilenetv2 with -O1 (-O3
 * there costs 13 s of gcc; recipes.test.ts builds it at -O3). One model also
 * runs under -fsanitize=address,undefined, and two models with different
 * prefixes (mlp and cnn, whose projects above use those prefixes) link into
 * one program. Each project is built once. Skips without gcc/make (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../../src/backends/emulator/run.js";
import type { IntegerizeOptions } from "../../../src/integer/integerize.js";
import { type Program, sampleSize } from "../../../src/integer/program.js";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { evalX } from "../../helpers/bundled-data.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { mismatches } from "../js/compare.js";
import { edgeFeeds, feeds, quantizeProgram } from "./feeds-c.js";
import { tallyC, tallyEach } from "./check-c.js";
import { type Built, buildC, cpuPathName, cpuPaths, runC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
/** The paths a plain build takes: dispatched on x86-64 (gcc ≥ 5), one compiled baseline pass elsewhere. */
const PATHS = process.arch === "x64" ? [detectCpu().features.includes("avx2") ? "avx2 (dispatched)" : "baseline (dispatched)", "baseline (dispatched)"] : ["baseline (compiled)", "baseline (compiled)"];
const tmp = tempDir("fixq-c-models-");
afterAll(tmp.remove);

const programs = new Map<string, Promise<Program>>();
/** The model's default-recipe program, quantized once per file. */
function program(name: string, opts: IntegerizeOptions = {}): Promise<Program> {
  const key = `${name} ${JSON.stringify(opts)}`;
  if (!programs.has(key)) programs.set(key, quantizeProgram(name, {}, opts));
  return programs.get(key)!;
}


const dir = (name: string) => {
  const d = join(tmp.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
};

/** Each model's default-recipe project (mlp and cnn with their name as --prefix), built once and shared by the cases. */
const projects = new Map<string, Promise<Built>>();
function project(name: string): Promise<Built> {
  if (!projects.has(name)) {
    const prefix = name === "mlp" || name === "cnn" ? name : undefined;
    projects.set(name, program(name).then((p) => buildC(p, dir(name), { prefix, cflags: name === "mobilenetv2" ? "-O1" : undefined })));
  }
  return projects.get(name)!;
}

describe.skipIf(!HAVE)("generated C equals the emulator on the bundled models, both CPU paths of one plain build (gcc -O3; mobilenetv2 -O1)", () => {
  it.each(["mlp", "cnn", "resnet", "mobilenetv2"])("%s (default recipe): 300 eval images, random, edge and extreme inputs", async (name) => {
    const built = await project(name);
    const p = built.program;
    expect(p.inputs).toHaveLength(1);
    const paths = cpuPaths(built);
    expect(paths.map(cpuPathName)).toEqual(PATHS);
    const tallies = tallyEach(paths, [...feeds(p, 300, 1), edgeFeeds(p)]);
    expect(tallies.map((t) => ({ model: name, floatMismatches: t.floats, intMismatches: t.ints }))).toEqual(PATHS.map(() => ({ model: name, floatMismatches: 0, intMismatches: 0 })));
    for (const t of tallies) expect(t.compared).toBe((300 + 64 + 4 * 16 + 8) * 10);
  }, 240_000); // gcc -O3 on a bundled model's C: up to ~40 s on a loaded 2-core machine

  it("cnn with double rounding and 16-bit multipliers, under -fsanitize=address,undefined", async () => {
    const p = await program("cnn", { rounding: "double", multiplierBits: 16 });
    // -O0: the checks are inserted before optimisation, and the dispatched build compiles its code twice (cpu-dispatch.ts,
    // whose test runs both paths of cnn's default recipe under the sanitizers)
    const t = tallyC(p, dir("cnn-double"), feeds(p, 40, 2), "-O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all");
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
  }, 240_000);

  it("two models with different prefixes link into one program and give each one's outputs", async () => {
    const [a, b] = [await project("mlp"), await project("cnn")];
    const [mlp, cnn] = [a.program, b.program];
    const size = sampleSize(mlp.inputs[0]!.shape);
    expect(sampleSize(cnn.inputs[0]!.shape)).toBe(size);
    const n = 20;
    const main = `#include <stdio.h>
#include "mlp/model.h"
#include "cnn/model.h"
int main(void) {
  static float x[MLP_IN0_SIZE], y[MLP_OUT0_SIZE + CNN_OUT0_SIZE];
  for (int s = 0; s < ${n}; s++) {
    if (fread(x, sizeof x, 1, stdin) != 1) return 1;
    if (mlp_run(x, y) != MLP_OK || cnn_run(x, y + MLP_OUT0_SIZE) != CNN_OK) return 1;
    fwrite(y, sizeof y, 1, stdout);
  }
  return 0;
}
`;
    const linkDir = dir("link");
    writeFileSync(join(linkDir, "main.c"), main);
    const exe = join(linkDir, "both");
    // -O0: the link is what this checks (each model's -O3 build is checked above); -I: the projects' folders
    run("gcc", ["-std=c99", "-O0", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", `-I${tmp.dir}`, "-o", exe, join(linkDir, "main.c"), join(a.dir, "model.c"), join(b.dir, "model.c"), "-lm"]);
    const x = evalX.data.subarray(0, n * size);
    const out = execFileSync(exe, { input: Buffer.from(x.buffer, x.byteOffset, x.byteLength) });
    const got = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
    const f = { data: { [mlp.inputs[0]!.name]: x }, batch: n };
    const ya = runProgram(mlp, new Map([[mlp.inputs[0]!.name, x]]), n).outputs.get(mlp.outputs[0]!.name)!;
    const yb = runProgram(cnn, new Map([[cnn.inputs[0]!.name, x]]), n).outputs.get(cnn.outputs[0]!.name)!;
    const per = ya.length / n + yb.length / n;
    const want = new Float32Array(n * per);
    for (let s = 0; s < n; s++) {
      want.set(ya.subarray((s * ya.length) / n, ((s + 1) * ya.length) / n), s * per);
      want.set(yb.subarray((s * yb.length) / n, ((s + 1) * yb.length) / n), s * per + ya.length / n);
    }
    expect(mismatches(got, want)).toBe(0);
    // each library alone, through its own harness, agrees too
    expect(mismatches((runC(a, f, "alone").outputs as Map<string, Float32Array>).get(mlp.outputs[0]!.name)!, ya)).toBe(0);
  }, 240_000);
});
