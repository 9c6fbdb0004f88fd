import { describe, expect, it } from "vitest";
import {
  dyadicValue,
  frexp,
  INT32_MAX,
  INT32_MIN,
  quantizeMultiplier,
  requantize,
  requantizeArray,
  requantizeDouble,
  requantizeSingle,
  requantizeSingleBig,
  roundingDivideByPOT,
  srdhm,
} from "../../src/numerics/index.js";
import { caseChecker } from "../helpers/case-checker.js";
import { Rng } from "../helpers/prng.js";
import { ratOfDouble } from "./fixed-reference.js";

const pow2 = (k: number) => 2n ** BigInt(k);
const floorDiv = (a: bigint, b: bigint) => {
  const q = a / b;
  return q * b > a ? q - 1n : q;
};

/** round(x · m / 2^s), ties toward +∞, from the exact rational. */
function refSingle(x: bigint, m: bigint, s: number): bigint {
  if (s <= 0) return x * m * pow2(-s);
  return floorDiv(2n * x * m + pow2(s), pow2(s + 1));
}

/** gemmlowp SaturatingRoundingDoublingHighMul, transcribed with BigInt int64 semantics. */
function refSrdhm(a: bigint, b: bigint): bigint {
  if (a === b && a === -pow2(31)) return pow2(31) - 1n;
  const ab = a * b;
  const nudge = ab >= 0n ? pow2(30) : 1n - pow2(30);
  return (ab + nudge) / pow2(31); // C++ integer division truncates toward zero, as BigInt does
}

/** gemmlowp RoundingDivideByPOT, transcribed with BigInt. */
function refRdbp(x: bigint, e: number): bigint {
  const mask = pow2(e) - 1n;
  const remainder = x & mask;
  const threshold = (mask >> 1n) + (x < 0n ? 1n : 0n);
  return (x >> BigInt(e)) + (remainder > threshold ? 1n : 0n);
}

function randomInt32(rng: Rng): number {
  return rng.pick([rng.u32() | 0, (rng.u32() | 0) >> rng.range(0, 31), rng.range(-3, 3), INT32_MIN, INT32_MAX]);
}

function randomMultiplier(rng: Rng): number {
  return rng.pick([rng.float() * 2 ** -rng.range(0, 40), rng.float() * 2 ** rng.range(0, 20), 2 ** -rng.range(0, 30)]);
}

describe("quantizeMultiplier", () => {
  it("gives m in [2^30, 2^31) and s with m·2^−s within half a 31-bit ulp of M", () => {
    const rng = new Rng(31);
    const c = caseChecker();
    for (let k = 0; k < 20000; k++) {
      const M = randomMultiplier(rng);
      if (M === 0) continue;
      const d = quantizeMultiplier(M);
      c.check(Number.isInteger(d.m) && d.m >= 2 ** 30 && d.m < 2 ** 31, true, () => `m of ${M} → ${d.m}`);
      // |m·2^−s − M| ≤ 2^(e−32) with e = frexp exponent: compare as exact rationals
      const r = ratOfDouble(M);
      const e = frexp(M)[1];
      const err = BigInt(d.m) * r.d - r.n * pow2(d.s); // (m·2^−s − M) · d · 2^s
      const bound = pow2(d.s) * r.d; // · 2^(e−32)
      const abs = err < 0n ? -err : err;
      c.check(e >= 0 ? pow2(32) * abs <= bound * pow2(e) : pow2(32 - e) * abs <= bound, true, () => `error bound of ${M}`);
    }
    c.expectNone();
  });

  it("handles m rounding up to 2^31: M just below a power of two becomes exactly that power", () => {
    for (const k of [-20, -1, 0, 5]) {
      for (const M of [(1 - 2 ** -32) * 2 ** k, (1 - 2 ** -40) * 2 ** k, (1 - 2 ** -33) * 2 ** k]) {
        const d = quantizeMultiplier(M);
        expect(d.m, `${M}`).toBe(2 ** 30);
        expect(dyadicValue(d)).toBe(2 ** k);
        expect(d.m).toBeLessThanOrEqual(INT32_MAX); // fits the int32 that SRDHM takes
      }
      // just below the rounding point: no carry
      const below = quantizeMultiplier((1 - 2 ** -31) * 2 ** k);
      expect(below.m).toBe(2 ** 31 - 1);
    }
    expect(frexp(1 - 2 ** -40)[0] * 2 ** 31).toBeGreaterThan(2 ** 31 - 0.5); // the case the fix exists for
  });

  it("takes M = 0, rejects negative and non-finite M, and supports narrower multipliers", () => {
    expect(quantizeMultiplier(0)).toEqual({ m: 0, s: 0 });
    expect(() => quantizeMultiplier(-1)).toThrow(RangeError);
    expect(() => quantizeMultiplier(Number.NaN)).toThrow(RangeError);
    expect(() => quantizeMultiplier(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(quantizeMultiplier(0.75, 8)).toEqual({ m: 192, s: 8 });
    expect(quantizeMultiplier(1.5)).toEqual({ m: 3 * 2 ** 29, s: 30 });
  });
});

describe("single rounding", () => {
  it("is round(x·m·2^−s) ties toward +∞, exactly, for random int32 x and multipliers", () => {
    const rng = new Rng(1);
    const c = caseChecker();
    for (let k = 0; k < 50000; k++) {
      const x = randomInt32(rng);
      const d = quantizeMultiplier(randomMultiplier(rng));
      const want = refSingle(BigInt(x), BigInt(d.m), d.s);
      const got = requantizeSingle(x, d);
      if (want > -pow2(53) && want < pow2(53)) c.check(BigInt(got), want, () => `${x} · ${d.m}·2^-${d.s}`);
      else c.check(Math.sign(got), Number(want > 0n) - Number(want < 0n), () => `sign of ${x} · ${d.m}·2^-${d.s}`);
      c.check(requantizeSingleBig(BigInt(x), d), want, () => `requantizeSingleBig ${x} · ${d.m}·2^-${d.s}`);
    }
    c.expectNone();
  });

  it("rounds exact ties up", () => {
    const d = { m: 2 ** 30, s: 31 }; // M = ½
    expect([5, -5, 3, -3, 1, -1].map((x) => requantizeSingle(x, d))).toEqual([3, -2, 2, -1, 1, 0]);
  });

  it("saturates after the zero point, over arrays too", () => {
    const d = quantizeMultiplier(0.01);
    const acc = new Int32Array([0, 100, -100, 12750, -12850, 2 ** 31 - 1, -(2 ** 31)]);
    const out = requantizeArray(acc, d, -128, -128, 127);
    expect(Array.from(out)).toEqual([-128, -127, -128, 0, -128, 127, -128]);
    expect(requantize(150, d, 10, 0, 255)).toBe(12); // m·2^−s is a hair above 0.01: 1.5000000003 → 2
  });
});

describe("double rounding (gemmlowp / TFLite)", () => {
  it("SRDHM matches gemmlowp's definition, including INT32_MIN·INT32_MIN", () => {
    const rng = new Rng(2);
    const edges = [INT32_MIN, INT32_MIN + 1, -1, 0, 1, 2 ** 30, -(2 ** 30), INT32_MAX];
    const pairs: [number, number][] = edges.flatMap((a) => edges.map((b) => [a, b] as [number, number]));
    for (let k = 0; k < 50000; k++) pairs.push([randomInt32(rng), randomInt32(rng)]);
    const c = caseChecker();
    for (const [a, b] of pairs) c.check(srdhm(a, b), Number(refSrdhm(BigInt(a), BigInt(b))), () => `${a}·${b}`);
    c.expectNone();
    expect(srdhm(INT32_MIN, INT32_MIN)).toBe(INT32_MAX);
    expect(srdhm(INT32_MIN, INT32_MAX)).toBe(-INT32_MAX);
    expect(srdhm(2 ** 30, 1)).toBe(1); // ½ → 1
    expect(srdhm(-(2 ** 30), 1)).toBe(0); // −½ → 0: ties toward +∞
    expect(srdhm(-(2 ** 30) - 1, 1)).toBe(-1);
  });

  it("RoundingDivideByPOT matches gemmlowp's definition (ties away from zero)", () => {
    const rng = new Rng(4);
    const c = caseChecker();
    for (let k = 0; k < 50000; k++) {
      const x = randomInt32(rng);
      const e = rng.range(0, 31);
      c.check(roundingDivideByPOT(x, e), Number(refRdbp(BigInt(x), e)), () => `${x} >> ${e}`);
    }
    c.expectNone();
    expect([5, -5, 4, -4, 7, -7].map((x) => roundingDivideByPOT(x, 1))).toEqual([3, -3, 2, -2, 4, -4]);
    expect(roundingDivideByPOT(INT32_MIN, 31)).toBe(-1);
    expect(roundingDivideByPOT(-7, 0)).toBe(-7);
    expect(() => roundingDivideByPOT(1, 32)).toThrow(RangeError);
  });

  it("requantizeDouble is the TFLite composition, and differs from single rounding on some inputs", () => {
    const rng = new Rng(6);
    let differ = 0;
    const c = caseChecker();
    for (let k = 0; k < 50000; k++) {
      const x = randomInt32(rng);
      const d = quantizeMultiplier((0.5 + rng.float() / 2) * 2 ** -rng.range(0, 30)); // right shift ≤ 31
      if (d.m === 0) continue;
      const want = refRdbp(refSrdhm(BigInt(x), BigInt(d.m)), d.s - 31);
      const got = requantizeDouble(x, d);
      c.check(got, Number(want), () => `${x} · ${d.m}·2^-${d.s}`);
      const single = requantizeSingle(x, d);
      c.check(Math.abs(got - single) <= 1, true, () => `|double − single| ≤ 1 at ${x} · ${d.m}·2^-${d.s} (${got} vs ${single})`);
      if (got !== single) differ++;
    }
    c.expectNone();
    expect(differ).toBeGreaterThan(0);
    // a hand-checked case: x·M = −2.5 exactly (M = 5/8·2^−2), single → −2, double → −3
    const d = quantizeMultiplier(5 / 32);
    expect(requantizeSingle(-16, d)).toBe(-2);
    expect(requantizeDouble(-16, d)).toBe(-3);
  });

  it("a zero multiplier (M = 0) gives 0 in both roundings, whatever the accumulator", () => {
    const zero = quantizeMultiplier(0);
    for (const x of [0, 5, -7, 2 ** 31 - 1, -(2 ** 31)]) {
      expect(requantizeSingle(x, zero)).toBe(0);
      expect(requantizeDouble(x, zero)).toBe(0);
    }
  });

  it("shifts left for M ≥ 1 and refuses what gemmlowp leaves undefined", () => {
    const d = quantizeMultiplier(3); // m = 3·2^29, s = 29: left shift 2
    expect(requantizeDouble(1000, d)).toBe(3000);
    expect(requantizeDouble(-1000, d)).toBe(-3000);
    expect(() => requantizeDouble(2 ** 30, d)).toThrow(/overflows int32/);
    expect(() => requantizeDouble(5, quantizeMultiplier(2 ** -40))).toThrow(RangeError);
    expect(requantize(100, quantizeMultiplier(0.5), 0, -128, 127, "double")).toBe(50);
  });
});

describe("array requantization", () => {
  it("the hoisted array loops give the scalar results, for both roundings and every shift", () => {
    const rng = new Rng(8);
    const acc = new Int32Array(4000);
    for (let i = 0; i < acc.length; i++) acc[i] = randomInt32(rng);
    for (let s = 0; s < 70; s++) {
      const d = { m: rng.range(2 ** 30, 2 ** 31 - 1), s };
      for (const rounding of ["single", "double"] as const) {
        if (rounding === "double" && (s < 31 || s > 62)) continue;
        const zp = rng.range(-20, 20);
        const got = requantizeArray(acc, d, zp, -(2 ** 31), 2 ** 31 - 1, undefined, rounding);
        const want = Array.from(acc, (x) => requantize(x, d, zp, -(2 ** 31), 2 ** 31 - 1, rounding));
        expect(Array.from(got), `s=${s} ${rounding}`).toEqual(want);
      }
    }
  });
});
