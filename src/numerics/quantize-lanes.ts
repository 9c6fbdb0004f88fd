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
