/**
 * A classifier's logits on a whole test set (ONNX Runtime, batch by batch),
 * and the mean KL divergence of its softmax from a reference's:
 *
 *   KL(p‖q) = (1/n) Σ_i Σ_c p_ic · (log p_ic − log q_ic),  p = softmax(reference), q = softmax(candidate)
 *
 * in nats, computed in float64 with log-sum-exp. It resolves differences
 * between quantized models that top-1 cannot (a few images flip either way).
 */
import type { Model } from "../src/ir/graph.js";
import { argmaxRows } from "../src/eval/classify.js";
import { OrtSession, type HostTensor } from "../src/runtime/ort-session.js";

export interface Logits {
  readonly top1: number;
  readonly predictions: Int32Array;
  readonly logits: Float32Array;
  readonly classes: number;
}

export async function classifierLogits(model: Model, images: HostTensor, labels: ArrayLike<number>, threads: number, batchSize = 500): Promise<Logits> {
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

function logSoftmax(x: Float32Array, at: number, c: number, out: Float64Array): void {
  let m = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < c; k++) m = Math.max(m, x[at + k]!);
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(x[at + k]! - m);
  const lse = m + Math.log(s);
  for (let k = 0; k < c; k++) out[k] = x[at + k]! - lse;
}

/** Mean KL(softmax(ref) ‖ softmax(cand)) over the rows, in nats. */
export function meanKl(ref: Logits, cand: Logits): number {
  const c = ref.classes;
  const n = ref.predictions.length;
  const lp = new Float64Array(c);
  const lq = new Float64Array(c);
  let total = 0;
  for (let i = 0; i < n; i++) {
    logSoftmax(ref.logits, i * c, c, lp);
    logSoftmax(cand.logits, i * c, c, lq);
    for (let k = 0; k < c; k++) total += Math.exp(lp[k]!) * (lp[k]! - lq[k]!);
  }
  return total / n;
}
