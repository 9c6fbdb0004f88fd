/**
 * The one-multiply short requant form (numerics/requant-short.ts), applied as
 * the vector code takes it (shortRequantApply: a uint32 product and sum that
 * must stay below 2^32, a logical shift), equals requantize's single rounding
 * on every accumulator from below aLo to above aHi (so on every step of the
 * function) for channels with realistic conv multipliers (m in [2^30, 2^31),
 * shifts 30…40, 8-bit and ReLU6-like outputs); over random parameters
 * against an independent BigInt reference (fast-check); and is absent where
 * it cannot exist.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { requantize } from "../../src/numerics/requant.js";
import { shortRequant, shortRequantApply } from "../../src/numerics/requant-short.js";
import { Rng } from "../helpers/prng.js";
import { I32_MAX, I32_MIN, reference, requantParams } from "./requant-reference.js";

describe("short requant form", () => {
  it("equals the definition on every accumulator around [aLo, aHi], realistic channels", () => {
    const rng = new Rng(41);
    let found = 0;
    let checked = 0;
    const tries = 48;
    for (let t = 0; t < tries; t++) {
      const m = 2 ** 30 + rng.int(2 ** 30);
      const s = 30 + rng.int(11);
      const [z, lo, hi] = t % 3 === 0 ? [0, 0, 255] : t % 3 === 1 ? [-7, -128, 127] : [3, 3, 200];
      const k = shortRequant(m, s, z, lo, hi);
      if (!k) continue;
      found++;
      expect(k.aHi - k.aLo).toBeLessThan(2 ** 20); // keeps this loop short
      for (let acc = k.aLo - 3; acc <= k.aHi + 3; acc++) {
        const want = requantize(acc, { m, s }, z, lo, hi, "single");
        const got = shortRequantApply(acc, k, lo, hi);
        if (got !== want) expect({ acc, m, s, got }).toEqual({ acc, m, s, got: want });
        checked++;
      }
      for (const acc of [I32_MIN, -1, 0, 1, I32_MAX]) expect(shortRequantApply(acc, k, lo, hi)).toBe(requantize(acc, { m, s }, z, lo, hi, "single"));
    }
    expect(found).toBeGreaterThan(tries / 3); // the search finds most of them
    expect(checked).toBeGreaterThan(100_000);
  });

  it("equals clamp(rshr(acc·m, s) + z, lo, hi) for random parameters and accumulators (fast-check)", () => {
    const params = requantParams(63, 300, [-300, 100], 400);
    let found = 0;
    fc.assert(
      fc.property(params, ({ m, s, z, lo, width, accs }) => {
        const hi = lo + width;
        const k = shortRequant(m, s, z, lo, hi);
        if (!k) return;
        found++;
        const mid = Math.floor((k.aLo + k.aHi) / 2);
        for (const acc of [...accs, k.aLo - 1, k.aLo, k.aLo + 1, mid, mid + 1, k.aHi - 1, k.aHi, k.aHi + 1].filter((a) => a >= I32_MIN && a <= I32_MAX)) {
          expect(shortRequantApply(acc, k, lo, hi)).toBe(reference(acc, m, s, z, lo, hi));
        }
      }),
      { numRuns: 300, seed: 23 },
    );
    expect(found).toBeGreaterThan(30);
  });

  it("is absent where it cannot exist: m ≤ 0, a shift outside 1…63, more than 1024 output steps", () => {
    expect(shortRequant(0, 36, 0, 0, 255)).toBeUndefined();
    expect(shortRequant(2 ** 30, 0, 0, 0, 255)).toBeUndefined();
    expect(shortRequant(2 ** 30, 64, 0, 0, 255)).toBeUndefined();
    expect(shortRequant(2 ** 30, 36, 0, -32768, 32767)).toBeUndefined();
  });
});
