/**
 * The fixtures of test/fixtures/causal (scripts/make_causal_fixtures.py):
 * a tiny GPT-2-style decoder with the causal mask and a tiny ViT with the cls
 * token, generated inputs, each quantized with the default recipe on 32
 * generated samples, and its integer program (GPT-2 with the sequence pinned
 * to 8, as `--input-shape input_ids=1x8`).
 */
import { join } from "node:path";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { pinSampleShapes } from "../../src/ir/pin-shapes.js";
import type { DataSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { sliceAxis } from "../../src/quant/signature.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";
import { Rng } from "./prng.js";

const DIR = join(import.meta.dirname, "..", "fixtures", "causal");
/** GPT-2: vocabulary, sequence length. ViT: values per image [3, 8, 8], tokens (cls + 4 patches), width. */
export const GPT2 = { vocab: 40, seq: 8 } as const;
export const VIT = { size: 3 * 8 * 8, tokens: 5, width: 16 } as const;

/** n samples of GPT2.seq token ids (as floats, the program's input layout). */
export function gpt2Tokens(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * GPT2.seq }, () => Math.floor(rng.float() * GPT2.vocab));
}

/** n images, uniform in [−1, 1). */
export function vitImages(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * VIT.size }, () => 2 * rng.float() - 1);
}

export const gpt2Feeds = (ids: Float32Array, n: number): Record<string, HostTensor> => ({
  input_ids: { dtype: DataType.INT64, dims: [n, GPT2.seq], data: BigInt64Array.from(ids, (v) => BigInt(v)) },
});
export const vitFeeds = (x: Float32Array, n: number): Record<string, HostTensor> => ({ pixel_values: { dtype: DataType.FLOAT, dims: [n, 3, 8, 8], data: x } });

async function quantized(file: string, name: string, t: HostTensor): Promise<{ float: Model; qdq: Model }> {
  const float = loadModel(join(DIR, file));
  const n = t.dims[0]!;
  const source: DataSource = { count: n, sampleAxes: new Map([[name, 0]]), batch: (start, count) => ({ [name]: sliceAxis(t, 0, start, count) }), close() {} };
  const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
  return { float, qdq: model };
}

/** The GPT-2 fixture, quantized, and its program for sequences of GPT2.seq. */
export async function gpt2Program(): Promise<{ float: Model; qdq: Model; program: Program }> {
  const m = await quantized("gpt2-tiny.onnx", "input_ids", gpt2Feeds(gpt2Tokens(32, 1), 32).input_ids!);
  return { ...m, program: integerizeModel(pinSampleShapes(m.qdq, new Map([["input_ids", [1, GPT2.seq]]]))) };
}

/** The ViT fixture quantized; `edit` may change the QDQ model (an extra output) before it is integerized. */
export async function vitProgram(edit: (m: Model) => Model = (m) => m): Promise<{ float: Model; qdq: Model; program: Program }> {
  const m = await quantized("vit-tiny.onnx", "pixel_values", vitFeeds(vitImages(32, 1), 32).pixel_values!);
  const qdq = edit(m.qdq);
  return { float: m.float, qdq, program: integerizeModel(qdq) };
}
