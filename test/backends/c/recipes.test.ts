/**
 * The generated C beyond the default recipe equals the emulator bit for bit
 * (integers and dequantized floats): int4 weights, 16-bit activations (uint16;
 * int16 with 15-bit multipliers), per-tensor weights with gemmlowp double
 * rounding, and ONNX Runtime's own quantize_static QDQ models (test/fixtures/onnx),
 * on 32 eval images, 32 random floats around the input quantizer and 16 each
 * of the extreme integer patterns, through model_run (NAME_run_batch…) built
 * with -march=native where this CPU runs AVX2 (the intrinsic kernels), at
 * gcc -O1, and -O3 for mobilenetv2 with int16 activations (one optimised
 * build: optimisation can expose undefined behaviour; models.test.ts builds
 * mlp, cnn and resnet at -O3). The test reports the mismatch count, which
 * must be 0. Skips without gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type IntegerizeOptions, integerizeModel } from "../../../src/integer/integerize.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import type { RecipeInput } from "../../../src/quant/recipe.js";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { tallyC } from "./check-c.js";
import { feeds, quantizeProgram } from "./feeds-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-recipes-");
afterAll(tmp.remove);
/** -O1 or -O3, with -march=native where this CPU runs AVX2. */
const cflags = (opt: string) => (detectCpu().features.includes("avx2") ? `${opt} -march=native` : opt);
let dirs = 0;
const dir = () => {
  const d = join(tmp.dir, `r${dirs++}`);
  mkdirSync(d);
  return d;
};

const CASES: [string, RecipeInput, IntegerizeOptions][] = [
  ["cnn", { weights: "int4" }, {}],
  ["cnn", { acts: "uint16" }, {}],
  ["mobilenetv2", { acts: "int16", weightBits: 8 }, { multiplierBits: 15 }],
  ["resnet", { weights: "int8", weightBits: 8, granularity: "per-tensor" }, { rounding: "double" }],
];

describe.skipIf(!HAVE)("generated C equals the emulator beyond the default recipe", () => {
  it.each(CASES)("%s %j %j", async (key, recipe, opts) => {
    const p = await quantizeProgram(key, recipe, opts, 64);
    const t = tallyC(p, dir(), feeds(p, 32, 5, 32), cflags(key === "mobilenetv2" ? "-O3" : "-O1"));
    expect({ model: key, floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ model: key, floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((32 + 32 + 4 * 16) * 10);
  }, 240_000); // quantize + gcc -O3 on a loaded 2-core machine

  it.each(["cnn.ort-qdq-per-channel-u8.onnx", "resnet.ort-qdq-defaults.onnx"])("ONNX Runtime's quantize_static model %s", (file) => {
    const p = integerizeModel(loadModel(join("test/fixtures/onnx", file)));
    const t = tallyC(p, dir(), feeds(p, 32, 6, 32), cflags("-O1"));
    expect({ model: file, floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ model: file, floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((32 + 32 + 4 * 16) * 10);
  }, 240_000);
});
