/**
 * A 31-bit form of single-rounding requantization, for code generators whose
 * vector units lack 64-bit multiplies and arithmetic shifts (AVX2):
 *   y = clamp(rshr(acc·m, s) + z, lo, hi),  rshr(x, s) = ⌊(x + 2^(s−1)) / 2^s⌋,  m > 0, 1 ≤ s ≤ 62
 * equals, for every int32 acc,
 *   u = min(max(acc, aLo), aHi) − aLo                         (0 ≤ u ≤ d = aHi − aLo)
 *   T0 = u·m0 + r0,  T_j = u·m_j + r_j + ⌊T_(j−1) / 2^t⌋ for j < n ≤ 4
 *   y = clamp(q + z + ⌊T_last / 2^(s − (n−1)·t)⌋, lo, hi)
 * where every value lies in [0, 2^31) (checked here for u = d, where each is largest).
 * Derivation:
 *  1. f(a) = rshr(a·m, s) never decreases in a (m > 0). aLo is the largest a with f(a) + z ≤ lo and aHi the
 *     smallest with f(a) + z ≥ hi (clipped to int32): below aLo and at aLo the clamp gives lo, at and above
 *     aHi it gives hi, so clamping acc into [aLo, aHi] first changes no result.
 *  2. With a = aLo + u and aLo·m + 2^(s−1) = q·2^s + r (0 ≤ r < 2^s): f(a) = q + ⌊(u·m + r) / 2^s⌋.
 *  3. Writing m and r in base 2^t, m = Σ m_j·2^(j·t), r = Σ r_j·2^(j·t) (the top digits take the rest),
 *     ⌊(X·2^t + Y) / 2^t⌋ = X + ⌊Y / 2^t⌋ for integers gives T_last = ⌊(u·m + r) / 2^((n−1)·t)⌋, and
 *     nested floors compose: ⌊T_last / 2^(s−(n−1)·t)⌋ = ⌊(u·m + r) / 2^s⌋.
 * All the work is one int32 clamp, n 32-bit multiplies, adds and shifts of non-negative int32 values.
 * The form exists where some n ≤ 4 and t keep every T below 2^31 (8-bit outputs: s up to about 46).
 */
import { clampE } from "./definitions.js";
import { add, type Expr, let_, max, min, mul, shr, sub, v } from "./expr.js";

/** Per-channel constants of the narrow form. */
export interface NarrowRequant {
  readonly aLo: number;
  readonly aHi: number;
  /** q + z. */
  readonly qz: number;
  /** Base-2^t digits of m and r, lowest first (length n). */
  readonly m: readonly number[];
  readonly r: readonly number[];
  readonly t: number;
  /** s − (n − 1)·t. */
  readonly s2: number;
}

const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;
const LIMIT = 2n ** 31n;

/** ⌈a / b⌉ for b > 0. */
export const ceilDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return q * b < a ? q + 1n : q; // b > 0; BigInt division truncates toward zero
};
const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return q * b > a ? q - 1n : q;
};

/**
 * Steps 1 and 2 of the derivation, shared with the 64-bit lane form (requant-lanes.ts):
 * the clamp points aLo ≤ aHi (clipped to int32), d = aHi − aLo, and aLo·m + 2^(s−1) = q·2^s + r
 * with 0 ≤ r < 2^s and qz = q + z; undefined for m ≤ 0, s outside 1…63 or lo > hi.
 */
export function clampedRequantBase(mNum: number, sNum: number, z: number, lo: number, hi: number): { aLo: bigint; aHi: bigint; d: bigint; q: bigint; qz: bigint; r: bigint } | undefined {
  if (!(mNum > 0) || !Number.isInteger(mNum) || !Number.isInteger(sNum) || sNum < 1 || sNum > 63 || lo > hi) return undefined;
  const m = BigInt(mNum);
  const s = BigInt(sNum);
  const half = 2n ** (s - 1n);
  const one = 2n ** s;
  const clip = (a: bigint) => (a < I32_MIN ? I32_MIN : a > I32_MAX ? I32_MAX : a);
  // 1: f(a) ≥ L ⟺ a·m + 2^(s−1) ≥ L·2^s ⟺ a ≥ ⌈(L·2^s − 2^(s−1)) / m⌉
  const aLo = clip(ceilDiv(BigInt(lo - z + 1) * one - half, m) - 1n);
  let aHi = clip(ceilDiv(BigInt(hi - z) * one - half, m));
  if (aHi < aLo) aHi = aLo;
  // 2
  const T = aLo * m + half;
  const q = floorDiv(T, one);
  return { aLo, aHi, d: aHi - aLo, q, qz: q + BigInt(z), r: T - q * one };
}

/** The narrow form's constants for y = clamp(rshr(acc·m, s) + z, lo, hi), or undefined where no n ≤ 4 fits in 31 bits. */
export function narrowRequant(mNum: number, sNum: number, z: number, lo: number, hi: number): NarrowRequant | undefined {
  if (sNum > 62) return undefined;
  const clamped = clampedRequantBase(mNum, sNum, z, lo, hi);
  if (!clamped) return undefined;
  const { aLo, aHi, d, qz, r } = clamped;
  if (d >= LIMIT) return undefined;
  if (qz < I32_MIN || qz > I32_MAX) return undefined;
  const m = BigInt(mNum);
  const s = BigInt(sNum);
  // 3: the fewest levels, then the largest digit width, whose worst case fits
  for (let n = 1; n <= 4; n++) {
    for (let tNum = 31; tNum >= 1; tNum--) {
      const t = BigInt(tNum);
      const low = BigInt(n - 1) * t;
      if (low > s) continue;
      const base = 2n ** t;
      const digits = (x: bigint) => Array.from({ length: n }, (_, j) => (j === n - 1 ? x >> (BigInt(j) * t) : (x >> (BigInt(j) * t)) % base));
      const md = digits(m);
      const rd = digits(r);
      let prev = 0n;
      let ok = true;
      for (let j = 0; j < n && ok; j++) {
        const Tj = d * md[j]! + rd[j]! + (j === 0 ? 0n : prev >> t);
        if (md[j]! >= LIMIT || rd[j]! >= LIMIT || Tj >= LIMIT) ok = false;
        prev = Tj;
      }
      if (ok) return { aLo: Number(aLo), aHi: Number(aHi), qz: Number(qz), m: md.map(Number), r: rd.map(Number), t: tNum, s2: Number(s - low) };
    }
  }
  return undefined;
}

/**
 * The narrow form as an expression of acc and the per-channel constants,
 * named alo, ahi, qz, m0…, r0…, t, s2 (n levels): every intermediate in [0, 2^31)
 * except acc and the clamp's operands, which are int32.
 */
export function narrowRequantE(acc: Expr, n: number, lo: number, hi: number): Expr {
  return let_("u", sub(min(max(acc, v("alo")), v("ahi")), v("alo")), (u) => {
    let T: Expr = add(mul(u, v("m0")), v("r0"));
    for (let j = 1; j < n; j++) T = add(add(mul(u, v(`m${j}`)), v(`r${j}`)), shr(T, v("t")));
    return clampE(add(v("qz"), shr(T, v("s2"))), lo, hi);
  });
}
