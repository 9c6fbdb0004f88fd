/**
 * numerics' int32 split form of the rescale (rescale-split.ts) equals the
 * printable definition (rescaleDef, evaluated exactly by expr-eval) wherever
 * splitRescale gives constants: residual-add-like cases (8-bit inputs,
 * multipliers near 2^31, shift 30), random multipliers, shifts and zero
 * points, 1 to 3 inputs, at the inputs' extremes and in between; and it
 * refuses (undefined) where an int32 intermediate could overflow.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CALLABLE, rescaleDef } from "../../src/numerics/definitions.js";
import type { Expr } from "../../src/numerics/expr.js";
import { evaluate } from "../../src/numerics/expr-eval.js";
import { splitRescale, splitRescaleApply } from "../../src/numerics/rescale-split.js";

function def(xs: number[], zs: number[], ms: number[], s: number, z: number, lo: number, hi: number): number {
  const args: Record<string, number> = { s, z, lo, hi };
  xs.forEach((x, i) => {
    Object.assign(args, { [`x${i}`]: x, [`z${i}`]: zs[i]!, [`m${i}`]: ms[i]! });
  });
  return evaluate(rescaleDef(xs.length).body as Expr, args, CALLABLE);
}

describe("rescale split form = the definition", () => {
  it("residual adds of 8-bit inputs (multipliers up to 2^31 − 1, shift 30), at the extremes of every input", () => {
    let checked = 0;
    for (const [m0, m1, s] of [[1722638096, 1094225012, 30], [2 ** 31 - 1, 2 ** 31 - 1, 30], [1, 2 ** 30, 31], [65535, 65536, 16], [3, 5, 1], [12345, 0, 8]] as const) {
      for (const [z0, z1, lo, hi, z] of [[133, 0, 0, 255, 0], [-128, 127, -128, 127, -5], [0, 0, 0, 255, 200]] as const) {
        const spans = [Math.max(Math.abs(0 - z0), Math.abs(255 - z0), Math.abs(-128 - z0)), Math.max(Math.abs(0 - z1), Math.abs(255 - z1), Math.abs(-128 - z1))];
        const f = splitRescale([m0, m1], s, spans, z);
        if (!f) continue;
        for (const a0 of [-spans[0]!, -1, 0, 1, spans[0]!, 77])
          for (const a1 of [-spans[1]!, -1, 0, 1, spans[1]!, -33]) {
            expect(splitRescaleApply([a0, a1], f, z, lo, hi), JSON.stringify({ m0, m1, s, a0, a1, z })).toBe(def([a0 + z0, a1 + z1], [z0, z1], [m0, m1], s, z, lo, hi));
            checked++;
          }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it("random multipliers, shifts, spans and values, 1 to 3 inputs", () => {
    let taken = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }).chain((n) =>
          fc.record({
            ms: fc.array(fc.oneof(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 70000 })), { minLength: n, maxLength: n }),
            spans: fc.array(fc.integer({ min: 0, max: 40000 }), { minLength: n, maxLength: n }),
            fr: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
            s: fc.integer({ min: 1, max: 62 }),
            z: fc.integer({ min: -200, max: 200 }),
            wide: fc.boolean(),
          }),
        ),
        ({ ms, spans, fr, s, z, wide }) => {
          const f = splitRescale(ms, s, spans, z);
          if (!f) return;
          taken++;
          const a = fr.map((u, i) => Math.round(u * spans[i]!));
          const [lo, hi] = wide ? [-(2 ** 31), 2 ** 31 - 1] : [-128, 127];
          expect(splitRescaleApply(a, f, z, lo, hi)).toBe(def(a, a.map(() => 0), ms, s, z, lo, hi));
        },
      ),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(500);
  });

  it("refuses where an intermediate could leave int32 (16-bit spans with 31-bit multipliers), and shift 0", () => {
    expect(splitRescale([2 ** 31 - 1, 2 ** 31 - 1], 30, [65535, 65535], 0)).toBeUndefined();
    expect(splitRescale([5], 0, [255], 0)).toBeUndefined();
    expect(splitRescale([2 ** 31 - 1, 2 ** 31 - 1], 30, [255, 255], 0)).toBeDefined();
  });
});
