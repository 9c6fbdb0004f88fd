/**
 * Affine integer quantization of groups (per tensor, per channel, per block;
 * see groups.ts), with ONNX QuantizeLinear / DequantizeLinear arithmetic:
 *
 *   q = clamp(roundHalfEven(float32(x / s)) + z, qmin, qmax)      x̂ = float32((q − z) · s)
 *
 * Parameters of a group covering [lo, hi] (widened to contain 0, so 0 is exact):
 *   symmetric, signed:    s = max(|lo|, |hi|) / qmax,              z = 0
 *   symmetric, unsigned:  s = max(|lo|, |hi|) / ⌊(qmax − qmin)/2⌋, z = ⌈qmin + (qmax − qmin)/2⌉
 *   asymmetric:           s = (hi − lo) / (qmax − qmin),           z = clamp(round(qmin − lo/s))
 *   full grid (signed, `fullGrid`): s = e / qmin, z = 0, with e the group's signed extreme (lo when
 *     |lo| ≥ hi, else hi): e lands on qmin (−8 for int4) and every code of [qmin, qmax] is used,
 *     step max|w|/2^(bits−1) instead of max|w|/qmax. s is negative when e > 0. This is the grid of
 *     ONNX Runtime's MLAS block quantizer (MatMulNBits without zero points, implicit zero point 8).
 * An all-zero group gets s = 1. Scales are float32.
 */
import type { Groups } from "./groups.js";
import { clampInt, roundHalfEven } from "./int.js";

/** The integer codes a group may use (possibly narrower than its storage type). */
export interface IntRange {
  readonly signed: boolean;
  readonly qmin: number;
  readonly qmax: number;
  /** Symmetric signed only: map each group's signed extreme to qmin (negative scales), see above. */
  readonly fullGrid?: boolean;
}

export function affineParams(lo: number, hi: number, f: IntRange, symmetric: boolean): { scale: number; zeroPoint: number } {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (symmetric) {
    const m = Math.max(-lo, hi);
    if (f.signed && f.fullGrid) return { scale: Math.fround(m > 0 ? (-lo >= hi ? lo : hi) / f.qmin : 1), zeroPoint: 0 };
    if (f.signed) return { scale: Math.fround(m > 0 ? m / f.qmax : 1), zeroPoint: 0 };
    const half = (f.qmax - f.qmin) / 2;
    return { scale: Math.fround(m > 0 ? m / Math.floor(half) : 1), zeroPoint: Math.ceil(f.qmin + half) };
  }
  if (hi - lo <= 0) return { scale: 1, zeroPoint: f.signed ? 0 : f.qmin };
  const scale = Math.fround((hi - lo) / (f.qmax - f.qmin));
  const zp = Math.round(f.qmin - lo / scale);
  return { scale, zeroPoint: Math.min(f.qmax, Math.max(f.qmin, zp)) };
}

/** ONNX QuantizeLinear on one value: true division, round half to even, saturate. */
export function quantizeValue(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  // float32 division (a double quotient rounded once more to float32 is the correctly rounded float32 quotient)
  return clampInt(roundHalfEven(Math.fround(x / scale)) + zeroPoint, qmin, qmax);
}

/** Scale and zero point of every group, from the group's extremes. */
export function intGroupParams(values: ArrayLike<number>, groups: Groups, f: IntRange, symmetric = f.signed): { scale: Float32Array; zeroPoint: Int32Array } {
  const lo = new Float64Array(groups.count);
  const hi = new Float64Array(groups.count);
  for (let i = 0; i < values.length; i++) {
    const g = groups.of(i);
    const v = values[i]!;
    if (v < lo[g]!) lo[g] = v;
    if (v > hi[g]!) hi[g] = v;
  }
  const scale = new Float32Array(groups.count);
  const zeroPoint = new Int32Array(groups.count);
  for (let g = 0; g < groups.count; g++) {
    const p = affineParams(lo[g]!, hi[g]!, f, symmetric);
    scale[g] = p.scale;
    zeroPoint[g] = p.zeroPoint;
  }
  return { scale, zeroPoint };
}

/** QuantizeLinear over a whole array, one (scale, zero point) per group. */
export function quantizeIntGroups(values: ArrayLike<number>, groups: Groups, scale: Float32Array, zeroPoint: Int32Array, f: IntRange): Int32Array {
  const q = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const g = groups.of(i);
    q[i] = quantizeValue(values[i]!, scale[g]!, zeroPoint[g]!, f.qmin, f.qmax);
  }
  return q;
}

/** DequantizeLinear over a whole array: float32((q − z) · s) per element. */
export function dequantizeIntGroups(q: ArrayLike<number>, groups: Groups, scale: Float32Array, zeroPoint: Int32Array): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const g = groups.of(i);
    out[i] = Math.fround((q[i]! - zeroPoint[g]!) * scale[g]!);
  }
  return out;
}
