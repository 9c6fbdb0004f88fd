/**
 * A 64-bit-lane form of single-rounding requantization, for vector units that
 * multiply 32 × 32 → 64 bits unsigned and shift 64-bit lanes logically, but
 * have no 64-bit arithmetic shift (AVX2's vpmuludq, vpsrlq):
 *   y = clamp(rshr(acc·m, s) + z, lo, hi),  rshr(x, s) = ⌊(x + 2^(s−1)) / 2^s⌋,  0 < m < 2^32, 1 ≤ s ≤ 63
 * equals, for every int32 acc,
 *   u = min(max(acc, aLo), aHi) − aLo                  (0 ≤ u ≤ d = aHi − aLo < 2^32)
 *   P = u·m + r                                        (0 ≤ P < 2^64: checked here for u = d)
 *   y = clamp(qz + ⌊P / 2^s⌋, lo, hi)                  (the add modulo 2^32, exact: see below)
 * with aLo, aHi, qz = q + z and r from steps 1 and 2 of requant-narrow.ts
 * (clampedRequantBase): below aLo the clamp gives lo, above aHi it gives hi,
 * and for aLo ≤ acc ≤ aHi, rshr(acc·m, s) = q + ⌊(u·m + r) / 2^s⌋.
 * Taking ⌊P / 2^s⌋ modulo 2^32 and adding qz modulo 2^32 is exact because the
 * true sum, rshr(acc·m, s) + z for acc in [aLo, aHi], lies in int32 (checked
 * here at both ends; the function never decreases). The odd 32-bit lanes of a
 * vector need ⌊P / 2^s⌋ in the high half of a 64-bit lane: bits s … s+31 of P,
 * which are P >> (s − 32) for s ≥ 32 and P << (32 − s) otherwise.
 * Unlike the narrow form this one exists for every shift and output width
 * where the sum fits int32; no multiplier split.
 */
import { clampedRequantBase } from "./requant-narrow.js";

/** Per-channel constants of the lane form. */
export interface LaneRequant {
  readonly aLo: number;
  readonly aHi: number;
  /** q + z, int32. */
  readonly qz: number;
  /** The multiplier, 0 < m < 2^32. */
  readonly m: number;
  /** The remainder of aLo·m + 2^(s−1), 0 ≤ r < 2^s (may pass 2^53: a bigint). */
  readonly r: bigint;
  readonly s: number;
}

const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;
const U64 = 2n ** 64n;

/** The lane form's constants for y = clamp(rshr(acc·m, s) + z, lo, hi), or undefined where P or the sum would not fit. */
export function laneRequant(m: number, s: number, z: number, lo: number, hi: number): LaneRequant | undefined {
  if (!(m < 2 ** 32)) return undefined;
  const base = clampedRequantBase(m, s, z, lo, hi);
  if (!base) return undefined;
  const { aLo, aHi, d, qz, r } = base;
  const top = d * BigInt(m) + r;
  if (top >= U64) return undefined;
  const last = qz + (top >> BigInt(s));
  if (qz < I32_MIN || qz > I32_MAX || last < I32_MIN || last > I32_MAX) return undefined;
  return { aLo: Number(aLo), aHi: Number(aHi), qz: Number(qz), m, r, s };
}

/**
 * The lane form on one int32 accumulator, step by step as the vector code
 * takes it (32-bit lanes, a 64-bit unsigned product and shift, a wrapping
 * 32-bit add), in BigInt: what the C is tested against besides the definition.
 */
export function laneRequantApply(acc: number, k: LaneRequant, lo: number, hi: number): number {
  const u = BigInt(Math.min(Math.max(acc, k.aLo), k.aHi) - k.aLo); // u32
  const P = (u * BigInt(k.m) + k.r) % U64;
  const low = (P >> BigInt(k.s)) % 2n ** 32n;
  const y = Number(BigInt.asIntN(32, BigInt(k.qz) + low));
  return y < lo ? lo : y > hi ? hi : y;
}
