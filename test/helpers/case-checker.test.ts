/** The many-case checker fails on one differing case, on none checked, and builds a case's description only when it differs. */
import { describe, expect, it } from "vitest";
import { caseChecker } from "./case-checker.js";

describe("caseChecker", () => {
  it("passes when every case agrees (Object.is, as toBe), describing none", () => {
    const c = caseChecker();
    let described = 0;
    for (let k = 0; k < 1000; k++) c.check(BigInt(k) * 2n, BigInt(2 * k), () => `${described++}`);
    c.check(Number.NaN, Number.NaN, () => "NaN");
    c.expectNone();
    expect(described).toBe(0);
  });

  it("fails on one differing case among many, naming it and the count", () => {
    const c = caseChecker();
    for (let k = 0; k < 1000; k++) c.check(k === 617 ? k + 1 : k, k, () => `case ${k}`);
    expect(() => c.expectNone()).toThrow(/1 of 1000 cases differ[\s\S]*case 617: got 618, expected 617/);
  });

  it("tells a number from a bigint, and −0 from +0, as toBe does", () => {
    const c = caseChecker();
    c.check(1, 1n, () => "1 vs 1n");
    c.check(-0, 0, () => "-0 vs 0");
    expect(() => c.expectNone()).toThrow(/2 of 2 cases differ/);
  });

  it("fails when no case was checked", () => {
    expect(() => caseChecker().expectNone()).toThrow(/cases checked/);
  });
});
