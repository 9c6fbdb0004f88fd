/**
 * numerics' definitions printed as JS (shared/print-js.ts) and evaluated by
 * the JS engine equal numerics' own functions bit for bit, on edge and
 * random inputs; with the multiplier and shift hoisted as loop invariants too.
 */
import { describe, expect, it } from "vitest";
import { printJs, printJsFunction } from "../../../src/backends/shared/print-js.js";
import { num, substitute } from "../../../src/numerics/expr.js";
import { type Definition, quantizeDef, requantDef, rescaleDef, roundHalfEvenDef } from "../../../src/numerics/definitions.js";
import { type Case, quantizeCases, requantCases, rescaleCases, roundCases } from "../../numerics/definition-cases.js";

/** The printed definition as a callable (roundHalfEven printed alongside, for the definitions that call it). */
function compile(def: Definition, invariant?: ReadonlySet<string>): (args: Readonly<Record<string, number>>) => number {
  const text = `${printJsFunction(roundHalfEvenDef)}\n${printJsFunction(def, { invariant, where: "test: " })}\nreturn ${def.name};`;
  const fn = new Function(text)() as (...xs: number[]) => number;
  return (args) => fn(...def.params.map((p) => args[p]!));
}

function expectMatches(def: Definition, cases: readonly Case[], invariant?: ReadonlySet<string>): void {
  const f = compile(def, invariant);
  for (const c of cases) {
    if (c.expected === "throws") {
      expect(() => f(c.args), JSON.stringify(c.args)).toThrow(RangeError);
      continue;
    }
    const got = f(c.args);
    if (!Object.is(got, c.expected)) expect(got, `${def.name} ${JSON.stringify(c.args)}`).toBe(c.expected);
  }
}

describe("printed JS = numerics, bit for bit", () => {
  it("roundHalfEven", () => expectMatches(roundHalfEvenDef, roundCases()));
  it("requant, single and double rounding, plain and with m and s hoisted", () => {
    for (const r of ["single", "double"] as const) {
      expectMatches(requantDef(r), requantCases(r));
      expectMatches(requantDef(r), requantCases(r), new Set(["m", "s"]));
    }
  });
  it("rescale of 1, 2 and 3 inputs", () => {
    for (const n of [1, 2, 3]) expectMatches(rescaleDef(n), rescaleCases(n));
  });
  it("quantize", () => expectMatches(quantizeDef, quantizeCases()));
});

describe("the JS printer", () => {
  it("folds constants, hoists invariant subexpressions and names guards' failures", () => {
    const p = printJs(requantDef("double").body, { invariant: new Set(["m", "s"]), where: "requant 'x': " });
    expect(p.hoisted.length).toBeGreaterThan(0);
    expect(p.hoisted.every((l) => /^const k\d* = /.test(l))).toBe(true);
    expect(p.body.join("\n")).toContain(`throw new RangeError("requant 'x': double rounding's left shift overflows int32")`);
    const folded = printJs(substitute(rescaleDef(1).body, { s: num(7), z0: num(0) }));
    const text = [...folded.body, folded.value].join("\n");
    expect(text).not.toContain("2 **");
    expect(text).toContain("Math.floor((t + 64) * 0.0078125)");
    expect(text).not.toContain("z0");
  });
});
