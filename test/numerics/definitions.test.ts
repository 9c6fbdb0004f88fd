/**
 * numerics' printable definitions (definitions.ts), evaluated exactly
 * (expr-eval.ts: BigInt, and a check that every integer intermediate stays
 * below 2^53), equal numerics' own functions on edge and random inputs.
 */
import { describe, expect, it } from "vitest";
import type { Expr } from "../../src/numerics/expr.js";
import { evaluate } from "../../src/numerics/expr-eval.js";
import { CALLABLE, type Definition, quantizeDef, requantDef, rescaleDef, roundHalfEvenDef } from "../../src/numerics/definitions.js";
import { type Case, quantizeCases, requantCases, rescaleCases, roundCases } from "./definition-cases.js";

function expectMatches(def: Definition, cases: readonly Case[]): void {
  let checked = 0;
  for (const c of cases) {
    const run = () => evaluate(def.body as Expr, c.args, CALLABLE);
    if (c.expected === "throws") expect(run, JSON.stringify(c.args)).toThrow(RangeError);
    else {
      const got = run();
      if (!Object.is(got, c.expected)) expect(got, `${def.name} ${JSON.stringify(c.args)}`).toBe(c.expected);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(cases.length / 2);
}

describe("printable definitions = numerics, exactly", () => {
  it("roundHalfEven, ties to even, NaN, ±Infinity and −0 included", () => expectMatches(roundHalfEvenDef, roundCases()));
  it("requant, single rounding, every shift class", () => expectMatches(requantDef("single"), requantCases("single")));
  it("requant, double rounding (gemmlowp), refusing where its left shift overflows", () => {
    const cases = requantCases("double");
    expect(cases.some((c) => c.expected === "throws")).toBe(true);
    expectMatches(requantDef("double"), cases);
  });
  it("rescale of 1, 2 and 3 inputs", () => {
    for (const n of [1, 2, 3]) expectMatches(rescaleDef(n), rescaleCases(n));
  });
  it("quantize (ONNX QuantizeLinear)", () => expectMatches(quantizeDef, quantizeCases()));
  it("every integer intermediate stays below 2^53 (evaluate throws otherwise): a definition that breaks it is caught", () => {
    const bad: Expr = { k: "mul", a: { k: "var", name: "a" }, b: { k: "var", name: "b" } };
    expect(() => evaluate(bad, { a: 2 ** 31, b: 2 ** 31 })).toThrow(/not below 2\^53/);
  });
});
