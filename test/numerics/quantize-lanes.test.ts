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
import { laneQuantizeApply, nearestEven, RECIPROCAL_LIMIT, RECIPROCAL_MARGIN, reciprocalLaneK, reciprocalOf, reciprocalQuantizeApply } from "../../src/numerics/quantize-lanes.js";
import { Rng } from "../helpers/prng.js";
import { quantizeReference as directQ, ulpsAround as around } from "../helpers/quantize-reference.js";

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

/** Scales that are not powers of two (and two that are), as float32. */
const SCALES = [1 / 255, 1 / 3, 0.1, 0.02352941, 3 / 128, 0.7, 1.3, 7.77, 1000.1, 1e-6, 2 ** -10, 1].map(Math.fround);

describe("the reciprocal lane form (no division per value) = the definition", () => {
  it("its constants: the margin is a power of two and ½ − c a float32", () => {
    expect(RECIPROCAL_MARGIN).toBe(2 ** -21);
    expect(Math.fround(RECIPROCAL_LIMIT)).toBe(RECIPROCAL_LIMIT);
    // out of range: 1/s would overflow float32 or be subnormal
    expect(reciprocalOf(2 ** -129)).toBeUndefined();
    expect(reciprocalOf(2 ** 127)).toBeUndefined();
    expect(reciprocalOf(2 ** -127)).toBe(2 ** 127);
    expect(reciprocalOf(Math.fround(1 / 255))).toBe(Math.fround(1 / Math.fround(1 / 255)));
  });

  it("adversarial inputs: half-integers ± 1–3 ulps, saturation edges, |x/s| near 2^19 and 2^23, huge, tiny, denormal, NaN, ±∞, −0: 0 mismatches", () => {
    let n = 0;
    let edgeDecided = 0;
    let edgeN = 0;
    let bad = 0;
    let first = "";
    for (const s of SCALES)
      for (const [qmin, qmax] of RANGES)
        for (const z of [0, 3, -7, 128]) {
          const xs: number[] = [0, -0, DENORMAL, -DENORMAL, 2 ** -126, 3.4e38, -3.4e38, Infinity, -Infinity, Number.NaN, Math.fround(1e-30), Math.fround(-1e-30)];
          const halves = [0.5, -0.5, 1.5, -1.5, 2.5, 63.5, 127.5, -128.5, 128.5, 254.5, 255.5, 256.5, qmax - z + 0.5, qmin - z - 0.5, 32767.5, -32768.5, 65535.5, 2 ** 18 + 0.5, 2 ** 19 - 0.5, 2 ** 19 + 0.5, 2 ** 22 + 0.5];
          for (const h of halves) xs.push(...around(Math.fround(h * s), 3));
          for (const m of [qmax - z, qmin - z, 2 ** 19, -(2 ** 19), 2 ** 20, 2 ** 23, 2 ** 24 + 2, 1e9]) xs.push(...around(Math.fround(m * s), 2));
          // the decision's own edge: x/s at 0.8–1.25 times the margin c(1 + |h|) from a half-integer h, both sides
          const edges: number[] = [];
          for (const h of halves) for (const f of [0.8, 0.95, 1.05, 1.25]) for (const sg of [-1, 1]) edges.push(...around(Math.fround((h + sg * f * RECIPROCAL_MARGIN * (1 + Math.abs(h))) * s), 1));
          xs.push(...edges);
          edgeDecided += edges.filter((x) => reciprocalLaneK(x, reciprocalOf(s)!) !== undefined).length;
          edgeN += edges.length;
          for (const x of xs) {
            const want = directQ(x, s, z, qmin, qmax);
            const got = reciprocalQuantizeApply(x, s, z, qmin, qmax);
            if (got !== want) {
              bad++;
              if (!first) first = JSON.stringify({ x, s, z, qmin, qmax, got, want });
            }
            n++;
          }
        }
    expect({ bad, first }).toEqual({ bad: 0, first: "" });
    expect(n).toBeGreaterThan(20000);
    // both sides of the decision are exercised: about half the margin-edge values are decided (those past c(1 + |h|))
    expect(edgeDecided / edgeN).toBeGreaterThan(0.2);
    expect(edgeDecided / edgeN).toBeLessThan(0.8);
  });

  it("the definition written out here agrees with the printable one (so the millions below check against the definition)", () => {
    const rng = new Rng(7);
    for (let j = 0; j < 3000; j++) {
      const x = Math.fround((rng.float() - 0.5) * 600);
      const s = SCALES[j % SCALES.length]!;
      expect(directQ(x, s, 3, -128, 127)).toBe(defQ(x, s, 3, -128, 127));
    }
  });

  it("4 million random float32 inputs over the scales and ranges: 0 mismatches, and few 8-bit lanes left to the division", () => {
    const rng = new Rng(16);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let bad = 0;
    let undecided = 0;
    let first = "";
    const N = 4_000_000;
    for (let j = 0; j < N; j++) {
      const s = SCALES[j % SCALES.length]!;
      const [qmin, qmax] = RANGES[j % RANGES.length]!;
      const z = j % 3 === 0 ? 0 : j % 3 === 1 ? 7 : -3;
      let x: number;
      if (j % 8 === 0) {
        u[0] = (rng.float() * 2 ** 32) >>> 0; // any bit pattern
        x = f[0]!;
      } else x = Math.fround((rng.float() - 0.5) * 2 * (qmax - qmin + 40) * s); // around the grid
      const want = directQ(x, s, z, qmin, qmax);
      const got = reciprocalQuantizeApply(x, s, z, qmin, qmax);
      if (j % 8 !== 0 && qmax - qmin <= 255 && reciprocalLaneK(x, reciprocalOf(s)!) === undefined) undecided++;
      if (got !== want) {
        bad++;
        if (!first) first = JSON.stringify({ x, s, z, qmin, qmax, got, want });
      }
    }
    expect({ bad, first }).toEqual({ bad: 0, first: "" });
    expect(undecided / N).toBeLessThan(0.001); // 8-bit ranges: lanes within c(1 + |x/s|) of a half-integer
  });
});
