/**
 * The C (and C++) runtime the transformer ops' bodies (transformer-c.ts)
 * call, printed once per file after print-c.ts's C_RUNTIME: the exact
 * integer square root, floor division, the int32 store of the emulator, and
 * the division by a per-row divisor through its reciprocal
 * (fixq_div_clamp), with the bounds under which the emitters may take it:
 *   fixq_div_clamp(n, d) = clamp(⌊n / d⌋, qlo, qhi), exact: an estimate
 *   q = ((t >> sh)·rec) >> 46 of ⌊t / d⌋ (t = n − qlo·d), corrected until
 *   0 ≤ t − q·d < d.
 */
import type { LayerNormOp } from "../../integer/program.js";
import { cInt } from "./print-c.js";

/** The helpers the bodies call (C and C++), printed once per file after print-c.ts's C_RUNTIME. */
export const TRANSFORMER_RUNTIME = `/* An id outside its embedding table (gather). */
#ifndef FIXQ_EINDEX
#define FIXQ_EINDEX 2
#endif

/* floor(sqrt(n)) for 0 <= n < 2^62, exactly: digit by digit in base 4, integers only. */
static inline int64_t fixq_isqrt64(int64_t n) {
  uint64_t x = (uint64_t)n, r = 0, bit = (uint64_t)1 << 62;
  while (bit > x) bit >>= 2;
  while (bit != 0) { /* without a branch on the digit (it is unpredictable): masks */
    const uint64_t t = r + bit, take = (uint64_t)0 - (uint64_t)(x >= t);
    x -= t & take;
    r = (r >> 1) + (bit & take);
    bit >>= 2;
  }
  return (int64_t)r;
}

/* floor(a / b) for b > 0 (C's / truncates toward zero). */
static inline int64_t fixq_floordiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* A divisor d >= 1 and the reciprocal fixq_div_clamp estimates its quotients with:
 * sh = max(0, bitlength(d) - 31), rec = floor(2^46 / (d >> sh)) (so rec <= 2^16 where sh > 0). */
typedef struct { int64_t d; uint64_t rec; int sh; } fixq_recip;
static inline int fixq_bitlen64(uint64_t v) {
  int e = 0;
  if (v >> 32) { v >>= 32; e += 32; }
  if (v >> 16) { v >>= 16; e += 16; }
  if (v >> 8) { v >>= 8; e += 8; }
  if (v >> 4) { v >>= 4; e += 4; }
  if (v >> 2) { v >>= 2; e += 2; }
  if (v >> 1) { v >>= 1; e += 1; }
  return e + (int)v;
}
static inline fixq_recip fixq_recip_of(int64_t d) {
  const int e = fixq_bitlen64((uint64_t)d);
  fixq_recip r;
  r.d = d;
  r.sh = e > 31 ? e - 31 : 0;
  r.rec = ((uint64_t)1 << 46) / ((uint64_t)d >> r.sh);
  return r;
}

/* clamp(floor(n / d), qlo, qhi) for qlo <= qhi, without a division per call: outside
 * [qlo·d, (qhi + 1)·d) the bound; inside, t = n − qlo·d < W·d (W = qhi − qlo + 1), an estimate
 * q = ((t >> sh)·rec) >> 46, then corrected until 0 <= t − q·d < d, which makes q = floor(t / d)
 * whatever the estimate (it is off by a few at most, so q <= W). Exact where W <= 2^16 and
 * max(|qlo|, |qhi + 1|, W + 1)·d < 2^63: every product then stays below 2^63 ((t >> sh)·rec < W·2^47),
 * which the emitters check from the operands' bounds (divClampFits). */
static inline int64_t fixq_div_clamp(int64_t n, fixq_recip r, int64_t qlo, int64_t qhi) {
  const int64_t lo = qlo * r.d;
  int64_t t, q, rem;
  if (n < lo) return qlo;
  if (n >= (qhi + 1) * r.d) return qhi;
  t = n - lo;
  q = (int64_t)((((uint64_t)t >> r.sh) * r.rec) >> 46);
  rem = t - q * r.d;
  while (rem < 0) { q--; rem += r.d; }
  while (rem >= r.d) { q++; rem -= r.d; }
  return qlo + q;
}

/* v modulo 2^32 as int32 (an Int32Array store), without an implementation-defined conversion. */
static inline int32_t fixq_wrap32(int64_t v) {
  const uint32_t u = (uint32_t)((uint64_t)v & 0xffffffffu);
  return u <= 0x7fffffffu ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}`;

/** z + clamp(floor(n / d), lo − z, hi − z) = clamp(z + floor(n / d), lo, hi), through fixq_div_clamp (r: n's divisor's fixq_recip). */
export function divClamped(n: string, r: string, op: { outZero: number; clampLo: number; clampHi: number }): string {
  return `${cInt(op.outZero)} + fixq_div_clamp(${n}, ${r}, ${cInt(op.clampLo - op.outZero)}, ${cInt(op.clampHi - op.outZero)})`;
}

/**
 * Whether fixq_div_clamp is exact for divisors up to `dMax` and this output clamp (qlo = lo − z,
 * qhi = hi − z): qlo ≤ qhi, W = qhi − qlo + 1 ≤ 2^16, and max(|qlo|, |qhi + 1|, W + 1)·dMax < 2^63.
 */
export function divClampFits(dMax: bigint, op: { outZero: number; clampLo: number; clampHi: number }): boolean {
  const [qlo, qhi] = [op.clampLo - op.outZero, op.clampHi - op.outZero];
  const w = qhi - qlo + 1;
  return qlo <= qhi && w <= 2 ** 16 && BigInt(Math.max(Math.abs(qlo), Math.abs(qhi + 1), w + 1)) * dMax < 2n ** 63n;
}

/**
 * A bound on a layernorm row's divisor D·2^F over inputs in [lo, hi]: c_i = C·x_i − s with
 * |c_i| ≤ (C − 1)·(hi − lo) (layernorm, s = Σ x) or C·max|x − z| (RMSNorm), V = Σ c_i² ≤ C·max c²,
 * D = ⌊√(V·4^k + E)⌋.
 */
export function layerNormDenMax(op: LayerNormOp, C: number, r: { lo: number; hi: number }): bigint {
  const c = BigInt(op.rmsZero === undefined ? (C - 1) * (r.hi - r.lo) : C * Math.max(Math.abs(r.lo - op.rmsZero), Math.abs(r.hi - op.rmsZero)));
  const n = BigInt(C) * c * c * 4n ** BigInt(op.varShift) + BigInt(op.epsilon);
  let d = 1n;
  while (d * d <= n) d *= 2n; // a power of two above √n: a bound is all that is needed
  return d * 2n ** BigInt(op.fracBits);
}
