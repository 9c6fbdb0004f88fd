/**
 * The references the requant-form tests (requant-narrow, requant-lanes) share:
 * clamp(⌊(acc·m + 2^(s−1)) / 2^s⌋ + z, lo, hi) computed in BigInt, apart from
 * numerics' own code, and fast-check's random parameters for it.
 */
import fc from "fast-check";

export const I32_MIN = -(2 ** 31);
export const I32_MAX = 2 ** 31 - 1;

/** clamp(⌊(acc·m + 2^(s−1)) / 2^s⌋ + z, lo, hi) in BigInt (the floor by hand: BigInt division truncates). */
export function reference(acc: number, m: number, s: number, z: number, lo: number, hi: number): number {
  const x = BigInt(acc) * BigInt(m) + 2n ** BigInt(s - 1);
  let q = x / 2n ** BigInt(s);
  if (q * 2n ** BigInt(s) > x) q -= 1n;
  const y = q + BigInt(z);
  return Number(y < BigInt(lo) ? BigInt(lo) : y > BigInt(hi) ? BigInt(hi) : y);
}

/** Random m (1 … 2^31 − 1), s (1 … maxS), z, lo, a clamp width, and up to 8 int32 accumulators. */
export function requantParams(maxS: number, z: number, lo: [number, number], width: number) {
  return fc.record({
    m: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    s: fc.integer({ min: 1, max: maxS }),
    z: fc.integer({ min: -z, max: z }),
    lo: fc.integer({ min: lo[0], max: lo[1] }),
    width: fc.integer({ min: 0, max: width }),
    accs: fc.array(fc.integer({ min: I32_MIN, max: I32_MAX }), { minLength: 1, maxLength: 8 }),
  });
}
