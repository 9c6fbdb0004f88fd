/**
 * The fixed-point rescale (numerics/fixed-rescale.ts): its reference, its
 * fast array form and its printable definition (evaluated exactly, with the
 * 2^53 check) against the independent ap_fixed reference of
 * test/numerics/fixed-reference.ts, assigning Σ x_i·m_i / 2^s to fixed<W,W>.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/numerics/expr-eval.js";
import { type FixedCastSpec, fixedRescale, fixedRescaleArrays, fixedRescaleDef } from "../../src/numerics/fixed-rescale.js";
import { OVERFLOW_MODES } from "../../src/numerics/overflow.js";
import { FIXED_ROUND_MODES } from "../../src/numerics/rounding.js";
import { refAssign } from "./fixed-reference.js";

const CASTS: FixedCastSpec[] = [];
for (const round of FIXED_ROUND_MODES) {
  for (const overflow of OVERFLOW_MODES) {
    for (const [bits, signed] of [[8, true], [16, true], [5, false], [12, true]] as const) {
      if (overflow === "AP_WRAP_SM" && !signed) continue;
      const sats = overflow === "AP_WRAP" || overflow === "AP_WRAP_SM" ? [0, 1, 3] : [0];
      for (const satBits of sats) CASTS.push({ bits, signed, round, overflow, satBits });
    }
  }
}

function expected(t: FixedCastSpec, sum: bigint, s: number, lo: number, hi: number): number {
  const raw = Number(refAssign({ w: t.bits, i: t.bits, signed: t.signed, q: t.round, o: t.overflow, n: t.satBits }, { n: sum, d: 2n ** BigInt(s) }));
  return Math.min(hi, Math.max(lo, raw));
}

/** Sums near every tie, range edge and wrap period for shift s and width W, plus random ones. */
function sums(t: FixedCastSpec, s: number): number[] {
  const p = 2 ** s;
  const out: number[] = [0, 1, -1];
  for (const k of [0, 1, 2, 3, 2 ** (t.bits - 1) - 1, 2 ** (t.bits - 1), 2 ** t.bits - 1, 2 ** t.bits, 3 * 2 ** t.bits + 5]) {
    for (const sign of [1, -1]) {
      for (const d of [0, p / 2, p / 2 - 1, p / 2 + 1, p - 1]) if (Number.isInteger(d)) out.push(sign * (k * p + d));
    }
  }
  return out.filter((x) => Math.abs(x) < 2 ** 47);
}

describe("fixed rescale = ap_fixed assignment of Σ x·m / 2^s", () => {
  it("reference, arrays and the printed definition agree with the independent reference, every mode", () => {
    let checked = 0;
    for (const t of CASTS) {
      for (const s of [0, 1, 3, 10]) {
        const xs = sums(t, s);
        const wmin = t.signed ? -(2 ** (t.bits - 1)) : 0;
        const [lo, hi] = [wmin, t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1];
        const fast = fixedRescaleArrays([xs], [1], s, t, lo, hi, new Int32Array(xs.length));
        const def = t.overflow === "AP_WRAP_SM" ? undefined : fixedRescaleDef(1, s, t);
        xs.forEach((x, j) => {
          const want = expected(t, BigInt(x), s, lo, hi);
          const where = `${JSON.stringify(t)} s=${s} x=${x}`;
          if (fixedRescale([x], [1], s, t, lo, hi) !== want) expect(fixedRescale([x], [1], s, t, lo, hi), where).toBe(want);
          if (fast[j] !== want) expect(fast[j], `arrays ${where}`).toBe(want);
          if (def) {
            const got = evaluate(def.body, { x0: x, m0: 1, lo, hi });
            if (got !== want) expect(got, `definition ${where}`).toBe(want);
          }
          checked++;
        });
      }
    }
    expect(checked).toBeGreaterThan(10000);
  });

  it("two inputs with multipliers and a ReLU clamp, random", () => {
    const cast = fc.constantFrom(...CASTS.filter((t) => t.overflow !== "AP_WRAP_SM"));
    fc.assert(
      fc.property(cast, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), fc.integer({ min: 0, max: 2 ** 12 }), fc.integer({ min: 0, max: 30 }), (t, a, b, m1, s) => {
        const hi = t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
        const want = expected(t, BigInt(a) + BigInt(b) * BigInt(m1), s, 0, hi);
        expect(fixedRescale([a, b], [1, m1], s, t, 0, hi)).toBe(want);
        expect(fixedRescaleArrays([[a], [b]], [1, m1], s, t, 0, hi, new Int32Array(1))[0]).toBe(want);
        expect(evaluate(fixedRescaleDef(2, s, t).body, { x0: a, m0: 1, x1: b, m1, lo: 0, hi })).toBe(want);
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses AP_WRAP_SM and widths integer code cannot hold, naming them", () => {
    expect(() => fixedRescaleDef(1, 2, { bits: 8, signed: true, round: "AP_TRN", overflow: "AP_WRAP_SM", satBits: 0 })).toThrow(/AP_WRAP_SM/);
    expect(() => fixedRescaleDef(1, 2, { bits: 40, signed: true, round: "AP_TRN", overflow: "AP_WRAP", satBits: 0 })).toThrow(/W = 40/);
  });
});
