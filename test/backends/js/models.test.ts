/**
 * Every bundled CNN/MLP model, quantized with the default recipe and
 * integerized: the generated JS equals the emulator bit for bit (integers
 * and dequantized floats) on the 2,000 eval images, on random floats around
 * the input quantizer's range (ties, ±Inf, NaN), and on extreme integer
 * inputs (all qmin, all qmax, a checkerboard of both, uniform). One model
 * also runs with gemmlowp double rounding and 16-bit multipliers.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram, runProgramInt } from "../../../src/backends/emulator/run.js";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { type IntegerizeOptions, integerizeModel } from "../../../src/integer/integerize.js";
import { type Program, type QuantizeOp, sampleSize } from "../../../src/integer/program.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { npyFileSource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { evalX } from "../../helpers/bundled-data.js";
import { Rng } from "../../helpers/prng.js";
import { floatInputs, intInputs, mismatches, resultMismatches } from "./compare.js";
import { cleanupModules, importProgram } from "./load-module.js";

afterAll(cleanupModules);

async function program(name: string, opts: IntegerizeOptions = {}): Promise<Program> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 256);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
    return integerizeModel(model, opts);
  } finally {
    source.close();
  }
}

/** The extreme integer patterns over `n` samples of `size`: all qmin, all qmax, a qmin/qmax checkerboard, uniform. */
function extremeInts(q: QuantizeOp, n: number, size: number, rng: Rng): Int32Array[] {
  const len = n * size;
  return [
    new Int32Array(len).fill(q.qmin),
    new Int32Array(len).fill(q.qmax),
    Int32Array.from({ length: len }, (_, i) => ((i + Math.floor(i / size)) % 2 === 0 ? q.qmin : q.qmax)),
    intInputs(rng, len, q.qmin, q.qmax),
  ];
}

/** JS vs emulator on eval images, random floats and extreme integers; returns the outputs compared and the mismatches. */
async function compare(p: Program, evalCount: number, seed: number) {
  const { mod } = await importProgram(p);
  expect(p.inputs).toHaveLength(1);
  const input = p.inputs[0]!;
  const q = p.ops.find((op): op is QuantizeOp => op.kind === "quantize" && op.input === input.name)!;
  const size = sampleSize(input.shape);
  expect(evalX.dims.slice(1)).toEqual([...input.shape]);
  const names = p.outputs.map((o) => o.name);
  const rng = new Rng(seed);
  const totals = { floats: 0, ints: 0, compared: 0 };
  const add = (r: ReturnType<typeof resultMismatches>) => {
    totals.floats += r.floats;
    totals.ints += r.ints;
    totals.compared += r.compared;
  };
  const floatSets = [evalX.data.subarray(0, evalCount * size), floatInputs(rng, 64 * size, q.scale, q.zeroPoint, q.qmin, q.qmax)];
  for (const x of floatSets) {
    const batch = x.length / size;
    add(resultMismatches(mod.runAll({ [input.name]: x }, batch), runProgram(p, new Map([[input.name, x]]), batch), names));
  }
  // the one-input shorthands give the first output of runAll
  const few = evalX.data.subarray(0, 50 * size);
  const all = mod.runAll({ [input.name]: few }, 50);
  expect(mismatches(mod.run(few, 50), all.outputs[names[0]!]!)).toBe(0);
  expect(mismatches(mod.runInt(few, 50), all.ints[names[0]!]!)).toBe(0);
  for (const x of extremeInts(q, 16, size, rng)) {
    const batch = x.length / size;
    add(resultMismatches(mod.runAllInt({ [input.name]: x }, batch), runProgramInt(p, new Map([[input.name, x]]), batch), names));
  }
  return totals;
}

describe("generated JS equals the emulator on the bundled models", () => {
  it.each(["mlp", "cnn", "resnet", "mobilenetv2"])("%s (default recipe): 2,000 eval images, random and extreme inputs", async (name) => {
    const p = await program(name);
    const r = await compare(p, 2000, 1);
    expect({ model: name, floatMismatches: r.floats, intMismatches: r.ints }).toEqual({ model: name, floatMismatches: 0, intMismatches: 0 });
    expect(r.compared).toBe((2000 + 64 + 4 * 16) * 10);
  });

  it("resnet with double rounding and 16-bit multipliers: 500 eval images, random and extreme inputs", async () => {
    const p = await program("resnet", { rounding: "double", multiplierBits: 16 });
    expect(p.rounding).toBe("double");
    const r = await compare(p, 500, 2);
    expect({ floatMismatches: r.floats, intMismatches: r.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
  });
});
