/**
 * The evaluation sets the accuracy benches share: the committed 2,000-image
 * eval set, and the full 10k Fashion-MNIST test set when Debian's package is
 * installed; and one way to score a model on them, with its paired drop
 * against the float row.
 */
import { join } from "node:path";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { MODELS_DIR } from "../src/data/manifest.js";
import { evaluateClassifier } from "../src/eval/classify.js";
import type { Model } from "../src/ir/graph.js";
import { readNpy } from "../src/io/npy.js";
import { pairedDrop } from "./paired.js";

const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
const small = { dtype: 1, dims: x.shape, data: x.data as Float32Array };
export const full = findFashionMnistDir() ? loadFashionMnistTest() : undefined;
const big = full && { dtype: 1, dims: full.shape, data: full.images };

/** Accuracy figures of one bench row; drop and its standard error in points. */
export interface AccuracyFigures {
  eval2000?: number;
  test10k?: number;
  drop10k?: number;
  se10k?: number;
  /** 10k predictions, for paired comparisons. */
  preds?: Int32Array;
}

/** Scores `model` on both sets into `row`; the drop is paired against `floatRow`'s 10k predictions. */
export async function evaluateRow(row: AccuracyFigures, model: Model, floatRow?: AccuracyFigures): Promise<void> {
  row.eval2000 = (await evaluateClassifier(model, small, y.data as BigInt64Array)).top1;
  if (!big || !full) return;
  const r = await evaluateClassifier(model, big, full.labels);
  row.test10k = r.top1;
  row.preds = r.predictions;
  if (floatRow?.preds) {
    const d = pairedDrop(floatRow.preds, r.predictions, full.labels);
    row.drop10k = d.drop * 100;
    row.se10k = d.se * 100;
  }
}
