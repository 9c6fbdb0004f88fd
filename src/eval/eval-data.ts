/**
 * Evaluation data bound to a model, the input side of `fixq eval`: the
 * arrays of a .npy/.npz file (and `--input-value` constants) matched to the
 * model's inputs by quant/signature.ts and checked (dtypes, shapes, NaN/Inf),
 * integer class labels checked against the sample count, and model outputs
 * read back as numbers (float16 decoded, integers converted).
 */

import type { NpyArray } from "../io/npy.js";
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { halfToFloat } from "../ir/tensor.js";
import { type BoundData, bindData, hostColumn, memoryColumn, NPY_TO_ONNX } from "../quant/signature.js";
import type { HostTensor } from "../runtime/ort-session.js";

/**
 * Evaluation inputs bound to a model's input names, each in the model's
 * layout with its samples along its batch axis (quant/signature.ts).
 */
export interface EvalData {
  readonly inputs: Readonly<Record<string, HostTensor>>;
  readonly samples: number;
  /** The data file, for messages. */
  readonly source: string;
  /** Constants for inputs the file does not hold (`--input-value`), fed to every run. */
  readonly values?: ReadonlyMap<string, HostTensor>;
}

function nonFinite(a: NpyArray): number {
  const d = a.data;
  if (a.dtype === "f2") return (d as Uint16Array).findIndex((h) => (h & 0x7c00) === 0x7c00);
  if (a.dtype === "f4" || a.dtype === "f8") return (d as Float32Array).findIndex((v) => !Number.isFinite(v));
  return -1;
}

/**
 * Binds the arrays of a .npy (key "") or .npz file, and `values` from
 * `--input-value`, to the model's inputs (quant/signature.ts) and checks
 * dtypes, shapes and values against the declared input types.
 */
export function bindEvalData(model: Model, arrays: ReadonlyMap<string, NpyArray>, source: string, values: ReadonlyMap<string, HostTensor> = new Map()): EvalData {
  const where = `data ${source}`;
  if (!model.graph) throw new FixqError("model", "model has no graph");
  for (const [name, a] of arrays) {
    const bad = nonFinite(a);
    if (bad >= 0) {
      const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
      throw new FixqError("data", `${name ? `array '${name}' ` : ""}contains NaN or Inf (element ${bad}, sample ${Math.floor(bad / row)})`, where);
    }
  }
  const bound = bindData(model.graph, new Map([...arrays].map(([k, a]) => [k, memoryColumn(a)])), values, where);
  const inputs: Record<string, HostTensor> = {};
  for (const [key, a] of arrays) inputs[bound.inputOf.get(key) ?? key] = { dtype: NPY_TO_ONNX[a.dtype], dims: a.shape, data: a.data };
  return { inputs, samples: bound.samples, source, values };
}

/** `data` bound to `model`'s inputs, checked; `who` prefixes the input in messages ("CAND input ..."). */
export function evalFeeds(model: Model, data: EvalData, who = ""): BoundData {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  const columns = new Map(Object.entries(data.inputs).map(([k, t]) => [k, hostColumn(t)]));
  return bindData(model.graph, columns, data.values ?? new Map(), `data ${data.source}`, { who });
}

/**
 * Checks bound data against a model's declared inputs; returns the fixed
 * batch size an input imposes, if any. `who` prefixes the input in
 * messages ("CAND input ...").
 */
export function checkEvalData(model: Model, data: EvalData, who = ""): number | undefined {
  const bound = evalFeeds(model, data, who);
  if (bound.samples !== data.samples) throw new FixqError("data", `${who}model takes ${bound.samples} samples from the data, expected ${data.samples}`, `data ${data.source}`);
  return bound.fixedBatch;
}

/** Integer class labels, one per sample (shape [N] or [N,1]). */
export function bindLabels(a: NpyArray, samples: number, source: string): Int32Array {
  const where = `labels ${source}`;
  if (a.dtype.startsWith("f") || a.dtype === "b1") throw new FixqError("data", `labels must be integers, got ${dtypeName(NPY_TO_ONNX[a.dtype])}`, where);
  if (a.shape.length > 2 || (a.shape.length === 2 && a.shape[1] !== 1) || a.shape.length === 0) {
    throw new FixqError("data", `labels must have shape [N] or [N,1], got [${a.shape.join(",")}]`, where);
  }
  const count = a.shape[0]!;
  if (count !== samples) throw new FixqError("data", `${count} labels for ${samples} data samples`, where);
  const out = new Int32Array(count);
  const src = a.data as ArrayLike<number | bigint>;
  for (let i = 0; i < count; i++) {
    const v = Number(src[i]);
    if (v < 0 || v > 0x7fffffff) throw new FixqError("data", `label ${v} (sample ${i}) is not a class index`, where);
    out[i] = v;
  }
  return out;
}

/** Output values as numbers: float32 stays a view; float16 is decoded; integers are converted. */
export function numeric(t: HostTensor, what: string): ArrayLike<number> {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  if (t.dtype === DataType.FLOAT16 && d instanceof Uint16Array) return Float64Array.from(d, halfToFloat);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  if (ArrayBuffer.isView(d)) return d as unknown as ArrayLike<number>;
  throw new FixqError("unsupported", `cannot compare ${dtypeName(t.dtype)} outputs`, what);
}
