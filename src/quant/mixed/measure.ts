/**
 * Measured sensitivity: for a layer l and a candidate c, how much the model's
 * output moves when only l is quantized as c asks and everything else stays
 * float, on calibration samples, run in ONNX Runtime (output-change.ts):
 *
 *   classifier (first output 2-D [N, C], C ≥ 2):
 *     S[l, c] = (1/N) Σ_n KL(softmax(y_n) ‖ softmax(ŷ_n))
 *   otherwise:
 *     S[l, c] = Σ (ŷ − y)² / Σ y²     (MSE relative to the output's power)
 *
 * y is the float model's first output, ŷ the output with W_l replaced by
 * Q_c(W_l) and the activations l's format decides fake-quantized in c's
 * activation format (activation-formats.ts), so candidates that differ only
 * in activations differ in S. One session serves every pair: the layers'
 * weights become graph inputs, fed float except the one being measured, and
 * each activation fake quantization has a switch input, off except for the
 * pair being measured.
 */
import type { Model } from "../../ir/graph.js";
import { tensorToFloat64 } from "../../ir/tensor.js";
import { typeProtoOf } from "../../ir/types.js";
import { type HostTensor, OrtSession } from "../../runtime/ort-session.js";
import type { DataSource } from "../feeds.js";
import { type ActFakeQuant, withFakeQuant } from "./fake-quant-graph.js";
import { OutputChange, type SensitivityMetric } from "./output-change.js";

export type { SensitivityMetric };

export interface MeasurePair {
  readonly key: string;
  readonly weight: string;
  readonly values: Float32Array;
  /** Activation switches turned on for this pair (fake-quant-graph.ts). */
  readonly masks?: readonly string[];
}

export interface MeasureOptions {
  readonly samples: number;
  readonly batchSize: number;
  readonly threads?: number;
  /** Switchable activation fake quantizations in the session's graph (all of them, whichever pairs this run measures). */
  readonly acts?: readonly ActFakeQuant[];
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

/**
 * Measures every pair; returns S by pair key and the metric used. `weights`
 * names every layer weight that may be measured, pairs of this run or not:
 * the session's graph, and so ORT's kernels and results, depend only on the
 * model, that set and `o.acts`, so shards measure exactly what one run would.
 * `onBatch` reports progress (samples done).
 */
export async function measureSensitivities(model: Model, weights: ReadonlySet<string>, pairs: readonly MeasurePair[], source: DataSource, o: MeasureOptions, onBatch?: (done: number) => void): Promise<{ values: Map<string, number>; metric: SensitivityMetric; samples: number }> {
  const { model: open, floats } = weightsAsInputs(model, weights);
  const acts = o.acts ?? [];
  const off: Record<string, HostTensor> = Object.fromEntries(acts.map((f) => [f.mask, { dtype: 1, dims: [], data: Float32Array.of(0) }]));
  const on: HostTensor = { dtype: 1, dims: [], data: Float32Array.of(1) };
  const session = await OrtSession.create(withFakeQuant(open, acts), { threads: o.threads });
  const samples = Math.min(o.samples, source.count);
  const step = source.fixedBatch ?? Math.max(1, Math.min(o.batchSize, samples));
  const change = new OutputChange(pairs.length);
  try {
    for (let start = 0; start + (source.fixedBatch ?? 1) <= samples; start += step) {
      const count = Math.min(step, samples - start);
      const data = source.batch(start, count);
      const out = session.outputNames[0]!;
      change.reference((await session.run({ ...data, ...floats, ...off }, [out]))[out]!);
      for (let k = 0; k < pairs.length; k++) {
        const p = pairs[k]!;
        const w = floats[p.weight]!;
        const switches = Object.fromEntries((p.masks ?? []).map((m) => [m, on]));
        change.add(k, (await session.run({ ...data, ...floats, ...off, ...switches, [p.weight]: { ...w, data: p.values } }, [out]))[out]!.data as Float32Array);
      }
      onBatch?.(start + count);
    }
  } finally {
    await session.release();
  }
  const values = new Map(pairs.map((p, k) => [p.key, change.value(k)]));
  const metric = change.metric;
  return { values, metric, samples };
}
