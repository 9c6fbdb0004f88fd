import { describe, expect, it } from "vitest";
import {
  clampInt,
  divRoundHalfEven,
  intMax,
  intMin,
  intType,
  intTypeName,
  isRepresentableInt,
  parseIntType,
  roundHalfEven,
  saturateInt,
  wrapInt,
} from "../../src/numerics/index.js";
import { caseChecker } from "../helpers/case-checker.js";
import { Rng } from "../helpers/prng.js";

const ALL = [true, false].flatMap((signed) => Array.from({ length: 31 }, (_, k) => intType(k + 2, signed)));

describe("integer types", () => {
  it("names round-trip for int2…int32 and uint2…uint32", () => {
    expect(ALL).toHaveLength(62);
    for (const t of ALL) expect(parseIntType(intTypeName(t))).toEqual(t);
    expect(intTypeName(intType(4, true))).toBe("int4");
    expect(intTypeName(intType(17, false))).toBe("uint17");
  });

  it("rejects names outside the family", () => {
    for (const s of ["int1", "uint1", "int33", "uint64", "int04", "Int8", "int", "int8 ", "sint8", "float32"]) {
      expect(() => parseIntType(s), s).toThrow(/not an integer type/);
    }
    expect(() => intType(1, true)).toThrow(RangeError);
  });

  it("min and max are the two's-complement / unsigned ranges", () => {
    for (const t of ALL) {
      const p = 2n ** BigInt(t.bits);
      expect(BigInt(intMin(t))).toBe(t.signed ? -p / 2n : 0n);
      expect(BigInt(intMax(t))).toBe(t.signed ? p / 2n - 1n : p - 1n);
    }
    expect([intMin(intType(4, true)), intMax(intType(4, true))]).toEqual([-8, 7]);
    expect([intMin(intType(2, false)), intMax(intType(2, false))]).toEqual([0, 3]);
  });

  it("representability, saturation and wrap agree with a BigInt reference", () => {
    const rng = new Rng(11);
    const c = caseChecker();
    for (const t of ALL) {
      const p = 2n ** BigInt(t.bits);
      const lo = t.signed ? -p / 2n : 0n;
      const hi = lo + p - 1n;
      const xs = [0, -1, 1, intMin(t), intMax(t), intMin(t) - 1, intMax(t) + 1, 2 ** 53, -(2 ** 53), 1e300, -1e300, 0.5, -2.5];
      for (let k = 0; k < 200; k++) xs.push(Math.round((rng.float() - 0.5) * 2 ** rng.range(1, 60)));
      for (const x of xs) {
        const isInt = Number.isInteger(x);
        const inRange = isInt && BigInt(x) >= lo && BigInt(x) <= hi;
        c.check(isRepresentableInt(t, x), inRange, () => `${intTypeName(t)} represents ${x}`);
        if (!isInt) continue;
        const b = BigInt(x);
        c.check(BigInt(saturateInt(t, x)), b < lo ? lo : b > hi ? hi : b, () => `${intTypeName(t)} saturate ${x}`);
        const m = (((b - lo) % p) + p) % p; // offset from lo, mod 2^bits
        c.check(BigInt(wrapInt(t, x)), lo + m, () => `${intTypeName(t)} wrap ${x}`);
        c.check(Object.is(wrapInt(t, x), -0), false, () => `${intTypeName(t)} wrap ${x} is −0`);
      }
    }
    c.expectNone();
    expect(() => wrapInt(intType(8, true), 1.5)).toThrow(RangeError);
  });

  it("clampInt passes NaN through and clamps infinities", () => {
    expect(clampInt(Number.NaN, 0, 255)).toBeNaN();
    expect(clampInt(Number.POSITIVE_INFINITY, -8, 7)).toBe(7);
    expect(clampInt(Number.NEGATIVE_INFINITY, -8, 7)).toBe(-8);
  });
});

describe("round half to even", () => {
  it("rounds ties to even and everything else to nearest, exactly", () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [-0.5, 0],
      [-1.5, -2],
      [-2.5, -2],
      [0.49999999999999994, 0],
      [4503599627370495.5, 4503599627370496],
      [-4503599627370495.5, -4503599627370496],
      [1e300, 1e300],
    ];
    for (const [x, want] of cases) expect(roundHalfEven(x), `${x}`).toBe(want);
    expect(roundHalfEven(Number.NaN)).toBeNaN();
    expect(roundHalfEven(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });

  it("matches a BigInt reference on random halves, quarters and near-ties", () => {
    const rng = new Rng(3);
    const c = caseChecker();
    for (let k = 0; k < 20000; k++) {
      const e = rng.range(0, 12);
      const n = BigInt(rng.range(-(2 ** 30), 2 ** 30));
      const x = Number(n) / 2 ** e; // exact: n·2^−e
      const d = 2n ** BigInt(e);
      let q = n / d;
      if (q * d > n) q -= 1n; // floor
      const r2 = 2n * (n - q * d);
      const want = r2 < d ? q : r2 > d ? q + 1n : q % 2n === 0n ? q : q + 1n;
      c.check(roundHalfEven(x), Number(want), () => `${x}`);
    }
    c.expectNone();
  });

  it("divRoundHalfEven is exact integer division with ties to even", () => {
    const rng = new Rng(5);
    const cases: [number, number][] = [
      [5, 2],
      [7, 2],
      [-5, 2],
      [-7, 2],
      [5, -2],
      [1, 3],
      [2, 3],
      [-2, 3],
      [2 ** 52 - 1, 2],
      [2 ** 31, 2 ** 20],
    ];
    for (let k = 0; k < 5000; k++) cases.push([rng.range(-(2 ** 31), 2 ** 31), rng.range(1, 2 ** 20) * (rng.chance(0.5) ? 1 : -1)]);
    for (const [a, b] of cases) {
      let n = BigInt(a);
      let d = BigInt(b);
      if (d < 0n) [n, d] = [-n, -d];
      let q = n / d;
      if (q * d > n) q -= 1n;
      const r2 = 2n * (n - q * d);
      const want = r2 < d ? q : r2 > d ? q + 1n : q % 2n === 0n ? q : q + 1n;
      expect(divRoundHalfEven(a, b) + 0, `${a}/${b}`).toBe(Number(want));
    }
  });
});
