/**
 * Ranges through the requantizing ops, by applying their arithmetic (from
 * src/numerics) to the interval endpoints. Both are monotone non-decreasing in
 * their input when the multipliers are ≥ 0, so the image of [lo, hi] is
 * [f(lo), f(hi)], attained whenever lo and hi are:
 *   requant: f(acc) = clamp(R(acc, m[c]) + outZero, clampLo, clampHi)
 *   rescale: S = Σ_i (x_i − z_i)·m_i ∈ [Σ m_i·(lo_i − z_i), Σ m_i·(hi_i − z_i)] (m_i ≥ 0),
 *            y = clamp(outZero + rshr(S, shift), clampLo, clampHi), monotone in every x_i,
 *            so y ranges over [rescale(lo_0, lo_1, …), rescale(hi_0, hi_1, …)]
 * A channel whose accumulator may leave int32, or whose multiplier the
 * arithmetic rejects, gets the whole clamp range (sound whatever happens).
 */
import { INT32_MAX, INT32_MIN, type RequantRounding, requantize } from "../numerics/requant.js";
import { rescale } from "../numerics/rescale.js";
import { perChannel, runsAlong, scalarRange, type ChannelRanges } from "./certify-ranges.js";
import type { RequantOp, RescaleOp } from "./program.js";

export interface RequantRanges {
  readonly out: ChannelRanges;
  /** Channels given the whole clamp range because their accumulator or multiplier is out of bounds. */
  readonly unbounded: number[];
}

export function requantRanges(op: RequantOp, input: ChannelRanges, outShape: readonly number[], rounding: RequantRounding): RequantRanges {
  const count = outShape[op.axis] ?? 1;
  if (op.multipliers.length !== 1 && op.multipliers.length !== count) {
    throw new Error(`certify: ${op.source} has ${op.multipliers.length} multipliers for ${count} channels along axis ${op.axis}`);
  }
  const perCh = op.multipliers.length > 1 || runsAlong(input, op.axis, count);
  const x = perCh ? perChannel(input, op.axis, count) : perChannel(input, op.axis, 1);
  const n = x.lo.length;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  const unbounded: number[] = [];
  for (let c = 0; c < n; c++) {
    const d = op.multipliers[op.multipliers.length === 1 ? 0 : c]!;
    const a = x.lo[c]!;
    const b = x.hi[c]!;
    try {
      if (a < INT32_MIN || b > INT32_MAX || !(d.m >= 0)) throw new RangeError("out of bounds");
      lo[c] = requantize(a, d, op.outZero, op.clampLo, op.clampHi, rounding);
      hi[c] = requantize(b, d, op.outZero, op.clampLo, op.clampHi, rounding);
    } catch {
      lo[c] = op.clampLo;
      hi[c] = op.clampHi;
      unbounded.push(c);
    }
  }
  return { out: perCh ? { axis: op.axis, lo, hi } : scalarRange(lo[0]!, hi[0]!), unbounded };
}

export interface RescaleRanges {
  /** The internal sum Σ (x_i − z_i)·m_i. */
  readonly sum: ChannelRanges;
  readonly out: ChannelRanges;
  /** The largest |(x_i − z_i)·m_i| of any single term. */
  readonly maxTerm: number;
  /** Channels given the whole clamp range because the rescale arithmetic rejects their operands. */
  readonly unbounded: number[];
}

/** Inputs share one shape; their ranges are aligned on a common channel axis when they all have one. */
export function rescaleRanges(op: RescaleOp, inputs: readonly ChannelRanges[], shape: readonly number[]): RescaleRanges {
  const withAxis = inputs.filter((r) => r.axis !== null);
  const axis = withAxis[0]?.axis ?? null;
  const aligned = axis !== null && withAxis.every((r) => r.axis === axis && r.lo.length === shape[axis]);
  const count = aligned ? shape[axis!]! : 1;
  const xs = inputs.map((r) => (aligned ? perChannel(r, axis!, count) : perChannel(r, 0, 1)));
  const slo = new Float64Array(count);
  const shi = new Float64Array(count);
  let maxTerm = 0;
  xs.forEach((x, i) => {
    const m = op.multipliers[i]!;
    const z = op.inputZeros[i]!;
    for (let c = 0; c < count; c++) {
      const a = (x.lo[c]! - z) * m;
      const b = (x.hi[c]! - z) * m;
      slo[c] += Math.min(a, b);
      shi[c] += Math.max(a, b);
      maxTerm = Math.max(maxTerm, Math.abs(a), Math.abs(b));
    }
  });
  const lo = new Float64Array(count);
  const hi = new Float64Array(count);
  const unbounded: number[] = [];
  const at = (c: number, end: "lo" | "hi") => xs.map((x) => (end === "hi" ? x.hi[c]! : x.lo[c]!));
  for (let c = 0; c < count; c++) {
    slo[c] += 0;
    shi[c] += 0;
    try {
      lo[c] = rescale(at(c, "lo"), op.inputZeros, op.multipliers, op.shift, op.outZero, op.clampLo, op.clampHi);
      hi[c] = rescale(at(c, "hi"), op.inputZeros, op.multipliers, op.shift, op.outZero, op.clampLo, op.clampHi);
    } catch {
      lo[c] = op.clampLo;
      hi[c] = op.clampHi;
      unbounded.push(c);
    }
  }
  const mk = (l: Float64Array, h: Float64Array): ChannelRanges => (aligned ? { axis, lo: l, hi: h } : { axis: null, lo: l, hi: h });
  return { sum: mk(slo, shi), out: mk(lo, hi), maxTerm, unbounded };
}
