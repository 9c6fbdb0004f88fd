import { describe, expect, it } from "vitest";
import {
  FIXED_ROUND_MODES,
  fixedMax,
  fixedMaxRaw,
  fixedMin,
  fixedMinRaw,
  fixedType,
  fixedTypeName,
  isRepresentableFixed,
  OVERFLOW_MODES,
  parseFixedType,
} from "../../src/numerics/index.js";

describe("fixed type names", () => {
  it("omit trailing defaults (AP_TRN, AP_WRAP, N = 0) like C++ template arguments", () => {
    expect(fixedTypeName(fixedType(8, 3))).toBe("fixed<8,3>");
    expect(fixedTypeName(fixedType(16, 6, { round: "AP_RND_CONV", overflow: "AP_SAT" }))).toBe("fixed<16,6,AP_RND_CONV,AP_SAT>");
    expect(fixedTypeName(fixedType(16, 6, { round: "AP_RND" }))).toBe("fixed<16,6,AP_RND>");
    expect(fixedTypeName(fixedType(8, 8, { signed: false, satBits: 2 }))).toBe("ufixed<8,8,AP_TRN,AP_WRAP,2>");
    expect(fixedTypeName(fixedType(4, -3, { overflow: "AP_SAT" }))).toBe("fixed<4,-3,AP_TRN,AP_SAT>");
  });

  it("round-trip for every mode combination, signedness and odd shapes", () => {
    let count = 0;
    for (const round of FIXED_ROUND_MODES) {
      for (const overflow of OVERFLOW_MODES) {
        for (const satBits of overflow.startsWith("AP_WRAP") ? [0, 1, 3] : [0]) {
          for (const signed of overflow === "AP_WRAP_SM" ? [true] : [true, false]) {
            for (const [w, i] of [
              [1, 0],
              [3, -7],
              [16, 6],
              [8, 20],
              [64, 64],
              [4096, -100],
            ] as const) {
              if (satBits > w) continue;
              const t = fixedType(w, i, { signed, round, overflow, satBits });
              const name = fixedTypeName(t);
              expect(parseFixedType(name), name).toEqual(t);
              expect(fixedTypeName(parseFixedType(name))).toBe(name);
              count++;
            }
          }
        }
      }
    }
    expect(count).toBeGreaterThan(500);
  });

  it("parses the C++ spelling and prints the canonical one", () => {
    expect(fixedTypeName(parseFixedType("ap_fixed<18, 6, AP_RND>"))).toBe("fixed<18,6,AP_RND>");
    expect(fixedTypeName(parseFixedType("ap_ufixed<4,4,AP_RND,AP_SAT>"))).toBe("ufixed<4,4,AP_RND,AP_SAT>");
    expect(fixedTypeName(parseFixedType("fixed<16,6,RND_CONV,SAT>"))).toBe("fixed<16,6,AP_RND_CONV,AP_SAT>");
    expect(fixedTypeName(parseFixedType("fixed<8,3,AP_TRN,AP_WRAP,0>"))).toBe("fixed<8,3>");
  });

  it("rejects malformed names and impossible types with a reason", () => {
    const bad: [string, RegExp][] = [
      ["fixed<8>", /2 to 5/],
      ["fixed<8,3,AP_TRN,AP_WRAP,1,2>", /2 to 5/],
      ["fixed<0,0>", /W must be/],
      ["fixed<8.5,3>", /W must be an integer/],
      ["fixed<8,3,AP_ROUND>", /unknown rounding mode 'AP_ROUND'.*AP_RND_CONV/],
      ["fixed<8,3,AP_TRN,AP_CLAMP>", /unknown overflow mode/],
      ["fixed<8,3,AP_TRN,AP_SAT,1>", /N must be/],
      ["fixed<8,3,AP_TRN,AP_WRAP,9>", /N must be/],
      ["ufixed<8,3,AP_TRN,AP_WRAP_SM>", /AP_WRAP_SM needs a signed type/],
      ["int8", /not a fixed-point type/],
      ["fixed<8,3", /not a fixed-point type/],
    ];
    for (const [s, why] of bad) expect(() => parseFixedType(s), s).toThrow(why);
  });
});

describe("fixed ranges", () => {
  it("min and max follow V·2^−F with V a W-bit integer", () => {
    expect([fixedMin(fixedType(8, 3)), fixedMax(fixedType(8, 3))]).toEqual([-4, 4 - 2 ** -5]);
    expect([fixedMin(fixedType(8, 3, { signed: false })), fixedMax(fixedType(8, 3, { signed: false }))]).toEqual([0, 8 - 2 ** -5]);
    expect([fixedMin(fixedType(4, -2)), fixedMax(fixedType(4, -2))]).toEqual([-(2 ** -3), 7 * 2 ** -6]);
    expect([fixedMin(fixedType(4, 10)), fixedMax(fixedType(4, 10))]).toEqual([-512, 448]);
    expect([fixedMinRaw(fixedType(64, 0)), fixedMaxRaw(fixedType(64, 0, { signed: false }))]).toEqual([-(2n ** 63n), 2n ** 64n - 1n]);
    expect(fixedMax(fixedType(64, 64, { signed: false }))).toBe(2 ** 64); // rounded to nearest double
  });

  it("isRepresentable accepts exactly the grid points inside the range", () => {
    const t = fixedType(6, 2); // step 1/16, [-2, 2 − 1/16]
    expect(isRepresentableFixed(t, -2)).toBe(true);
    expect(isRepresentableFixed(t, 2 - 1 / 16)).toBe(true);
    expect(isRepresentableFixed(t, 2)).toBe(false);
    expect(isRepresentableFixed(t, 1 / 32)).toBe(false);
    expect(isRepresentableFixed(t, -2 - 1 / 16)).toBe(false);
    expect(isRepresentableFixed(t, Number.NaN)).toBe(false);
    expect(isRepresentableFixed(t, Number.POSITIVE_INFINITY)).toBe(false);
    const big = fixedType(4, 10); // step 64
    expect(isRepresentableFixed(big, 448)).toBe(true);
    expect(isRepresentableFixed(big, 447)).toBe(false);
    const tiny = fixedType(2, -8, { signed: false }); // step 2^−10
    expect(isRepresentableFixed(tiny, 3 * 2 ** -10)).toBe(true);
    expect(isRepresentableFixed(tiny, 2 ** -11)).toBe(false);
  });
});
