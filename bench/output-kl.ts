/**
 * A classifier's logits on a whole test set (ONNX Runtime, batch by batch),
 * and the mean KL divergence of its softmax from a reference's:
 *
 *   KL(p‖q) = (1/n) Σ_i Σ_c p_ic · (log p_ic − log q_ic),  p = softmax(reference), q = softmax(candidate)
 *
 * in nats, computed in float64 with log-sum-exp. It resolves differences
 * between quantized models that top-1 cannot (a few images flip either way).
 * Also each image's cross-entropy of its label, and paired per-image
 * statistics (the noise analysis of the search's scoring set).
 */
import type { Model } from "../src/ir/graph.js";
import { argmaxRows } from "../src/eval/classify.js";
import { klSoftmaxSum } from "../src/quant/mixed/output-change.js";
import { crossEntropySum } from "../src/quant/mixed/search-objective.js";
import { OrtSession, type HostTensor } from "../src/runtime/ort-session.js";

export interface Logits {
  readonly top1: number;
  readonly predictions: Int32Array;
  readonly logits: Float32Array;
  readonly classes: number;
}

export async function classifierLogits(model: Model, images: HostTensor, labels: ArrayLike<number>, threads: number | undefined, batchSize = 500): Promise<Logits> {
  const n = images.dims[0]!;
  const session = await OrtSession.create(model, { optimization: "all", threads });
  const predictions = new Int32Array(n);
  let logits = new Float32Array(0);
  let classes = 0;
  try {
    const out = session.outputNames[0]!;
    await session.runBatches({ [session.inputNames[0]!]: images }, batchSize, (o, start, count) => {
      const y = o[out]!.data as Float32Array;
      if (!classes) {
        classes = y.length / count;
        logits = new Float32Array(n * classes);
      }
      logits.set(y, start * classes);
      argmaxRows(y, count, predictions, start);
    });
  } finally {
    await session.release();
  }
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === labels[i]) correct++;
  return { top1: correct / n, predictions, logits, classes };
}

/** Mean KL(softmax(ref) ‖ softmax(cand)) over the rows, in nats. */
export function meanKl(ref: Logits, cand: Logits): number {
  return klSoftmaxSum(ref.logits, cand.logits, ref.predictions.length, ref.classes) / ref.predictions.length;
}

/** Per image, the cross-entropy of the true label: −log softmax(logits)[label]. */
export function crossEntropies(l: Logits, labels: ArrayLike<number>): Float64Array {
  const n = l.predictions.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = crossEntropySum(l.logits.subarray(i * l.classes, (i + 1) * l.classes), labels, i, 1, l.classes);
  return out;
}

/** Mean and standard deviation over the images of a − b (paired per image). */
export function pairedStats(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; sd: number } {
  const n = a.length;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    s += d;
    s2 += d * d;
  }
  const mean = s / n;
  return { mean, sd: Math.sqrt(Math.max(0, s2 / n - mean * mean) * (n / Math.max(1, n - 1))) };
}
