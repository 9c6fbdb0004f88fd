/**
 * How far a model's output moved from the float model's, the one metric
 * mixed precision measures everything with (sensitivities, and the real
 * error of a whole assignment in search.ts):
 *
 *   classifier (first output 2-D [N, C], C ≥ 2):
 *     D = (1/N) Σ_n KL(softmax(y_n) ‖ softmax(ŷ_n))
 *   otherwise:
 *     D = Σ (ŷ − y)² / Σ y²     (MSE relative to the output's power)
 *
 * y is the float model's first output, ŷ the quantized one's.
 */
import type { HostTensor } from "../../runtime/ort-session.js";

export type SensitivityMetric = "kl-softmax" | "relative-mse";

export const isClassifierOutput = (t: HostTensor) => t.dims.length === 2 && t.dims[1]! >= 2;

/** out[j] = x[off + j] − log Σ_k exp(x[off + k]), for j < n. */
export function logSoftmaxRow(x: ArrayLike<number>, off: number, n: number, out: Float64Array): void {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) m = Math.max(m, x[off + j]!);
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(x[off + j]! - m);
  const lse = m + Math.log(s);
  for (let j = 0; j < n; j++) out[j] = x[off + j]! - lse;
}

/** Σ over rows of KL(softmax(ref) ‖ softmax(q)). */
export function klSoftmaxSum(ref: ArrayLike<number>, q: ArrayLike<number>, rows: number, cols: number): number {
  const lp = new Float64Array(cols);
  const lq = new Float64Array(cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    logSoftmaxRow(ref, r * cols, cols, lp);
    logSoftmaxRow(q, r * cols, cols, lq);
    for (let j = 0; j < cols; j++) total += Math.exp(lp[j]!) * (lp[j]! - lq[j]!);
  }
  return total;
}

/**
 * D accumulated batch by batch for `k` quantized outputs against one
 * reference: `reference` once per batch (it fixes the metric from the
 * output's shape), then `add` for each of the k outputs of that batch.
 */
export class OutputChange {
  metric: SensitivityMetric = "relative-mse";
  private readonly num: Float64Array;
  private den = 0;
  private rows = 0;
  private y: Float32Array = new Float32Array(0);
  private cols = 1;
  constructor(k: number) {
    this.num = new Float64Array(k);
  }
  reference(ref: HostTensor): void {
    this.y = ref.data as Float32Array;
    this.metric = isClassifierOutput(ref) ? "kl-softmax" : "relative-mse";
    this.cols = ref.dims[1] ?? 1;
    if (this.metric === "kl-softmax") this.rows += this.y.length / this.cols;
    else for (const v of this.y) this.den += v * v;
  }
  add(k: number, q: Float32Array): void {
    const y = this.y;
    if (this.metric === "kl-softmax") this.num[k] += klSoftmaxSum(y, q, y.length / this.cols, this.cols);
    else for (let i = 0; i < y.length; i++) this.num[k] += (q[i]! - y[i]!) ** 2;
  }
  /** D of output k (KL's small negative rounding clipped to 0). */
  value(k: number): number {
    const scale = this.metric === "kl-softmax" ? this.rows : this.den;
    return scale > 0 ? Math.max(0, this.num[k]! / scale) : this.num[k]!;
  }
}
