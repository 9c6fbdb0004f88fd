/**
 * Dyadic requantization: a real rescale M ≥ 0 becomes an integer multiplier
 * and a shift, M ≈ m · 2^−s, so integer code computes y ≈ x · M exactly.
 *
 *   (f, e) = frexp(M), f ∈ [½, 1)
 *   m = round(f · 2^b) ∈ [2^(b−1), 2^b]   (b = 31 by default; ties up)
 *   s = b − e
 *   if m = 2^b: m = 2^(b−1), s = s − 1     (M rounded up to a power of two)
 *
 * Applying it (x an int32 accumulator):
 *   single rounding (fixq's default, one rounding, ties toward +∞):
 *     y = floor((x·m + 2^(s−1)) / 2^s)     (y = x·m·2^−s when s ≤ 0)
 *   double rounding (gemmlowp / TFLite; b = 31):
 *     y = RDBP(SRDHM(x · 2^max(0, 31−s), m), max(0, s−31))
 *     SRDHM(a, b) = INT32_MAX if a = b = INT32_MIN, else floor((a·b + 2^30) / 2^31)
 *     RDBP(v, k)  = round(v / 2^k), ties away from zero, 0 ≤ k ≤ 31
 * The two differ on some inputs (a tie after the first rounding).
 *
 * Cost: x·m needs 62 bits. Instead of BigInt it is split exactly into doubles,
 * x·m = H·2^16 + L with H = x·⌊m/2^16⌋ + ⌊x·(m mod 2^16) / 2^16⌋ (|H| < 2^47)
 * and 0 ≤ L < 2^16, and the shift is taken on H. `bench/numerics.bench.ts`
 * measures the split against BigInt: about 30 vs 8–13 M elements/s here for
 * `requantizeArray` (its loops hoist the multiplier's constants).
 */
import { roundNumber } from "./rounding.js";

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export interface Dyadic {
  /** Integer multiplier, 2^(b−1) ≤ m < 2^b (0 for M = 0). */
  readonly m: number;
  /** Right shift: M ≈ m · 2^−s (may be ≤ 0 for M ≥ 2^(b−1)). */
  readonly s: number;
}

/** frexp: x = f · 2^e with f ∈ [½, 1), for finite x > 0. */
export function frexp(x: number): [f: number, e: number] {
  let e = Math.floor(Math.log2(x)) + 1;
  let f = x * 2 ** -e;
  // log2 can be off by one near powers of two; fix up exactly.
  while (f >= 1) [f, e] = [f / 2, e + 1];
  while (f < 0.5) [f, e] = [f * 2, e - 1];
  return [f, e];
}

/** The dyadic form of M ≥ 0 with a `bits`-bit multiplier (1…31, default 31). */
export function quantizeMultiplier(M: number, bits = 31): Dyadic {
  if (!Number.isInteger(bits) || bits < 1 || bits > 31) throw new RangeError(`multiplier bits ${bits} not in 1…31`);
  if (!(M >= 0) || !Number.isFinite(M)) throw new RangeError(`multiplier ${M} must be finite and ≥ 0`);
  if (M === 0) return { m: 0, s: 0 };
  if (M < 2 ** -1000) throw new RangeError(`multiplier ${M} is too small`);
  const [f, e] = frexp(M);
  let m = roundNumber(f * 2 ** bits, "AP_RND");
  let s = bits - e;
  if (m === 2 ** bits) {
    m /= 2;
    s -= 1;
  }
  return { m, s };
}

/** The real value m · 2^−s. */
export function dyadicValue(d: Dyadic): number {
  return d.m * 2 ** -d.s;
}

/** 2^k for 0 ≤ k < 80, so that hot paths do not call Math.pow. */
const POW2 = Array.from({ length: 80 }, (_, k) => 2 ** k);

/**
 * floor((x·m + 2^(s−1)) / 2^s) for |x|, |m| ≤ 2^31, s ≥ 1, exactly when the
 * result is below 2^53 in magnitude (larger results keep their sign and
 * magnitude class, which is all saturation needs).
 */
function mulShiftRound(x: number, m: number, s: number): number {
  if (s >= 64) return 0; // |x·m| ≤ 2^62 < 2^(s−1): rounds to 0
  const mh = Math.floor(m / 65536);
  const ml = m - mh * 65536;
  const b = x * ml; // |b| < 2^47, exact
  const bh = Math.floor(b / 65536);
  const h = x * mh + bh; // x·m = h·2^16 + (b − bh·2^16), |h| < 2^47
  if (s >= 17) return Math.floor((h + POW2[s - 17]!) / POW2[s - 16]!);
  const bl = b - bh * 65536; // 0 ≤ bl < 2^16
  return h * POW2[16 - s]! + Math.floor((bl + POW2[s - 1]!) / POW2[s]!);
}

/** Single rounding: round(x · m · 2^−s), ties toward +∞, for an int32 x. */
export function requantizeSingle(x: number, d: Dyadic): number {
  if (d.m === 0) return 0;
  if (d.s <= 0) return x * d.m * 2 ** -d.s; // |x·m| ≥ 2^30 unless 0: exact whenever y fits int32
  return mulShiftRound(x, d.m, d.s);
}

/** gemmlowp SaturatingRoundingDoublingHighMul on int32 a, b. */
export function srdhm(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  return mulShiftRound(a, b, 31);
}

/** gemmlowp RoundingDivideByPOT: v / 2^k rounded, ties away from zero; int32 v, 0 ≤ k ≤ 31. */
export function roundingDivideByPOT(v: number, k: number): number {
  if (!Number.isInteger(k) || k < 0 || k > 31) throw new RangeError(`RoundingDivideByPOT exponent ${k} not in 0…31`);
  const p = 2 ** k;
  const fl = Math.floor(v / p);
  const rem = v - fl * p;
  const threshold = Math.floor((p - 1) / 2) + (v < 0 ? 1 : 0);
  return fl + (rem > threshold ? 1 : 0);
}

/**
 * Double rounding as TFLite's MultiplyByQuantizedMultiplier: left shift for
 * M ≥ 1, SRDHM, then RoundingDivideByPOT. Throws where gemmlowp's result is
 * undefined: a left shift that overflows int32, or a right shift above 31.
 */
export function requantizeDouble(x: number, d: Dyadic): number {
  if (d.m === 0) return 0; // M = 0 (quantizeMultiplier(0) = {m: 0, s: 0}): no shift to apply
  const left = Math.max(0, 31 - d.s);
  const right = Math.max(0, d.s - 31);
  const a = x * 2 ** left;
  if (a < INT32_MIN || a > INT32_MAX) throw new RangeError(`requantizeDouble: ${x} << ${left} overflows int32`);
  return roundingDivideByPOT(srdhm(a, d.m), right);
}

export type RequantRounding = "single" | "double";

/** y = clamp(round(x · m · 2^−s) + zeroPoint, qmin, qmax). */
export function requantize(
  x: number,
  d: Dyadic,
  zeroPoint: number,
  qmin: number,
  qmax: number,
  rounding: RequantRounding = "single",
): number {
  const y = (rounding === "single" ? requantizeSingle(x, d) : requantizeDouble(x, d)) + zeroPoint;
  return y < qmin ? qmin : y > qmax ? qmax : y;
}

/** `requantize` over an int32 array (one multiplier for the whole array). */
export function requantizeArray(
  acc: Int32Array,
  d: Dyadic,
  zeroPoint: number,
  qmin: number,
  qmax: number,
  out: Int32Array = new Int32Array(acc.length),
  rounding: RequantRounding = "single",
): Int32Array {
  if (rounding === "single" && d.s >= 17 && d.s < 64) {
    // mulShiftRound with the multiplier's constants hoisted out of the loop
    const mh = Math.floor(d.m / 65536);
    const ml = d.m - mh * 65536;
    const half = POW2[d.s - 17]!;
    const inv = 1 / POW2[d.s - 16]!; // exact: a power of two
    for (let i = 0; i < acc.length; i++) {
      const x = acc[i]!;
      const b = x * ml;
      const h = x * mh + Math.floor(b * (1 / 65536));
      const y = Math.floor((h + half) * inv) + zeroPoint;
      out[i] = y < qmin ? qmin : y > qmax ? qmax : y;
    }
    return out;
  }
  if (rounding === "double" && d.s >= 31 && d.s <= 62 && d.m >= 0) {
    // SRDHM (no left shift; m ≥ 0 rules out INT32_MIN·INT32_MIN) then RDBP, constants hoisted
    const mh = Math.floor(d.m / 65536);
    const ml = d.m - mh * 65536;
    const p = POW2[d.s - 31]!;
    const inv = 1 / p;
    const halfDown = Math.floor((p - 1) / 2);
    for (let i = 0; i < acc.length; i++) {
      const x = acc[i]!;
      const b = x * ml;
      const h = x * mh + Math.floor(b * (1 / 65536));
      const v = Math.floor((h + 16384) * (1 / 32768)); // floor((x·m + 2^30) / 2^31)
      const fl = Math.floor(v * inv);
      const y = fl + (v - fl * p > halfDown + (v < 0 ? 1 : 0) ? 1 : 0) + zeroPoint;
      out[i] = y < qmin ? qmin : y > qmax ? qmax : y;
    }
    return out;
  }
  for (let i = 0; i < acc.length; i++) out[i] = requantize(acc[i]!, d, zeroPoint, qmin, qmax, rounding);
  return out;
}

/** Exact single rounding for any bigint x (the reference the fast path is checked against). */
export function requantizeSingleBig(x: bigint, d: Dyadic): bigint {
  const p = x * BigInt(d.m);
  if (d.s <= 0) return p << BigInt(-d.s);
  return (p + (1n << BigInt(d.s - 1))) >> BigInt(d.s);
}
