/**
 * The feed sets the C bit-exactness suites run: eval images, random floats
 * around the input quantizer (ties, ±Inf, NaN), and the extreme integer
 * patterns (all qmin, all qmax, a checkerboard of both, uniform), 16 samples each;
 * and a bundled model quantized with a recipe and lowered to integers.
 */
import { join } from "node:path";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { type IntegerizeOptions, integerizeModel } from "../../../src/integer/integerize.js";
import type { Program, QuantizeOp } from "../../../src/integer/program.js";
import { sampleSize } from "../../../src/integer/program.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { npyFileSource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../../src/quant/recipe.js";
import { evalX } from "../../helpers/bundled-data.js";
import { Rng } from "../../helpers/prng.js";
import type { Feeds } from "../js/check.js";
import { floatInputs, intInputs } from "../js/compare.js";

/** Eval images, random floats around the quantizer, and the extreme integer patterns. */
export function feeds(p: Program, evalCount: number, seed: number, randomCount = 64, extremeCount = 16): Feeds[] {
  const input = p.inputs[0]!;
  const q = p.ops.find((op): op is QuantizeOp => op.kind === "quantize" && op.input === input.name)!;
  const size = sampleSize(input.shape);
  const rng = new Rng(seed);
  const n = extremeCount;
  const ints = [
    new Int32Array(n * size).fill(q.qmin),
    new Int32Array(n * size).fill(q.qmax),
    Int32Array.from({ length: n * size }, (_, i) => ((i + Math.floor(i / size)) % 2 === 0 ? q.qmin : q.qmax)),
    intInputs(rng, n * size, q.qmin, q.qmax),
  ];
  return [
    { data: { [input.name]: evalX.data.subarray(0, evalCount * size) }, batch: evalCount },
    { data: { [input.name]: floatInputs(rng, randomCount * size, q.scale, q.zeroPoint, q.qmin, q.qmax) }, batch: randomCount },
    ...ints.map((x) => ({ data: { [input.name]: x }, batch: n, quantized: true })),
  ];
}

/**
 * `n` float samples of edge values around the input quantizer (scale s):
 * 0, −0, exact halves (±0.5s … 255.5s), huge, ±∞, NaN, the smallest
 * denormal and normal, each sample a different rotation of the list.
 */
export function edgeFeeds(p: Program, n = 8): Feeds {
  const input = p.inputs[0]!;
  const q = p.ops.find((op): op is QuantizeOp => op.kind === "quantize" && op.input === input.name)!;
  const size = sampleSize(input.shape);
  const s = q.scale;
  const edges = [0, -0, 0.5 * s, -0.5 * s, 1.5 * s, 2.5 * s, 127.5 * s, 128.5 * s, 254.5 * s, 255.5 * s, 1e30, -1e30, 3.4e38, Infinity, -Infinity, Number.NaN, 2 ** -149, -(2 ** -149), 2 ** -126, 1e-40];
  const x = Float32Array.from({ length: n * size }, (_, i) => edges[(i * 7 + Math.floor(i / size)) % edges.length]!);
  return { data: { [input.name]: x }, batch: n };
}

/** A bundled model quantized with `recipe` (the first calibCount calibration images, one thread) and integerized with `opts`. */
export async function quantizeProgram(name: string, recipe: RecipeInput, opts: IntegerizeOptions, calibCount = 256): Promise<Program> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), calibCount);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe(recipe), { threads: 1 });
    return integerizeModel(model, opts);
  } finally {
    source.close();
  }
}
