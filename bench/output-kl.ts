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
import { klSoftmaxSum } from "../src/quant/mixed/output-change.js";
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
