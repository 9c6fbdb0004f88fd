/**
 * Shared by the fixed-point end-to-end suites (lower-fixed, wide-accumulators):
 * a bundled model quantized with a recipe and read back from its bytes, the
 * feeds every back end is compared on (eval images, random floats around the
 * input quantizer, extreme integer inputs), and the integer-only ONNX's
 * mismatches against the emulator.
 */
import { join } from "node:path";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { type Program, sampleSize } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { decodeModel, loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { feeds as extremeFeeds } from "../backends/c/feeds-c.js";
import type { Feeds } from "../backends/js/check.js";
import { mismatches } from "../backends/js/compare.js";

/** Quantizes a bundled model with `recipe`, writes the file to bytes and reads it back (the annotations' round trip). */
export async function quantizedFile(name: string, recipe: RecipeInput): Promise<Model> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 32);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe(recipe), { threads: 1 });
    return decodeModel(encodeModel(model));
  } finally {
    source.close();
  }
}

/** Eval images, 8 random floats around the input quantizer and 4 of each extreme integer pattern (seed 16). */
export function feeds(p: Program, evalCount: number): Feeds[] {
  return extremeFeeds(p, evalCount, 16, 8, 4);
}

/** Raw integer and float mismatches of the integer-only ONNX (ORT) against the emulator, float feeds only. */
export async function onnxIntMismatches(p: Program, sets: readonly Feeds[]): Promise<{ ints: number; floats: number; compared: number }> {
  const runner = await integerOnnxRunner(p, { threads: 1 });
  const t = { ints: 0, floats: 0, compared: 0 };
  try {
    // the eval images, and inputs that saturate the input quantizer both ways (ORT's QuantizeLinear and the
    // emulator's differ on NaN, which the random float set holds, so that set is left to the other back ends)
    const input = p.inputs[0]!;
    const size = sampleSize(input.shape);
    const big = (v: number): Feeds => ({ data: { [input.name]: new Float32Array(8 * size).fill(v) }, batch: 8 });
    for (const f of [sets[0]!, big(1e4), big(-1e4)]) {
      const feedsMap = new Map(Object.entries(f.data as Record<string, Float32Array>));
      const ort = await runner.run(feedsMap, f.batch);
      const emu = runProgram(p, feedsMap, f.batch);
      for (const o of p.outputs) {
        t.ints += mismatches(ort.ints.get(o.name)!, emu.ints.get(o.name)!);
        t.floats += mismatches(ort.outputs.get(o.name)!, emu.outputs.get(o.name)!);
        t.compared += emu.ints.get(o.name)!.length;
      }
    }
  } finally {
    await runner.release();
  }
  return t;
}
