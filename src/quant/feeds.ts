/** Calibration and evaluation data: checked against the model's inputs before anything runs. */
import type { NpyArray } from "../io/npy.js";
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph } from "../ir/graph.js";
import { formatShape, tensorTypeOf } from "../ir/types.js";
import type { HostTensor } from "../runtime/ort-session.js";

const NPY_TO_ONNX: Record<string, number> = { f4: DataType.FLOAT, f8: DataType.DOUBLE, i8: DataType.INT64, i4: DataType.INT32, u1: DataType.UINT8, i1: DataType.INT8, b1: DataType.BOOL };

/** The graph's real inputs (not initializers listed as inputs). */
export function modelInputs(g: Graph) {
  const inits = new Set(g.initializers.map((t) => t.name));
  return g.inputs.filter((v) => !inits.has(v.name));
}

/**
 * Matches arrays to inputs: a single unnamed array (a .npy) goes to the only
 * input; otherwise names must match. Checks dtype, rank and static dims, a
 * common non-empty batch, and finite values. `limit` keeps the first N rows.
 */
export function feedsFor(g: Graph, arrays: Map<string, NpyArray>, where: string, limit?: number): Record<string, HostTensor> {
  const inputs = modelInputs(g);
  const feeds: Record<string, HostTensor> = {};
  let batch: number | undefined;
  for (const v of inputs) {
    const arr = arrays.get(v.name) ?? (arrays.size === 1 && inputs.length === 1 ? [...arrays.values()][0] : undefined);
    if (!arr) throw new FixqError("data", `no array for model input '${v.name}' (found: ${[...arrays.keys()].map((k) => k || "<npy>").join(", ")})`, where);
    const t = tensorTypeOf(v.type);
    const dtype = NPY_TO_ONNX[arr.dtype];
    if (t && dtype !== t.dtype) throw new FixqError("data", `dtype ${arr.dtype} does not match input '${v.name}' (${dtypeName(t.dtype)})`, where);
    if (t?.shape) {
      const ok = arr.shape.length === t.shape.length && t.shape.every((d, i) => typeof d !== "number" || d === arr.shape[i]);
      if (!ok) throw new FixqError("data", `shape [${arr.shape.join(",")}] does not match input '${v.name}' ${formatShape(t.shape)}`, where);
    }
    const n = arr.shape[0] ?? 0;
    if (n === 0) throw new FixqError("data", "the data set is empty", where);
    if (batch !== undefined && n !== batch) throw new FixqError("data", `inputs have different sample counts (${batch} and ${n})`, where);
    batch = n;
    const rows = Math.min(n, limit ?? n);
    const row = arr.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = (arr.data as Float32Array).subarray(0, rows * row);
    if (dtype === DataType.FLOAT || dtype === DataType.DOUBLE) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) {
          throw new FixqError("data", `non-finite value ${data[i]} at flat index ${i} of input '${v.name}'`, where);
        }
      }
    }
    feeds[v.name] = { dtype: dtype!, dims: [rows, ...arr.shape.slice(1)], data };
  }
  return feeds;
}
