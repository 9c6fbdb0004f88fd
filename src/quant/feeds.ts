/** Calibration and evaluation data: checked against the model's inputs before anything runs. */
import { type NpyArray, NpyFormatError } from "../io/npy.js";
import { type NpyRows, openNpyRows } from "../io/npy-rows.js";
import { type NpzRows, openNpzRows } from "../io/npz-rows.js";
import { FixqError } from "../ir/errors.js";
import type { Graph } from "../ir/graph.js";
import { type HostTensor, sliceBatch } from "../runtime/ort-session.js";
import { type BoundData, bindData, type Column, memoryColumn } from "./signature.js";

/** The graph's real inputs (not initializers listed as inputs). */
export function modelInputs(g: Graph) {
  const inits = new Set(g.initializers.map((t) => t.name));
  return g.inputs.filter((v) => !inits.has(v.name));
}

/** Constants for inputs the data does not hold (`--input-value`), keyed by input name. */
export type InputValues = ReadonlyMap<string, HostTensor>;
const NONE: InputValues = new Map();

/**
 * Matches arrays to inputs as bindData does (signature.ts: names, a single
 * unnamed array to the one input without data, batch axes, constants) and
 * returns the first `limit` samples of each fed input, in the model's layout.
 */
export function feedsFor(g: Graph, arrays: Map<string, NpyArray>, where: string, limit?: number, values: InputValues = NONE): Record<string, HostTensor> {
  const columns = new Map([...arrays].map(([k, a]) => [k, memoryColumn(a)]));
  const bound = bindData(g, columns, values, where, { limit });
  return bound.batch(0, bound.samples);
}

/** Samples to run, fetched batch by batch. */
export interface DataSource {
  readonly count: number;
  /** Every run must feed exactly this many samples (an input fixes its batch dim); see signature.ts. */
  readonly fixedBatch?: number;
  /**
   * Per input, the axis its samples run along (absent: 0); null for a tensor
   * fed whole to every run (a scalar such as Silero's `sr`).
   */
  readonly sampleAxes?: ReadonlyMap<string, number | null>;
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

/** A source over data bound by bindData (signature.ts). */
function boundSource(bound: BoundData, close: () => void): DataSource {
  const sampleAxes = new Map([...bound.feeds].map(([name, f]) => [name, f.axis ?? f.repeatAlong]));
  return { count: bound.samples, fixedBatch: bound.fixedBatch, sampleAxes, batch: (start, count) => bound.batch(start, count), close };
}

/**
 * A .npy file (the one input without an --input-value), read a batch of rows
 * at a time, so memory does not grow with the number of samples. Dtype and
 * shape are checked before anything runs; values are checked to be finite
 * batch by batch.
 */
export function npyFileSource(g: Graph, path: string, limit?: number, values: InputValues = NONE): DataSource {
  let rows: NpyRows;
  try {
    rows = openNpyRows(path);
  } catch (e) {
    if (e instanceof NpyFormatError) throw new FixqError("data", e.message);
    throw new FixqError("io", `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, path);
  }
  try {
    return boundSource(bindData(g, new Map([["", rows]]), values, path, { limit }), () => rows.close());
  } catch (e) {
    rows.close();
    throw e;
  }
}

/**
 * A .npz file (arrays keyed by input name, or one array for the one input
 * without an --input-value), read a batch of rows at a time like
 * npyFileSource; deflated entries are inflated as a stream
 * (io/npz-rows.ts). Arrays are matched and checked by bindData before
 * anything runs; values are checked to be finite batch by batch.
 */
export function npzFileSource(g: Graph, path: string, limit?: number, values: InputValues = NONE): DataSource {
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
    const columns = new Map<string, Column>();
    for (const [name, rows] of npz.arrays) {
      columns.set(name, {
        dtype: rows.dtype,
        shape: rows.shape,
        read(start, count) {
          try {
            return rows.read(start, count);
          } catch (e) {
            return asData(e);
          }
        },
      });
    }
    return boundSource(bindData(g, columns, values, path, { limit }), () => npz.close());
  } catch (e) {
    npz.close();
    throw e;
  }
}
