/**
 * A vector-lane form of ONNX QuantizeLinear (definitions.ts, quantizeDef),
 *   q = clamp(roundHalfEven(float32(x / scale)) + z, qmin, qmax)
 * (a NaN x gives NaN there, which the integer conversion of the generated
 * code, fixq_d2i32, and the emulator map to 0), for vector units with IEEE
 * double lanes (AVX2: 4 lanes per register):
 *   d = double(x) / scale                          vcvtps2pd, vdivpd          (correctly rounded, as the scalar division)
 *   f = double(float32(d))                         vcvtpd2ps, vcvtps2pd       (round to nearest even, as Math.fround)
 *   r = nearestEven(f) + z                         vroundpd(TO_NEAREST_INT), vaddpd
 *   c = min(max(r, qmin), qmax)                    vmaxpd, vminpd
 *   q = ordered(r) ? c : 0                         vcmppd(ORD), vandpd
 *   integer q                                      vcvttpd2dq (c is an integer in [qmin, qmax] ⊂ int32: exact)
 * Why it equals the definition. Division and the float32 rounding are IEEE
 * operations, correctly rounded in both (the same MXCSR mode, round to nearest,
 * in scalar and vector code). roundHalfEven (definitions.ts: t = ⌊v⌋,
 * f = v − t, then the tie rule) is IEEE roundToIntegralTiesToEven: for
 * |v| < 2^52, v − ⌊v⌋ is exact and the cases are those of ties-to-even; for
 * |v| ≥ 2^52, v is an integer, f = 0 and both give v; ±∞ gives ±∞ in both
 * (f = NaN: the first case returns t); NaN gives NaN in both. Adding z is the
 * same double addition (−0 + 0 = +0 differs from −0 only in sign, which
 * no later step reads). vmaxpd / vminpd return their second operand when an
 * operand is NaN, so a NaN r becomes qmin there, and the ordered mask turns
 * it into +0, which is what the conversion of the scalar NaN gives. ±∞ clamps
 * to qmax / qmin in both. Denormals: every step is the same IEEE operation in
 * scalar and vector form, under the same MXCSR (no flush-to-zero unless the
 * program sets it, for both alike).
 */

const TWO52 = 2 ** 52;

/** IEEE roundToIntegralTiesToEven as vroundpd computes it (the 2^52 trick: a different route from roundHalfEvenDef's ⌊v⌋ cases). */
export function nearestEven(v: number): number {
  if (!(Math.abs(v) < TWO52)) return v; // NaN, ±∞, and integers already
  const a = Math.abs(v);
  const r = a + TWO52 - TWO52; // the addition rounds a to an integer, ties to even
  return v < 0 || Object.is(v, -0) ? -r : r;
}

/** x86 maxpd / minpd lane semantics: the second operand where either is NaN (or both are zeros). */
const maxpd = (a: number, b: number) => (a > b ? a : b);
const minpd = (a: number, b: number) => (a < b ? a : b);

/** The lane form on one float32 x, step by step as the vector code takes it: the integer q it stores. */
export function laneQuantizeApply(x: number, scale: number, z: number, qmin: number, qmax: number): number {
  const d = x / scale;
  const f = Math.fround(d);
  const r = nearestEven(f) + z;
  const c = minpd(maxpd(r, qmin), qmax);
  const q = Number.isNaN(r) ? 0 : c; // the ordered mask
  return Math.trunc(q) + 0; // + 0: the integer conversion has no −0
}

/**
 * The reciprocal lane form: the same q without a division per value, for
 * vector units with float32 lanes (AVX2: 8 per register). With ρ = float32(1/scale)
 * (a normal float32, else the form is off: reciprocalLanes), per lane
 *   p = float32(x · ρ)                               vmulps
 *   k = nearestEven(p)                               vroundps(TO_NEAREST_INT)
 *   t = float32(|p − k| + float32(|p| · c))          vsubps, vandps, vmulps, vaddps;   c = 2^−21
 *   decided ⇔ t < ½ − c                              vcmpps(LT_OQ)   (false for NaN and ±∞: ∞ − ∞ = NaN)
 * and where every lane of a vector is decided, q = clamp(k + z, qmin, qmax) in
 * int32 lanes; otherwise the whole vector takes laneQuantizeApply (the
 * exact division).
 *
 * Why a decided lane's k is the definition's roundHalfEven(float32(d)),
 * d = double(x / scale) (u = 2^−24; Q = x / scale exactly; every absolute
 * term ≤ 2^−149 covers float32 underflow; doubles never underflow or overflow
 * here, as |Q| ∈ [2^−277, 2^277]):
 *  1. ρ = (1/scale)(1 + ε₁), |ε₁| ≤ u(1 + 2^−28) (1/scale rounded to double, then to float32);
 *     p = x·ρ(1 + ε₂) + η, |ε₂| ≤ u, |η| ≤ 2^−150; so |p − Q| ≤ 2u(1 + 2^−20)|Q| + 2^−150.
 *  2. |d − Q| ≤ 2^−53|Q|, so |d − p| ≤ δ := 2u(1 + 2^−19)|Q| + 2^−150.
 *  3. p − k is exact (Sterbenz, or k = 0, or p an integer), |p|·c exact but
 *     for underflow, and the float32 sum t ≥ (|p − k| + |p|c − 2^−150)(1 − u); so
 *     t < ½ − c gives |p − k| + |p|c < (½ − c)/(1 − u) + 2^−150, so
 *     m := ½ − |p − k| > c(1 + |p|) − 2^−24 (and |p| < 2^20).
 *  4. float32(d) lies within u|d| + 2^−150 of d, and |Q| ≤ |p|(1 + 2^−22) + 2^−149, so
 *     |float32(d) − k| ≤ ½ − m + δ + u|d| + 2^−150 < ½ − m + 3u(1 + 2^−18)|p| + 2^−146
 *                      < ½ − c(1 + |p|) + 2^−24 + 2^−22.4|p| + 2^−146 < ½,
 *     since c = 2^−21 exceeds both 2^−24 + 2^−146 and 3u(1 + 2^−18) < 2^−22.4.
 *  5. A value strictly within ½ of the integer k rounds to k (any tie rule):
 *     roundHalfEven(float32(d)) = k, and |k| < 2^20 makes k + z exact in int32
 *     (the emitter takes the form where |z| < 2^30), so the clamps agree.
 * The form leaves to the division exactly the lanes within c(1 + |p|) of a
 * half-integer (about 1.2·10^−4 of uniform values at |p| ≈ 128), NaN, ±∞
 * and |p| ≥ 2^20. Every step is an IEEE float32 operation; in JS each is a
 * double operation followed by Math.fround, which gives the float32 result
 * for a product of two float32 (exact in double) and for a sum (double
 * rounding is innocuous for float32 +, − and × through double).
 */
export const RECIPROCAL_MARGIN = 2 ** -21;
/** ½ − c: a float32 (20 significant bits). */
export const RECIPROCAL_LIMIT = 0.5 - RECIPROCAL_MARGIN;

/** ρ = float32(1/scale) for a float32 scale, where it is a normal float32 and the reciprocal form applies; undefined elsewhere. */
export function reciprocalOf(scale: number): number | undefined {
  const rho = Math.fround(1 / Math.fround(scale));
  return rho >= 2 ** -126 && rho < 2 ** 128 ? rho : undefined;
}

/** The reciprocal form's k for one float32 x (step by step as the vector code), or undefined where the lane is not decided. */
export function reciprocalLaneK(x: number, rho: number): number | undefined {
  const p = Math.fround(x * rho);
  const k = nearestEven(p);
  const t = Math.fround(Math.abs(p - k) + Math.fround(Math.abs(p) * RECIPROCAL_MARGIN));
  return t < RECIPROCAL_LIMIT ? k : undefined;
}

/** The integer q the reciprocal form stores for one float32 x (a decided lane, or the division's lane form). */
export function reciprocalQuantizeApply(x: number, scale: number, z: number, qmin: number, qmax: number): number {
  const rho = reciprocalOf(scale);
  const k = rho === undefined || Math.abs(z) >= 2 ** 30 ? undefined : reciprocalLaneK(x, rho);
  if (k === undefined) return laneQuantizeApply(x, scale, z, qmin, qmax);
  return Math.min(Math.max(k + z, qmin), qmax) + 0;
}
