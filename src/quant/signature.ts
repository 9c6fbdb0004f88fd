/**
 * How data reaches a model's inputs, one rule for calibration and evaluation.
 *
 * The batch dimension is a symbolic dim named like a batch (`batch`,
 * `batch_size`: torch seq-first exports declare x [seq, batch, d]); else the
 * symbolic name of the first dim of the first input (in model order) whose
 * first dim is symbolic (Silero VAD: `batch`, from `input` [batch, sequence]);
 * else, when no input has a symbolic first dim, the one symbol the inputs
 * declare if the graph keeps samples apart along it (x [5, N, 32]: N; see
 * keptApartSymbol). Each input is sliced along the axis that
 * carries that name (`h` [2, batch, 64]: axis 1); an input without it is
 * sliced along its first axis; a rank-0 input takes a constant, fed whole to
 * every run. A data array has the input's own layout with the batch axis
 * holding all N samples: `h` for N samples is [2, N, 64].
 *
 * When an input fixes the size of its batch axis (openWakeWord's [1, 25, 96],
 * any export with a fixed batch B), every run feeds exactly B samples: N must
 * be a multiple of B. Inputs with their own sizes must agree on B.
 *
 * Constants: a rank-0 array, an array with a single sample while others have
 * more, and every `--input-value` (see input-values.ts) are fed to each run;
 * along a batch axis their one sample is repeated to the run's size. An input
 * that has an initializer may be left out (ORT uses the initializer); any
 * other input without data is an error that names it.
 */
import type { NpyData, NpyDtype } from "../io/npy.js";
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Dim, Graph } from "../ir/graph.js";
import { dimSymbols } from "../ir/pin-shapes.js";
import { sampleGraph } from "../passes/sample-axis.js";
import { formatShape, tensorTypeOf } from "../ir/types.js";
import type { HostTensor } from "../runtime/ort-session.js";

export const NPY_TO_ONNX: Record<NpyDtype, number> = {
  f2: DataType.FLOAT16,
  f4: DataType.FLOAT,
  f8: DataType.DOUBLE,
  i1: DataType.INT8,
  i2: DataType.INT16,
  i4: DataType.INT32,
  i8: DataType.INT64,
  u1: DataType.UINT8,
  u2: DataType.UINT16,
  u4: DataType.UINT32,
  u8: DataType.UINT64,
  b1: DataType.BOOL,
};

/** NumPy's names of the float types a data file can be cast to (the hint of a float dtype mismatch). */
const NUMPY_FLOAT: Readonly<Record<number, string>> = { [DataType.FLOAT]: "float32", [DataType.DOUBLE]: "float64", [DataType.FLOAT16]: "float16" };
/** The same for integer types: token ids saved as int32 for an int64 input_ids (the hint of an integer dtype mismatch). */
const NUMPY_INT: Readonly<Record<number, string>> = {
  [DataType.INT8]: "int8",
  [DataType.INT16]: "int16",
  [DataType.INT32]: "int32",
  [DataType.INT64]: "int64",
  [DataType.UINT8]: "uint8",
  [DataType.UINT16]: "uint16",
  [DataType.UINT32]: "uint32",
  [DataType.UINT64]: "uint64",
};

/** ": save the array as T (NumPy: a.astype(np.t))" when the file's dtype and the input's are both float or both integer, else "". */
function castHint(file: number, input: number): string {
  const names = NUMPY_FLOAT[file] && NUMPY_FLOAT[input] ? NUMPY_FLOAT : NUMPY_INT[file] && NUMPY_INT[input] ? NUMPY_INT : undefined;
  return names ? `: save the array as ${dtypeName(input)} (NumPy: a.astype(np.${names[input]}))` : "";
}

export interface InputSlot {
  readonly name: string;
  /** Declared element type (0: not declared). */
  readonly dtype: number;
  readonly shape: readonly Dim[] | undefined;
  /** The axis samples run along; null for a rank-0 input. */
  readonly batchAxis: number | null;
  /** The input has an initializer, so data for it is optional. */
  readonly optional: boolean;
}

export interface InputSignature {
  readonly slots: readonly InputSlot[];
  /** The symbolic batch dim, if any input has a symbolic first dim. */
  readonly batchSymbol: string | undefined;
}

/** The model's inputs with their batch axes; see the file comment. */
export function inputSignature(g: Graph): InputSignature {
  const inits = new Set(g.initializers.map((t) => t.name));
  // Symbols count as declared even where --input-shape pinned them (ir/pin-shapes.ts).
  const typed = g.inputs.map((v) => ({ v, t: tensorTypeOf(v.type), symbols: dimSymbols(v.type) }));
  const declared = typed.filter(({ v }) => !inits.has(v.name)).flatMap(({ symbols }) => (symbols ?? []).filter((d): d is string => d !== undefined));
  const first = typed.find(({ v, symbols }) => !inits.has(v.name) && symbols?.[0] !== undefined);
  const batchSymbol = declared.find((d) => BATCH_NAME.test(d)) ?? first?.symbols?.[0] ?? keptApartSymbol(g, declared);
  const slots = typed.map(({ v, t, symbols }): InputSlot => {
    const shape = t?.shape;
    const at = batchSymbol === undefined ? -1 : (symbols?.indexOf(batchSymbol) ?? -1);
    const batchAxis = shape?.length === 0 ? null : at >= 0 ? at : 0;
    return { name: v.name, dtype: t?.dtype ?? 0, shape, batchAxis, optional: inits.has(v.name) };
  });
  return { slots, batchSymbol };
}

/** Symbol names that say "batch" (torch dynamic_axes and Hugging Face exports: batch, batch_size, N is not one). */
const BATCH_NAME = /batch/i;

/**
 * The one symbol the inputs declare, when none declares it first (torch's
 * seq-first x [5, N, 32]) and the graph provably keeps the samples along it
 * apart (passes/sample-axis.ts: no node mixes them); else undefined (a
 * sequence length of a batch-1 model, [1, T], is read along axis 0 as before).
 */
function keptApartSymbol(g: Graph, declared: readonly string[]): string | undefined {
  if (new Set(declared).size !== 1) return undefined;
  try {
    return sampleGraph(g) ? declared[0] : undefined;
  } catch {
    return undefined;
  }
}

/** An array to feed, read along its first axis on demand (a .npy/.npz entry, or one in memory). */
export interface Column {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** Elements of rows [start, start + count) along axis 0, C order. */
  read(start: number, count: number): NpyData;
}

/** An array already in memory as a Column. */
export function memoryColumn(a: { dtype: NpyDtype; shape: readonly number[]; data: NpyData }): Column {
  const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
  return { dtype: a.dtype, shape: a.shape, read: (s, c) => a.data.subarray(s * row, (s + c) * row) as NpyData };
}

const ONNX_TO_NPY = new Map(Object.entries(NPY_TO_ONNX).map(([k, v]) => [v, k as NpyDtype]));

/** A host tensor (in the model's layout) as a Column. */
export function hostColumn(t: HostTensor): Column {
  const dtype = ONNX_TO_NPY.get(t.dtype);
  if (!dtype) throw new FixqError("unsupported", `cannot feed ${dtypeName(t.dtype)} data`);
  return memoryColumn({ dtype, shape: t.dims, data: t.data as NpyData });
}

/** Elements [start, start + count) along `axis` of a C-order tensor. */
export function sliceAxis(t: HostTensor, axis: number, start: number, count: number): HostTensor {
  const outer = t.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = t.dims[axis]!;
  const dims = t.dims.map((d, i) => (i === axis ? count : d));
  const src = t.data as Float32Array;
  if (outer === 1) return { dtype: t.dtype, dims, data: src.subarray(start * inner, (start + count) * inner) };
  const out = new (src.constructor as Float32ArrayConstructor)(outer * count * inner);
  for (let o = 0; o < outer; o++) out.set(src.subarray((o * n + start) * inner, (o * n + start + count) * inner), o * count * inner);
  return { dtype: t.dtype, dims, data: out };
}

/** A tensor with one sample along `axis` repeated `count` times. */
export function repeatAxis(t: HostTensor, axis: number, count: number): HostTensor {
  if (count === 1) return t;
  const outer = t.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array;
  const out = new (src.constructor as Float32ArrayConstructor)(outer * count * inner);
  for (let o = 0; o < outer; o++) for (let k = 0; k < count; k++) out.set(src.subarray(o * inner, (o + 1) * inner), (o * count + k) * inner);
  return { dtype: t.dtype, dims: t.dims.map((d, i) => (i === axis ? count : d)), data: out };
}

/** Data bound to a model's inputs. */
export interface BoundData {
  /** Samples along the batch axes. */
  readonly samples: number;
  /** The batch size every run must have, when an input fixes it. */
  readonly fixedBatch: number | undefined;
  /** Per fed input: the axis sliced, or null for a constant fed whole (repeated along `repeatAlong` to the run's size). */
  readonly feeds: ReadonlyMap<string, { axis: number | null; repeatAlong: number | null }>;
  /** Each array's key (e.g. "" for a .npy) → the input it feeds. */
  readonly inputOf: ReadonlyMap<string, string>;
  /** Samples [start, start + count) of every fed input. */
  batch(start: number, count: number): Record<string, HostTensor>;
}

function isFloat(dtype: number): boolean {
  return dtype === DataType.FLOAT || dtype === DataType.DOUBLE;
}

function checkFinite(data: ArrayLike<number>, name: string, offset: number, where: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new FixqError("data", `non-finite value ${data[i]} at flat index ${offset + i} of input '${name}'`, where);
  }
}

interface Fed {
  slot: InputSlot;
  dtype: number;
  /** A column sliced along slot.batchAxis, or a constant tensor. */
  column?: Column;
  constant?: HostTensor;
  /** For a constant with one sample along the batch axis: that axis. */
  repeatAlong: number | null;
  /** A column whose batch axis is not the first, read whole on first use. */
  whole?: HostTensor;
}

/**
 * Binds `columns` (arrays by input name; "" for a .npy) and `values`
 * (constants from `--input-value`, already shaped for their input) to the
 * model's inputs, checking dtype, rank, static and named dims, the common
 * sample count and the fixed batch. `limit` keeps the first N samples (a
 * whole number of fixed batches). Float values are checked to be finite as
 * each batch is read.
 */
export function bindData(
  g: Graph,
  columns: ReadonlyMap<string, Column>,
  values: ReadonlyMap<string, HostTensor>,
  where: string,
  opts: { limit?: number; who?: string } = {},
): BoundData {
  const who = opts.who ?? "";
  const sig = inputSignature(g);
  const names = sig.slots.map((s) => `'${s.name}'`).join(", ");
  const wanted = sig.slots.filter((s) => !s.optional && !values.has(s.name) && !columns.has(s.name));
  const byName = new Map(columns);
  for (const key of columns.keys()) {
    if (sig.slots.some((s) => s.name === key)) continue;
    // A single unnamed (.npy) or misnamed array goes to the one input still without data.
    if (columns.size === 1 && wanted.length === 1) {
      byName.delete(key);
      byName.set(wanted[0]!.name, columns.get(key)!);
      continue;
    }
    if (key === "" && wanted.length === 0) {
      throw new FixqError("usage", `a .npy file feeds the one input without data, but --input-value already gives every input (${[...values.keys()].map((k) => `'${k}'`).join(", ")})`, where);
    }
    if (key === "") throw new FixqError("data", `a .npy file feeds one input, but the ${who}model has ${wanted.length} inputs without data (${wanted.map((s) => `'${s.name}'`).join(", ")}); use a .npz keyed by input name`, where);
    throw new FixqError("data", `array '${key}' matches no ${who}model input (inputs: ${names})`, where);
  }
  for (const key of values.keys()) {
    if (!sig.slots.some((s) => s.name === key)) throw new FixqError("usage", `--input-value names '${key}', which is not a model input (inputs: ${names})`);
    if (byName.has(key)) throw new FixqError("usage", `input '${key}' is given both by the data file and by --input-value`, where);
  }

  const symbols = new Map<string, [number, string]>();
  const fed: Fed[] = [];
  let samples: number | undefined;
  let fixed: [number, string] | undefined;
  const counts: [number, Fed][] = [];
  for (const slot of sig.slots) {
    const label = `${who}input '${slot.name}'`;
    const column = byName.get(slot.name);
    const constant = values.get(slot.name);
    if (!column && !constant) {
      if (slot.optional) continue;
      const found = [...columns.keys()].map((k) => k || "<npy>").join(", ") || "nothing";
      throw new FixqError("data", `no data for model input '${slot.name}' ${formatShape(slot.shape)} (found: ${found}): add an array '${slot.name}' to the .npz or give --input-value ${slot.name}=VALUE`, where);
    }
    const dims = column ? column.shape : constant!.dims;
    const dtype = column ? NPY_TO_ONNX[column.dtype] : constant!.dtype;
    if (dtype === undefined || (slot.dtype && dtype !== slot.dtype)) {
      const hint = column && dtype !== undefined && slot.dtype ? castHint(dtype, slot.dtype) : "";
      throw new FixqError("data", `dtype ${dtype === undefined ? column?.dtype : dtypeName(dtype)} does not match ${label} ${slot.dtype ? dtypeName(slot.dtype) : "?"}${hint}`, where);
    }
    const shape = slot.shape;
    const mismatch = (why = "") => new FixqError("data", `shape [${dims.join(",")}] does not match ${label} ${formatShape(shape)}${why}`, where);
    if (shape && dims.length !== shape.length) throw mismatch();
    const axis = slot.batchAxis;
    shape?.forEach((d, i) => {
      const got = dims[i]!;
      if (i === axis) return;
      if (typeof d === "number" && d !== got) throw mismatch();
      if (typeof d === "string") {
        const seen = symbols.get(d);
        if (seen && seen[0] !== got) throw mismatch(`: '${d}' is ${got} here but ${seen[0]} in ${seen[1]}`);
        symbols.set(d, [got, label]);
      }
    });
    const f: Fed = { slot, dtype, column, constant, repeatAlong: null };
    fed.push(f);
    if (axis === null || dims.length === 0) continue;
    const declared = shape?.[axis];
    if (typeof declared === "number") {
      if (fixed && fixed[0] !== declared) {
        // a fully static input whose first dim is not the batch (a MatMul's second operand [3, 4] next to x [2, 3]):
        // an array of exactly its shape is fed whole to every run
        if (column && shape!.every((d, i) => d === dims[i])) {
          f.constant = { dtype, dims, data: column.read(0, dims[0] ?? 1) };
          f.column = undefined;
          continue;
        }
        throw mismatch(`: its dim ${axis} is fixed at ${declared}, but ${fixed[1]} fixes the batch at ${fixed[0]} (an array of exactly ${formatShape(shape)} is fed whole to every run)`);
      }
      fixed = [declared, label];
    }
    if (constant) {
      if (dims[axis] !== 1) throw mismatch(` (a --input-value holds one sample: its dim ${axis} must be 1)`);
      f.repeatAlong = axis;
    } else counts.push([dims[axis]!, f]);
  }
  // Columns with a single sample are constants when others have more.
  const most = Math.max(0, ...counts.map(([n]) => n));
  for (const [n, f] of counts) {
    if (n === most) continue;
    if (n !== 1) throw new FixqError("data", `inputs have different sample counts (${most} and ${n}: ${who}input '${f.slot.name}')`, where);
    f.constant = { dtype: f.dtype, dims: f.column!.shape, data: f.column!.read(0, f.column!.shape[0] ?? 1) };
    f.column = undefined;
    f.repeatAlong = f.slot.batchAxis;
  }
  samples = counts.length ? most : 1;
  for (const f of fed) {
    if (f.column && f.column.shape.length === 0) {
      f.constant = { dtype: f.dtype, dims: [], data: f.column.read(0, 1) };
      f.column = undefined;
    }
  }
  if (samples === 0) throw new FixqError("data", "the data set is empty", where);
  if (fixed && samples % fixed[0] !== 0) {
    throw new FixqError("data", `${samples} samples is not a multiple of the fixed batch ${fixed[0]} of ${fixed[1]}`, where);
  }
  if (opts.limit !== undefined) samples = Math.min(samples, fixed ? Math.max(fixed[0], opts.limit - (opts.limit % fixed[0])) : opts.limit);
  for (const f of fed) if (f.constant && isFloat(f.dtype)) checkFinite(f.constant.data as Float32Array, f.slot.name, 0, where);

  const inputOf = new Map<string, string>();
  for (const [key, c] of columns) for (const [name, d] of byName) if (d === c) inputOf.set(key, name);
  const feeds = new Map(fed.map((f) => [f.slot.name, { axis: f.column ? f.slot.batchAxis : null, repeatAlong: f.repeatAlong }]));
  return {
    samples,
    fixedBatch: fixed?.[0],
    feeds,
    inputOf,
    batch(start, count) {
      const out: Record<string, HostTensor> = {};
      for (const f of fed) {
        if (f.constant) {
          out[f.slot.name] = f.repeatAlong === null ? f.constant : repeatAxis(f.constant, f.repeatAlong, count);
          continue;
        }
        const c = f.column!;
        const axis = f.slot.batchAxis ?? 0;
        if (axis !== 0) {
          // Not contiguous along the batch axis: read whole once (recurrent states and the like are small).
          if (!f.whole) {
            f.whole = { dtype: f.dtype, dims: c.shape, data: c.read(0, c.shape[0]!) };
            if (isFloat(f.dtype)) checkFinite(f.whole.data as Float32Array, f.slot.name, 0, where);
          }
          out[f.slot.name] = sliceAxis(f.whole, axis, start, count);
          continue;
        }
        const t: HostTensor = { dtype: f.dtype, dims: [count, ...c.shape.slice(1)], data: c.read(start, count) };
        if (isFloat(f.dtype)) checkFinite(t.data as Float32Array, f.slot.name, start * c.shape.slice(1).reduce((a, b) => a * b, 1), where);
        out[f.slot.name] = t;
      }
      return out;
    },
  };
}
