/** Calibration and evaluation data: checked against the model's inputs before anything runs. */
import { type NpyArray, type NpyData, NpyFormatError } from "../io/npy.js";
import { type NpyRows, openNpyRows } from "../io/npy-rows.js";
import { type NpzRows, openNpzRows } from "../io/npz-rows.js";
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph } from "../ir/graph.js";
import { formatShape, tensorTypeOf } from "../ir/types.js";
import { type HostTensor, sliceBatch } from "../runtime/ort-session.js";

const NPY_TO_ONNX: Record<string, number> = { f4: DataType.FLOAT, f8: DataType.DOUBLE, i8: DataType.INT64, i4: DataType.INT32, u1: DataType.UINT8, i1: DataType.INT8, b1: DataType.BOOL };

/** The graph's real inputs (not initializers listed as inputs). */
export function modelInputs(g: Graph) {
  const inits = new Set(g.initializers.map((t) => t.name));
  return g.inputs.filter((v) => !inits.has(v.name));
}

function checkInput(g: Graph, name: string, npyDtype: string, shape: readonly number[], where: string): number {
  const v = modelInputs(g).find((x) => x.name === name)!;
  const t = tensorTypeOf(v.type);
  const dtype = NPY_TO_ONNX[npyDtype];
  if (dtype === undefined || (t && dtype !== t.dtype)) {
    throw new FixqError("data", `dtype ${npyDtype} does not match input '${name}' (${t ? dtypeName(t.dtype) : "?"})`, where);
  }
  if (t?.shape) {
    const ok = shape.length === t.shape.length && t.shape.every((d, i) => typeof d !== "number" || d === shape[i]);
    if (!ok) throw new FixqError("data", `shape [${shape.join(",")}] does not match input '${name}' ${formatShape(t.shape)}`, where);
  }
  if (shape.length === 0) throw new FixqError("data", `input '${name}' is a scalar, but a data file holds one row per sample`, where);
  if ((shape[0] ?? 0) === 0) throw new FixqError("data", "the data set is empty", where);
  return dtype;
}

function checkFinite(data: ArrayLike<number>, name: string, offset: number, where: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new FixqError("data", `non-finite value ${data[i]} at flat index ${offset + i} of input '${name}'`, where);
  }
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
    const dtype = checkInput(g, v.name, arr.dtype, arr.shape, where);
    const n = arr.shape[0]!;
    if (batch !== undefined && n !== batch) throw new FixqError("data", `inputs have different sample counts (${batch} and ${n})`, where);
    batch = n;
    const rows = Math.min(n, limit ?? n);
    const row = arr.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = (arr.data as Float32Array).subarray(0, rows * row);
    if (dtype === DataType.FLOAT || dtype === DataType.DOUBLE) checkFinite(data, v.name, 0, where);
    feeds[v.name] = { dtype, dims: [rows, ...arr.shape.slice(1)], data };
  }
  return feeds;
}

/** Samples to run, fetched batch by batch. */
export interface DataSource {
  readonly count: number;
  batch(start: number, count: number): Record<string, HostTensor>;
  close(): void;
}

/** A source over tensors already in memory (sliced without copying). */
export function arraySource(feeds: Record<string, HostTensor>): DataSource {
  const first = Object.values(feeds)[0];
  return {
    count: first?.dims[0] ?? 0,
    batch(start, count) {
      const out: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(feeds)) out[name] = sliceBatch(t, start, count);
      return out;
    },
    close() {},
  };
}

/**
 * A .npy file for a single-input model, read a batch of rows at a time, so
 * memory does not grow with the number of samples. Dtype and shape are checked
 * before anything runs; values are checked to be finite batch by batch.
 */
export function npyFileSource(g: Graph, path: string, limit?: number): DataSource {
  const inputs = modelInputs(g);
  if (inputs.length !== 1) throw new FixqError("data", `a .npy file holds one array, but the model has ${inputs.length} inputs: use a .npz keyed by input name`, path);
  const name = inputs[0]!.name;
  let rows: NpyRows;
  try {
    rows = openNpyRows(path);
  } catch (e) {
    if (e instanceof NpyFormatError) throw new FixqError("data", e.message);
    throw new FixqError("io", `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, path);
  }
  const dtype = checkInput(g, name, rows.dtype, rows.shape, path);
  const rowSize = rows.shape.slice(1).reduce((a, b) => a * b, 1);
  return {
    count: Math.min(rows.shape[0]!, limit ?? Number.POSITIVE_INFINITY),
    batch(start, count) {
      const data = rows.read(start, count);
      if (dtype === DataType.FLOAT || dtype === DataType.DOUBLE) checkFinite(data as Float32Array, name, start * rowSize, path);
      return { [name]: { dtype, dims: [count, ...rows.shape.slice(1)], data } };
    },
    close: () => rows.close(),
  };
}

/**
 * A .npz file (arrays keyed by input name, or one array for a one-input
 * model), read a batch of rows at a time like npyFileSource; deflated entries
 * are inflated as a stream (io/npz-rows.ts). Arrays are matched and checked
 * as in feedsFor before anything runs; values are checked to be finite batch
 * by batch.
 */
export function npzFileSource(g: Graph, path: string, limit?: number): DataSource {
  const asData = (e: unknown): never => {
    if (e instanceof NpyFormatError) throw new FixqError("data", e.problem, e.where, { cause: e });
    throw e;
  };
  let npz: NpzRows;
  try {
    npz = openNpzRows(path);
  } catch (e) {
    if (e instanceof NpyFormatError) return asData(e);
    throw new FixqError("io", `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, path);
  }
  try {
    const inputs = modelInputs(g);
    const columns: { name: string; dtype: number; rows: NpyRows; rowSize: number }[] = [];
    let n: number | undefined;
    for (const v of inputs) {
      const rows = npz.arrays.get(v.name) ?? (npz.arrays.size === 1 && inputs.length === 1 ? [...npz.arrays.values()][0] : undefined);
      if (!rows) throw new FixqError("data", `no array for model input '${v.name}' (found: ${[...npz.arrays.keys()].join(", ")})`, path);
      const dtype = checkInput(g, v.name, rows.dtype, rows.shape, path);
      if (n !== undefined && rows.shape[0] !== n) throw new FixqError("data", `inputs have different sample counts (${n} and ${rows.shape[0]})`, path);
      n = rows.shape[0]!;
      columns.push({ name: v.name, dtype, rows, rowSize: rows.shape.slice(1).reduce((a, b) => a * b, 1) });
    }
    return {
      count: Math.min(n ?? 0, limit ?? Number.POSITIVE_INFINITY),
      batch(start, count) {
        const out: Record<string, HostTensor> = {};
        for (const c of columns) {
          let data: NpyData;
          try {
            data = c.rows.read(start, count);
          } catch (e) {
            return asData(e);
          }
          if (c.dtype === DataType.FLOAT || c.dtype === DataType.DOUBLE) checkFinite(data as Float32Array, c.name, start * c.rowSize, path);
          out[c.name] = { dtype: c.dtype, dims: [count, ...c.rows.shape.slice(1)], data };
        }
        return out;
      },
      close: () => npz.close(),
    };
  } catch (e) {
    npz.close();
    throw e;
  }
}
