/**
 * Measured sensitivity: for a layer l and a candidate c, how much the model's
 * output moves when only l's weight is quantized as c and everything else
 * stays float, on calibration samples, run in ONNX Runtime.
 *
 *   classifier (first output 2-D [N, C], C ≥ 2):
 *     S[l, c] = (1/N) Σ_n KL(softmax(y_n) ‖ softmax(ŷ_n))
 *   otherwise:
 *     S[l, c] = Σ (ŷ − y)² / Σ y²     (MSE relative to the output's power)
 *
 * y is the float model's first output, ŷ the output with W_l replaced by
 * Q_c(W_l). One session serves every pair: the layers' weights become graph
 * inputs, fed float except the one being measured. Only the weight's format
 * is measured; a candidate's activation format does not change S.
 */
import type { Model } from "../../ir/graph.js";
import { tensorToFloat64 } from "../../ir/tensor.js";
import { typeProtoOf } from "../../ir/types.js";
import { type HostTensor, OrtSession } from "../../runtime/ort-session.js";
import type { DataSource } from "../feeds.js";

export type SensitivityMetric = "kl-softmax" | "relative-mse";

/** A (layer, candidate) pair to measure: the weight input's name and its Q(W). */
export interface MeasurePair {
  readonly key: string;
  readonly weight: string;
  readonly values: Float32Array;
}

export interface MeasureOptions {
  readonly samples: number;
  readonly batchSize: number;
  readonly threads?: number;
}

/** The model with the named initializers turned into graph inputs (their float values are fed at run time). */
export function weightsAsInputs(model: Model, names: ReadonlySet<string>): { model: Model; floats: Record<string, HostTensor> } {
  const g = model.graph!;
  const floats: Record<string, HostTensor> = {};
  const keep = g.initializers.filter((t) => {
    if (t.name === undefined || !names.has(t.name)) return true;
    floats[t.name] = { dtype: 1, dims: t.dims.map(Number), data: Float32Array.from(tensorToFloat64(t)) };
    return false;
  });
  const inputs = [...g.inputs.filter((v) => !names.has(v.name)), ...[...names].map((name) => ({ name, type: typeProtoOf({ dtype: 1, shape: floats[name]!.dims }) }))];
  return { model: { ...model, graph: { ...g, initializers: keep, inputs } }, floats };
}

const isClassifier = (t: HostTensor) => t.dims.length === 2 && t.dims[1]! >= 2;

function logSoftmaxRow(x: ArrayLike<number>, off: number, n: number, out: Float64Array): void {
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
 * Measures every pair; returns S by pair key and the metric used. `weights`
 * names every layer weight that may be measured, pairs of this run or not:
 * the session's graph, and so ORT's kernels and results, depend only on the
 * model and that set, so shards measure exactly what one run would.
 * `onBatch` reports progress (samples done).
 */
export async function measureSensitivities(model: Model, weights: ReadonlySet<string>, pairs: readonly MeasurePair[], source: DataSource, o: MeasureOptions, onBatch?: (done: number) => void): Promise<{ values: Map<string, number>; metric: SensitivityMetric; samples: number }> {
  const { model: open, floats } = weightsAsInputs(model, weights);
  const session = await OrtSession.create(open, { threads: o.threads });
  const samples = Math.min(o.samples, source.count);
  const step = source.fixedBatch ?? Math.max(1, Math.min(o.batchSize, samples));
  const num = new Float64Array(pairs.length);
  let den = 0;
  let rows = 0;
  let metric: SensitivityMetric = "relative-mse";
  try {
    for (let start = 0; start + (source.fixedBatch ?? 1) <= samples; start += step) {
      const count = Math.min(step, samples - start);
      const data = source.batch(start, count);
      const out = session.outputNames[0]!;
      const ref = (await session.run({ ...data, ...floats }, [out]))[out]!;
      const y = ref.data as Float32Array;
      metric = isClassifier(ref) ? "kl-softmax" : "relative-mse";
      const cols = ref.dims[1] ?? 1;
      const n = metric === "kl-softmax" ? y.length / cols : 0;
      rows += n;
      if (metric === "relative-mse") for (const v of y) den += v * v;
      for (let k = 0; k < pairs.length; k++) {
        const p = pairs[k]!;
        const w = floats[p.weight]!;
        const q = (await session.run({ ...data, ...floats, [p.weight]: { ...w, data: p.values } }, [out]))[out]!.data as Float32Array;
        if (metric === "kl-softmax") num[k] += klSoftmaxSum(y, q, n, cols);
        else for (let i = 0; i < y.length; i++) num[k] += (q[i]! - y[i]!) ** 2;
      }
      onBatch?.(start + count);
    }
  } finally {
    await session.release();
  }
  const scale = metric === "kl-softmax" ? rows : den;
  const values = new Map(pairs.map((p, k) => [p.key, scale > 0 ? Math.max(0, num[k]! / scale) : num[k]!]));
  return { values, metric, samples };
}
