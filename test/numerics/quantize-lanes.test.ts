/**
 * numerics' lane form of QuantizeLinear (quantize-lanes.ts) equals the
 * printable definition (definitions.ts quantizeDef, evaluated by expr-eval,
 * then converted to an integer as the generated code does: NaN → 0) on edge
 * values (exact halves, huge values, ±∞, NaN, −0, denormals) and on random
 * float32 inputs; and its rounding step (IEEE ties-to-even by the 2^52 trick)
 * equals roundHalfEvenDef on every double it is given.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CALLABLE, type Definition, quantizeDef, roundHalfEvenDef } from "../../src/numerics/definitions.js";
import type { Expr } from "../../src/numerics/expr.js";
import { evaluate } from "../../src/numerics/expr-eval.js";
import { laneQuantizeApply, nearestEven } from "../../src/numerics/quantize-lanes.js";

const run = (def: Definition, args: Record<string, number>) => evaluate(def.body as Expr, args, CALLABLE);
/** The definition's value as an integer, as fixq_d2i32 converts it (NaN → 0). */
const defQ = (x: number, scale: number, z: number, qmin: number, qmax: number) => {
  const v = run(quantizeDef, { x, scale, z, qmin, qmax });
  return Number.isNaN(v) ? 0 : v + 0;
};

const RANGES = [
  [0, 255],
  [-128, 127],
  [-8, 7],
  [-32768, 32767],
  [10, 200],
] as const;
const DENORMAL = 2 ** -149;
const EDGES = [0, -0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 127.5, 128.5, -128.5, 255.5, 2 ** 52 + 1, -(2 ** 52) - 1, 2 ** 53, 3.4e38, -3.4e38, Infinity, -Infinity, Number.NaN, DENORMAL, -DENORMAL, 2 ** -126, 0.49999997, 0.50000006];

describe("quantize lane form = the definition", () => {
  it("rounding: ties to even by the 2^52 trick equals roundHalfEvenDef (halves, huge, ±∞, NaN, −0, denormals, random doubles)", () => {
    const cases = [...EDGES, 2 ** 52 - 0.5, -(2 ** 52) + 0.5, 4503599627370495.5, 1e300, -1e-300];
    for (const v of cases) expect(Object.is(nearestEven(v) + 0, run(roundHalfEvenDef, { v }) + 0) || (Number.isNaN(v) && Number.isNaN(nearestEven(v))), String(v)).toBe(true);
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true }), fc.integer({ min: -1e6, max: 1e6 }).map((k) => k + 0.5)), (v) => nearestEven(v) + 0 === run(roundHalfEvenDef, { v }) + 0),
      { numRuns: 3000 },
    );
  });

  it("edge inputs: exact halves (after the division), huge, ±∞, NaN, −0, denormals, for several scales, zero points and ranges", () => {
    let n = 0;
    for (const [qmin, qmax] of RANGES)
      for (const scale of [1, 0.5, 2 ** -10, 0.003921568859368563, Math.fround(1 / 3), DENORMAL, 3e38])
        for (const z of [0, 3, -7, 128])
          for (const x of EDGES.map((e) => Math.fround(e * (Number.isFinite(scale) && scale < 1 && scale > DENORMAL ? scale : 1))).concat(EDGES.map((e) => Math.fround(e)))) {
            expect(laneQuantizeApply(x, scale, z, qmin, qmax), JSON.stringify({ x, scale, z, qmin, qmax })).toBe(defQ(x, scale, z, qmin, qmax));
            n++;
          }
    expect(n).toBeGreaterThan(1000);
  });

  it("random float32 inputs and scales", () => {
    fc.assert(
      fc.property(fc.float(), fc.float({ min: Math.fround(1e-30), max: Math.fround(1e30), noNaN: true }), fc.integer({ min: -128, max: 255 }), fc.constantFrom(...RANGES), (x, scale, z, [qmin, qmax]) => {
        expect(laneQuantizeApply(x, scale, z, qmin, qmax)).toBe(defQ(x, scale, z, qmin, qmax));
      }),
      { numRuns: 5000 },
    );
  });
});
