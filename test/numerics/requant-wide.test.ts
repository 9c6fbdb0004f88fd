/**
 * requant-wide.ts's cases, evaluated exactly (expr-range.ts's exactValue, no
 * 2^53 limit), equal requant.ts for every channel case of both roundings:
 * single rounding against requantizeSingleBig (BigInt), double rounding
 * against requantizeDouble, over random int32 accumulators and the extremes,
 * random multipliers m ∈ [2^30, 2^31) and shifts covering every case; the
 * left case refuses exactly where requantizeDouble does. And expr-range.ts's
 * bounds hold: values at random points of a box lie within rangeOf of the box.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clampE, requantCaseOf, SINGLE_CASES } from "../../src/numerics/definitions.js";
import { num, v } from "../../src/numerics/expr.js";
import { bigRangeWidth, exactValue, rangeOf } from "../../src/numerics/expr-range.js";
import { requantizeDouble, requantizeSingleBig } from "../../src/numerics/requant.js";
import { DOUBLE_WIDE_CASES, SINGLE_WIDE_CASES } from "../../src/numerics/requant-wide.js";

const acc = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, -1, 0, 1), fc.integer({ min: -300, max: 300 }));
const mult = fc.oneof(fc.integer({ min: 2 ** 30, max: 2 ** 31 - 1 }), fc.constant(0));
const wide = (cases: Record<string, (a: ReturnType<typeof v>, m: ReturnType<typeof v>, s: ReturnType<typeof v>) => ReturnType<typeof v>>, k: string) =>
  cases[k]!(v("acc"), v("m"), v("s"));

describe("requant in wide integers equals requant.ts", () => {
  it("single rounding, every case (s from -22 to 70)", () => {
    fc.assert(
      fc.property(acc, mult, fc.integer({ min: -22, max: 70 }), (a, m, s) => {
        const k = requantCaseOf({ m, s }, "single");
        const got = exactValue(wide(SINGLE_WIDE_CASES, k), { acc: BigInt(a), m: BigInt(m), s: BigInt(s) });
        const want = m === 0 || s >= 64 ? 0n : requantizeSingleBig(BigInt(a), { m, s });
        expect(got).toBe(want);
      }),
      { numRuns: 3000, seed: 3 },
    );
    // the same case names as definitions.ts's
    expect(Object.keys(SINGLE_WIDE_CASES).sort()).toEqual(Object.keys(SINGLE_CASES).sort());
  });

  it("double rounding, every case, refusing where requantizeDouble does", () => {
    fc.assert(
      fc.property(acc, mult, fc.integer({ min: 0, max: 62 }), (a, m, s) => {
        const k = requantCaseOf({ m, s }, "double");
        let want: bigint | string;
        try {
          want = BigInt(requantizeDouble(a, { m, s }));
        } catch {
          want = "refused";
        }
        let got: bigint | string;
        try {
          got = exactValue(wide(DOUBLE_WIDE_CASES, k), { acc: BigInt(a), m: BigInt(m), s: BigInt(s) });
        } catch {
          got = "refused";
        }
        expect(got).toBe(want);
      }),
      { numRuns: 3000, seed: 4 },
    );
  });

  it("rangeOf bounds every value over a box, and the product acc·m takes W_acc + 31 bits", () => {
    const e = wide(SINGLE_WIDE_CASES, "high");
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 2 }), fc.integer({ min: 1, max: 2 ** 20 }), fc.integer({ min: 17, max: 40 }), fc.integer({ min: 0, max: 6 }), (lo, span, s0, ds) => {
        const hi = Math.min(2 ** 31 - 1, lo + span);
        const box = new Map([
          ["acc", { lo: BigInt(lo), hi: BigInt(hi) }],
          ["m", { lo: 2n ** 30n, hi: 2n ** 31n - 1n }],
          ["s", { lo: BigInt(s0), hi: BigInt(s0 + ds) }],
        ]);
        const r = rangeOf(e, box);
        for (const [a, m, s] of [
          [lo, 2 ** 30, s0],
          [hi, 2 ** 31 - 1, s0],
          [lo, 2 ** 31 - 1, s0 + ds],
          [Math.floor((lo + hi) / 2), 1518500250, s0 + (ds >> 1)],
        ] as const) {
          const x = exactValue(e, { acc: BigInt(a), m: BigInt(m), s: BigInt(s) });
          expect(x >= r.lo && x <= r.hi).toBe(true);
        }
      }),
      { numRuns: 300, seed: 5 },
    );
    const product = rangeOf({ k: "mul", a: v("acc"), b: v("m") }, new Map([["acc", { lo: -(2n ** 23n), hi: 2n ** 23n - 1n }], ["m", { lo: 0n, hi: 2n ** 31n - 1n }]]));
    expect(bigRangeWidth(product)).toEqual({ bits: 24 + 31, signed: true });
    expect(bigRangeWidth(rangeOf(num(255), new Map()))).toEqual({ bits: 8, signed: false });
    expect(bigRangeWidth({ lo: -128n, hi: 127n })).toEqual({ bits: 8, signed: true });
    // a clamp's branches see the bound their condition implies: the result is exactly [lo, hi]
    expect(rangeOf(clampE(v("x"), -128, 127), new Map([["x", { lo: -(2n ** 40n), hi: 2n ** 40n }]]))).toEqual({ lo: -128n, hi: 127n });
    expect(rangeOf(clampE(v("x"), 0, 255), new Map([["x", { lo: 3n, hi: 9n }]]))).toEqual({ lo: 3n, hi: 9n });
  });
});
