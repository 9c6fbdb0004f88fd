/**
 * A one-multiply 32-bit form of single-rounding requantization, for vector
 * units whose cheap multiply is 32 × 32 → low 32 bits (AVX2's vpmulld), found
 * per channel where it exists:
 *   y = clamp(rshr(acc·m, s) + z, lo, hi),  rshr(x, s) = ⌊(x + 2^(s−1)) / 2^s⌋
 * equals, for every int32 acc,
 *   u = min(max(acc, aLo), aHi) − aLo                       (0 ≤ u ≤ d = aHi − aLo)
 *   y = clamp(qz + ⌊(u·m' + r') / 2^s'⌋, lo, hi)            (0 ≤ u·m' + r' < 2^32: one multiply, exact as uint32)
 * with aLo, aHi, qz from requant-narrow.ts's clampedRequantBase (steps 1 and 2
 * there: below aLo the clamp gives lo, above aHi hi, and for u ≤ d the exact
 * value is qz + g(u), g(u) = ⌊(u·m + r) / 2^s⌋, 0 ≤ r < 2^s, so g(0) = 0).
 *
 * Search. g never decreases and takes the values 0 … G = g(d); it reaches k
 * first at t_k = ⌈(k·2^s − r) / m⌉ (t_0 = 0, t_(G+1) = d + 1). A candidate
 * (m' > 0, s') reproduces g on [0, d] iff some r' satisfies, for every k ≤ G,
 *   k·2^s' ≤ t_k·m' + r'   and   (t_(k+1) − 1)·m' + r' ≤ (k+1)·2^s' − 1
 * (u·m' + r' grows with u, so each step's constraints bind at its two ends).
 * The largest lower bound and smallest upper bound, also 0 ≤ r' and
 * d·m' + r' ≤ 2^32 − 1, give r' (the smallest one) or rule the candidate out.
 * Candidates: the three largest s' ≤ 31 that keep d·m' below 2^32, with
 * m' = ⌊m·2^(s'−s)⌋ and its neighbours. G is at most 1024 here (8-bit and
 * narrow outputs), so a channel costs at most some 12·G BigInt steps.
 * Every check is exact integer arithmetic; the test also compares the form
 * with the definition on every u of random channels.
 */
import { ceilDiv, clampedRequantBase } from "./requant-narrow.js";

/** Per-channel constants of the short form. */
export interface ShortRequant {
  readonly aLo: number;
  readonly aHi: number;
  /** q + z, int32. */
  readonly qz: number;
  /** 0 < m' < 2^32. */
  readonly m: number;
  /** 0 ≤ r' < 2^32. */
  readonly r: number;
  /** 0 ≤ s' ≤ 31. */
  readonly s: number;
}

const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;
const U32 = 2n ** 32n;
/** Steps of g tried at most (a 16-bit output range). */
const MAX_STEPS = 1024n;

/** The short form's constants for y = clamp(rshr(acc·m, s) + z, lo, hi), or undefined where no candidate reproduces it. */
export function shortRequant(mNum: number, sNum: number, z: number, lo: number, hi: number): ShortRequant | undefined {
  const base = clampedRequantBase(mNum, sNum, z, lo, hi);
  if (!base) return undefined;
  const { aLo, aHi, d, qz, r } = base;
  if (d >= U32 || qz < I32_MIN || qz > I32_MAX) return undefined;
  const m = BigInt(mNum);
  const one = 2n ** BigInt(sNum);
  const G = (d * m + r) / one;
  if (G >= MAX_STEPS || qz + G > I32_MAX) return undefined;
  // t[k]: the first u with g(u) ≥ k, k = 0 … G + 1
  const t: bigint[] = [0n];
  for (let k = 1n; k <= G; k++) t.push(ceilDiv(k * one - r, m));
  t.push(d + 1n);
  const fits = (mm: bigint, s2: number): bigint | undefined => {
    if (mm <= 0n || d * mm >= U32) return undefined;
    const unit = 1n << BigInt(s2);
    let rLo = 0n;
    let rHi = U32 - 1n - d * mm;
    for (let k = 0; k <= Number(G); k++) {
      const K = BigInt(k);
      const low = K * unit - t[k]! * mm;
      const high = (K + 1n) * unit - 1n - (t[k + 1]! - 1n) * mm;
      if (low > rLo) rLo = low;
      if (high < rHi) rHi = high;
      if (rLo > rHi) return undefined;
    }
    return rLo;
  };
  let tries = 0;
  for (let s2 = 31; s2 >= 0 && tries < 3; s2--) {
    const approx = (m << BigInt(s2)) / one; // ⌊m·2^(s'−s)⌋ (s' ≤ s or not: exact either way)
    if (approx === 0n) break;
    if (d * approx >= U32) continue;
    tries++;
    for (const mm of [approx, approx + 1n, approx - 1n, approx + 2n]) {
      const r2 = fits(mm, s2);
      if (r2 !== undefined) return { aLo: Number(aLo), aHi: Number(aHi), qz: Number(qz), m: Number(mm), r: Number(r2), s: s2 };
    }
  }
  return undefined;
}

/** The short form on one int32 accumulator, step by step as the vector code takes it (uint32 product and sum, logical shift). */
export function shortRequantApply(acc: number, k: ShortRequant, lo: number, hi: number): number {
  const u = Math.min(Math.max(acc, k.aLo), k.aHi) - k.aLo;
  const p = BigInt(u) * BigInt(k.m) + BigInt(k.r);
  if (p >= U32) throw new Error("short requant: the sum passed 2^32 (a bug in shortRequant)");
  const y = k.qz + Number(p >> BigInt(k.s));
  return y < lo ? lo : y > hi ? hi : y;
}
