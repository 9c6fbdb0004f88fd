/**
 * Top-1 evaluation of a classifier in onnxruntime: runs the inputs in batches
 * and compares the arg-max of the logits with the labels.
 */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { type HostTensor, OrtSession, type SessionOptions } from "../runtime/ort-session.js";
import { type Progress, silentProgress } from "../util/progress.js";

export interface ClassifyResult {
  readonly count: number;
  readonly correct: number;
  readonly top1: number;
  readonly predictions: Int32Array;
}

export function argmaxRows(logits: Float32Array, rows: number, out: Int32Array, offset: number): void {
  const classes = logits.length / rows;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestV = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      const v = logits[r * classes + c]!;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[offset + r] = best;
  }
}

export async function evaluateClassifier(
  model: Model,
  input: HostTensor,
  labels: ArrayLike<number | bigint>,
  opts: SessionOptions & { batchSize?: number; progress?: Progress } = {},
): Promise<ClassifyResult> {
  const n = input.dims[0] ?? 0;
  if (labels.length !== n) throw new FixqError("data", `${labels.length} labels for ${n} inputs`);
  const session = await OrtSession.create(model, opts);
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const predictions = new Int32Array(n);
  try {
    await session.runBatches(
      { [inputName]: input },
      opts.batchSize ?? 256,
      (out, start, count) => argmaxRows(out[outputName]!.data as Float32Array, count, predictions, start),
      opts.progress ?? silentProgress,
    );
  } finally {
    await session.release();
  }
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === Number(labels[i])) correct++;
  return { count: n, correct, top1: n ? correct / n : 0, predictions };
}
