/**
 * The mixed-precision tests' own reference for the output change D of a
 * classifier, written out independently of src/quant/mixed/output-change.ts:
 * a model (file path or encoded bytes) run in onnxruntime-node on one batch,
 * and (1/N) Σ_n KL(softmax(p_n) ‖ softmax(q_n)).
 */
import * as ort from "onnxruntime-node";

/** The first output of `model` on one float32 batch fed to its first input. */
export async function firstOutput(model: string | Uint8Array, x: { dims: readonly number[]; data: Float32Array }): Promise<Float32Array> {
  const s = typeof model === "string" ? await ort.InferenceSession.create(model, { intraOpNumThreads: 1 }) : await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    return (await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", x.data, [...x.dims]) }))[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Mean over the n rows of KL(softmax(p) ‖ softmax(q)). */
export function meanSoftmaxKl(p: Float32Array, q: Float32Array, n: number): number {
  const cols = p.length / n;
  let t = 0;
  for (let r = 0; r < n; r++) {
    const row = (v: Float32Array) => Array.from(v.subarray(r * cols, (r + 1) * cols));
    const lse = (v: number[]) => Math.max(...v) + Math.log(v.reduce((s, x) => s + Math.exp(x - Math.max(...v)), 0));
    const [a, b] = [row(p), row(q)];
    const [la, lb] = [lse(a), lse(b)];
    for (let j = 0; j < cols; j++) t += Math.exp(a[j]! - la) * (a[j]! - la - (b[j]! - lb));
  }
  return t / n;
}
