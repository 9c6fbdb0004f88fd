/**
 * The BERT-style fixture (test/fixtures/corpus/bert-tiny.onnx) for the
 * integer-only suites: generated sentences (random ids, padded with mask 0),
 * the fixture quantized with the default recipe on 64 of them, and its
 * integer program with the sequence length pinned to 16.
 */
import { join } from "node:path";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { pinSampleShapes } from "../../src/ir/pin-shapes.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { Rng } from "./prng.js";

export const BERT_L = 16;
export const BERT_VOCAB = 3000;
export const BERT_PATH = join(import.meta.dirname, "..", "fixtures", "corpus", "bert-tiny.onnx");

/** n sentences of random ids, each 4…16 tokens long and padded (mask 0) to 16. */
export function sentences(n: number, seed: number): { ids: Float32Array; mask: Float32Array } {
  const rng = new Rng(seed);
  const ids = new Float32Array(n * BERT_L);
  const mask = new Float32Array(n * BERT_L);
  for (let s = 0; s < n; s++) {
    const len = 4 + rng.int(BERT_L - 3);
    for (let t = 0; t < BERT_L; t++) {
      ids[s * BERT_L + t] = rng.int(BERT_VOCAB);
      mask[s * BERT_L + t] = t < len ? 1 : 0;
    }
  }
  return { ids, mask };
}

/** An [n, 16] int64 tensor of the values. */
export const int64 = (a: Float32Array, n: number) => ({ dtype: DataType.INT64, dims: [n, BERT_L], data: BigInt64Array.from(a, (v) => BigInt(v)) });

/** The fixture quantized (default recipe, 64 sentences) and its integer program (sequence pinned to 16). */
export async function bertProgram(): Promise<{ qdq: Model; program: Program }> {
  const cal = sentences(64, 1);
  const { model } = await quantizeModel(loadModel(BERT_PATH), arraySource({ input_ids: int64(cal.ids, 64), attention_mask: int64(cal.mask, 64) }), buildRecipe({}), { threads: 1 });
  return { qdq: model, program: integerizeModel(pinSampleShapes(model, new Map([["input_ids", [1, BERT_L]]]))) };
}
