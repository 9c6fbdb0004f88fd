/**
 * The quantization grid of every element of a weight, as fixed by its spec:
 * learned rounding chooses, per element, one of the grid's values; it never
 * changes the grid (scales, zero points, block scales are the recipe's).
 *
 * - Integer specs (affine per tensor / per channel, `per-block:N`): element i
 *   of group g takes the values (q − z_g)·s_g, q ∈ [qmin, qmax]; the nearest
 *   code is clamp(round(w/s) + z), the codes either side of w are
 *   clamp(⌊w/s⌋ + z) and clamp(⌈w/s⌉ + z) (swapped when s < 0: the full int4
 *   grid's negative block scales, numerics/int-group.ts).
 * - Float specs (FP8, MX, NVFP4): element i takes u_c·s_i, u_c the element
 *   format's finite values (code c) and s_i its scale (per channel, or block
 *   scale × tensor scale); s_i is read back by dequantizing the code whose
 *   value is 1, so it is exactly what DequantizeLinear multiplies by. The
 *   grid is non-uniform: the neighbours of w are the adjacent u_c around w/s_i.
 */
import { FixqError } from "../../ir/errors.js";
import { isIntSpec, type QuantSpec } from "../../ir/quant.js";
import { decodeFloats } from "../../numerics/float-codec.js";
import { decodeMxElements, mxFormat } from "../../numerics/mx.js";
import { decodeFloatWeight, type FloatWeightSpec } from "../float-weights.js";
import { specGroups } from "../weights.js";

export interface WeightGrid {
  /** The code nearest to v for element i. */
  nearest(i: number, v: number): number;
  /** The largest code whose value is ≤ v, and the smallest whose value is ≥ v (both the clamped end when v is outside the grid). */
  below(i: number, v: number): number;
  above(i: number, v: number): number;
  /** The value code c stands for at element i. */
  value(i: number, c: number): number;
}

/** The grid of a weight of `dims` under `spec`. */
export function weightGrid(dims: readonly number[], spec: QuantSpec): WeightGrid {
  if (isIntSpec(spec)) {
    const groups = specGroups(dims, spec);
    const { qmin, qmax } = spec.format;
    const clamp = (q: number) => (q < qmin ? qmin : q > qmax ? qmax : q);
    const s = (i: number) => spec.scale[groups.of(i)]!;
    const z = (i: number) => spec.zeroPoint[groups.of(i)]!;
    return {
      nearest: (i, v) => clamp(Math.round(v / s(i)) + z(i)),
      // a negative scale (the full int4 grid) reverses the order of codes and values
      below: (i, v) => clamp((s(i) < 0 ? Math.ceil : Math.floor)(v / s(i)) + z(i)),
      above: (i, v) => clamp((s(i) < 0 ? Math.floor : Math.ceil)(v / s(i)) + z(i)),
      value: (i, c) => (c - z(i)) * s(i),
    };
  }
  if (spec.kind === "dynamic-block") throw new FixqError("unsupported", "a dynamic block spec has no fixed grid");
  return floatGrid(dims, spec);
}

/** The element format's value of every code, before scaling. */
function unitValues(spec: FloatWeightSpec): Float32Array {
  const bits = spec.kind === "float" ? spec.format.bits : spec.kind === "mx" ? spec.format.bits : 4;
  const codes = Uint8Array.from({ length: 2 ** bits }, (_, c) => c);
  if (spec.kind === "float") return decodeFloats(spec.format, codes);
  return decodeMxElements(spec.kind === "mx" ? spec.format : mxFormat("mxfp4"), codes);
}

function floatGrid(dims: readonly number[], spec: FloatWeightSpec): WeightGrid {
  const units = unitValues(spec);
  // Finite values in ascending order, one code per value (+0 for zero).
  const byValue = new Map<number, number>();
  units.forEach((u, c) => {
    if (Number.isFinite(u) && !byValue.has(u === 0 ? 0 : u)) byValue.set(u === 0 ? 0 : u, c);
  });
  const levels = Float64Array.from([...byValue.keys()].sort((a, b) => a - b));
  const codes = Int32Array.from(levels, (u) => byValue.get(u)!);
  const one = byValue.get(1);
  if (one === undefined) throw new FixqError("unsupported", `weight format '${spec.kind}' has no element of value 1`);
  const n = dims.reduce((a, b) => a * b, 1);
  const scale = decodeFloatWeight(new Uint8Array(n).fill(one), dims, spec);
  const zero = byValue.get(0)!;
  /** Index of the last level ≤ x (−1 when x is below every level). */
  const floorIndex = (x: number) => {
    let lo = -1;
    let hi = levels.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (levels[mid]! <= x) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  const last = levels.length - 1;
  const below = (i: number, v: number) => {
    const s = scale[i]!;
    if (!(s > 0)) return zero;
    return codes[Math.max(0, floorIndex(v / s))]!;
  };
  const above = (i: number, v: number) => {
    const s = scale[i]!;
    if (!(s > 0)) return zero;
    const x = v / s;
    const k = floorIndex(x);
    return codes[k >= 0 && levels[k] === x ? k : Math.min(last, k + 1)]!;
  };
  const value = (i: number, c: number) => units[c]! * scale[i]!;
  return {
    below,
    above,
    value,
    nearest(i, v) {
      const lo = below(i, v);
      const hi = above(i, v);
      return Math.abs(value(i, hi) - v) < Math.abs(v - value(i, lo)) ? hi : lo;
    },
  };
}
