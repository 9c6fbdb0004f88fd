/**
 * The 64-bit lane requant form (numerics/requant-lanes.ts), applied step by
 * step as the vector code takes it (laneRequantApply: u32 lanes, a u64
 * product and shift, a wrapping int32 add), equals requantize's single
 * rounding, and an independent BigInt clamp(⌊(acc·m + 2^(s−1)) / 2^s⌋ + z),
 * on the int32 extremes, the clamp points and their neighbours, rounding ties,
 * for every shift 1…63 and multipliers up to 2^31 − 1, on 8-, 16- and 32-bit
 * output ranges; and over random parameters (fast-check).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { requantize } from "../../src/numerics/requant.js";
import { laneRequant, laneRequantApply } from "../../src/numerics/requant-lanes.js";
import { I32_MAX, I32_MIN, reference, requantParams } from "./requant-reference.js";

/** An accumulator whose product with m lies exactly halfway (acc·m ≡ 2^(s−1) mod 2^s), where one exists in int32 (m odd, s ≤ 31). */
function tie(m: number, s: number): number | undefined {
  if (m % 2 === 0 || s > 31) return undefined;
  const mod = 2n ** BigInt(s);
  let inv = 1n; // m^−1 mod 2^s by Newton's iteration
  for (let k = 0; k < 6; k++) inv = (inv * (2n - BigInt(m) * inv)) % mod;
  const a = ((((2n ** BigInt(s - 1) * inv) % mod) + mod) % mod);
  return a <= BigInt(I32_MAX) ? Number(a) : undefined;
}

/** The accumulators every case is checked on. */
function edges(k: { aLo: number; aHi: number }, m: number, s: number): number[] {
  const t = tie(m, s);
  const xs = [I32_MIN, I32_MIN + 1, -1, 0, 1, I32_MAX - 1, I32_MAX, k.aLo - 1, k.aLo, k.aLo + 1, k.aHi - 1, k.aHi, k.aHi + 1, Math.floor((k.aLo + k.aHi) / 2)];
  if (t !== undefined) xs.push(t, t - 1, t + 1, -t, -t + 1);
  return xs.filter((x) => x >= I32_MIN && x <= I32_MAX);
}

const RANGES: [string, number, number, number][] = [
  ["uint8", 0, 0, 255],
  ["uint8 ReLU6", 3, 3, 200],
  ["int8", -5, -128, 127],
  ["int16", 7, -32768, 32767],
  ["uint16", 100, 0, 65535],
  ["int32", 0, I32_MIN, I32_MAX],
];

describe("64-bit lane requant form", () => {
  it.each(RANGES)("equals the definition for every shift 1…63 and edge multipliers (%s)", (_, z, lo, hi) => {
    let checked = 0;
    for (let s = 1; s <= 63; s++) {
      for (const m of [1, 3, 2 ** 30, 2 ** 30 + 1, 1_500_000_001, 2 ** 31 - 1]) {
        const k = laneRequant(m, s, z, lo, hi);
        if (hi - lo < 2 ** 16) expect(k, `m ${m}, s ${s}`).toBeDefined(); // 8- and 16-bit outputs: always
        if (!k) continue;
        for (const acc of edges(k, m, s)) {
          const want = requantize(acc, { m, s }, z, lo, hi, "single");
          expect(reference(acc, m, s, z, lo, hi)).toBe(want);
          expect(laneRequantApply(acc, k, lo, hi), `acc ${acc}, m ${m}, s ${s}`).toBe(want);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it("is absent where it cannot hold the value: m ≤ 0, a shift outside 1…63, an int32 output stepping past int32", () => {
    expect(laneRequant(0, 40, 0, 0, 255)).toBeUndefined();
    expect(laneRequant(2 ** 30, 0, 0, 0, 255)).toBeUndefined();
    expect(laneRequant(2 ** 30, 64, 0, 0, 255)).toBeUndefined();
    // M = 2^20: the first accumulator reaching INT32_MAX, 2048, gives 2^31, past it
    expect(laneRequant(2 ** 30, 10, 0, I32_MIN, I32_MAX)).toBeUndefined();
  });

  it("equals clamp(rshr(acc·m, s) + z, lo, hi) for random parameters and accumulators (fast-check)", () => {
    const params = requantParams(63, 300, [-40000, 100], 70000);
    let found = 0;
    fc.assert(
      fc.property(params, ({ m, s, z, lo, width, accs }) => {
        const hi = lo + width;
        const k = laneRequant(m, s, z, lo, hi);
        if (!k) return;
        found++;
        for (const acc of [...accs, ...edges(k, m, s)]) expect(laneRequantApply(acc, k, lo, hi)).toBe(reference(acc, m, s, z, lo, hi));
      }),
      { numRuns: 400, seed: 17 },
    );
    expect(found).toBeGreaterThan(300);
  });
});
