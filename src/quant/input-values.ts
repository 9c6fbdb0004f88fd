/**
 * `--input-value NAME=VALUE[:SHAPE]`: a constant for a model input that the
 * data file does not hold (Silero VAD's sample rate: `sr=16000`).
 *
 * - VALUE is one number, or numbers separated by commas (`1,0,1`); `true`
 *   and `false` stand for 1 and 0. Numbers are read in the input's declared
 *   element type (integers must be whole and in range; int64 exactly).
 * - SHAPE is dims separated by `x` (`2x1x64`). One number with a shape fills
 *   it (`h=0:2x1x64`); a list must have as many numbers as the shape holds.
 * - Without a shape, a list is 1-D, and one number is a scalar for a rank-0
 *   input, or fills the input's declared shape with one sample on the batch
 *   axis (all its other dims must be known: pin them with --input-shape).
 *
 * A value is fed whole to every run; along the batch axis it holds one sample
 * (dim 1), repeated to each run's size (signature.ts).
 */
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph } from "../ir/graph.js";
import { formatShape } from "../ir/types.js";
import type { HostTensor } from "../runtime/ort-session.js";
import { inputSignature, type InputSlot } from "./signature.js";

export interface InputValueSpec {
  readonly name: string;
  /** The numbers as written. */
  readonly values: readonly string[];
  readonly dims: readonly number[] | undefined;
}

const usage = (spec: string, why: string) => new FixqError("usage", `--input-value '${spec}': ${why} (expected NAME=VALUE[:SHAPE], e.g. sr=16000 or h=0:2x1x64)`);

/** Parses one `--input-value` argument (syntax only; types come from the model). */
export function parseInputValue(spec: string): InputValueSpec {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw usage(spec, "no NAME=");
  const name = spec.slice(0, eq);
  const rest = spec.slice(eq + 1);
  const colon = rest.lastIndexOf(":");
  const valueText = colon >= 0 ? rest.slice(0, colon) : rest;
  const shapeText = colon >= 0 ? rest.slice(colon + 1).trim() : undefined;
  const values = valueText.split(",").map((v) => v.trim());
  if (values.some((v) => v === "")) throw usage(spec, "an empty value");
  let dims: number[] | undefined;
  if (shapeText !== undefined) {
    dims = shapeText === "" ? [] : shapeText.split(/[x×]/).map((d) => (/^\d+$/.test(d.trim()) ? Number(d) : Number.NaN));
    if (dims.some((d) => !Number.isSafeInteger(d))) throw usage(spec, `shape '${shapeText}' is not dims separated by x`);
  }
  return { name, values, dims };
}

/** Parses every `--input-value`; an input named twice is a usage error. */
export function parseInputValues(specs: readonly string[] | undefined): InputValueSpec[] {
  const out = (specs ?? []).map(parseInputValue);
  const seen = new Set<string>();
  for (const v of out) {
    if (seen.has(v.name)) throw new FixqError("usage", `--input-value gives input '${v.name}' twice`);
    seen.add(v.name);
  }
  return out;
}

const INT_RANGE: Partial<Record<number, [number, number, new (n: number) => ArrayLike<number>]>> = {
  [DataType.INT8]: [-128, 127, Int8Array],
  [DataType.UINT8]: [0, 255, Uint8Array],
  [DataType.INT16]: [-32768, 32767, Int16Array],
  [DataType.UINT16]: [0, 65535, Uint16Array],
  [DataType.INT32]: [-(2 ** 31), 2 ** 31 - 1, Int32Array],
  [DataType.UINT32]: [0, 2 ** 32 - 1, Uint32Array],
  [DataType.BOOL]: [0, 1, Uint8Array],
};

function typedData(spec: InputValueSpec, dtype: number, count: number): HostTensor["data"] {
  const text = spec.values.length === 1 ? new Array<string>(count).fill(spec.values[0]!) : [...spec.values];
  const word = (v: string) => (v === "true" ? "1" : v === "false" ? "0" : v);
  const bad = (v: string, want: string) => new FixqError("usage", `--input-value ${spec.name}: '${v}' is not ${want} (input '${spec.name}' is ${dtypeName(dtype)})`);
  if (dtype === DataType.FLOAT || dtype === DataType.DOUBLE) {
    const out = dtype === DataType.FLOAT ? new Float32Array(count) : new Float64Array(count);
    text.forEach((v, i) => {
      const x = Number(word(v));
      if (!Number.isFinite(x)) throw bad(v, "a finite number");
      out[i] = x;
    });
    return out;
  }
  if (dtype === DataType.INT64 || dtype === DataType.UINT64) {
    const out = dtype === DataType.INT64 ? new BigInt64Array(count) : new BigUint64Array(count);
    const [lo, hi] = dtype === DataType.INT64 ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    text.forEach((v, i) => {
      let x: bigint;
      try {
        x = BigInt(word(v));
      } catch {
        throw bad(v, "an integer");
      }
      if (x < lo || x > hi) throw bad(v, `in range for ${dtypeName(dtype)}`);
      out[i] = x;
    });
    return out;
  }
  const range = INT_RANGE[dtype];
  if (!range) throw new FixqError("unsupported", `--input-value ${spec.name}: cannot give a value for a ${dtypeName(dtype)} input`);
  const out = new range[2](count) as Int32Array;
  text.forEach((v, i) => {
    const x = Number(word(v));
    if (!Number.isInteger(x) || x < range[0] || x > range[1]) throw bad(v, `an integer in ${range[0]}..${range[1]}`);
    out[i] = x;
  });
  return out;
}

function shapeFor(spec: InputValueSpec, slot: InputSlot): number[] {
  if (spec.dims) return [...spec.dims];
  if (spec.values.length > 1) return [spec.values.length];
  if (!slot.shape || slot.shape.length === 0) return [];
  const dims = slot.shape.map((d, i) => (i === slot.batchAxis ? 1 : d));
  if (dims.some((d) => typeof d !== "number")) {
    throw new FixqError("usage", `--input-value ${spec.name}: input '${spec.name}' is ${formatShape(slot.shape)}; give a shape (${spec.name}=${spec.values[0]}:${dims.map((d) => (typeof d === "number" ? d : "N")).join("x")}) or pin its dims with --input-shape`);
  }
  return dims as number[];
}

/** The values as tensors of their inputs' declared types, keyed by input name. */
export function resolveInputValues(g: Graph, specs: readonly InputValueSpec[]): Map<string, HostTensor> {
  const sig = inputSignature(g);
  const out = new Map<string, HostTensor>();
  for (const spec of specs) {
    const slot = sig.slots.find((s) => s.name === spec.name);
    if (!slot) throw new FixqError("usage", `--input-value names '${spec.name}', which is not a model input (inputs: ${sig.slots.map((s) => s.name).join(", ")})`);
    const dims = shapeFor(spec, slot);
    const count = dims.reduce((a, b) => a * b, 1);
    if (spec.values.length !== 1 && spec.values.length !== count) {
      throw new FixqError("usage", `--input-value ${spec.name}: ${spec.values.length} values for shape [${dims.join(",")}] (${count} elements)`);
    }
    out.set(spec.name, { dtype: slot.dtype || DataType.FLOAT, dims, data: typedData(spec, slot.dtype || DataType.FLOAT, count) });
  }
  return out;
}
