/**
 * AdaRound's up/down problem solved by enumeration (exhaustive.ts): the same
 * minimum as scoring every choice of a row by the loss's definition, and
 * never above the relaxation's result.
 */
import { describe, expect, it } from "vitest";
import { ADAROUND_DEFAULTS, adaround } from "../../../src/quant/rounding/adaround.js";
import { EXACT_GAIN, exactWhereFarBetter, exhaustiveRounding } from "../../../src/quant/rounding/exhaustive.js";
import { type GroupProblem, reconstructionLoss } from "../../../src/quant/rounding/problem.js";
import { nearestOf, randomProblem } from "./problems.js";

/** The least loss over every up/down choice of every row, each choice scored by reconstructionLoss on a one-row problem. */
function bruteForce(p: GroupProblem): number {
  let total = 0;
  for (let r = 0; r < p.rows; r++) {
    const row: GroupProblem = { ...p, rows: 1, w: p.w.subarray(r * p.cols, (r + 1) * p.cols), index: p.index.subarray(r * p.cols, (r + 1) * p.cols) };
    let best = Number.POSITIVE_INFINITY;
    for (let mask = 0; mask < 1 << p.cols; mask++) {
      const codes = Int32Array.from({ length: p.cols }, (_, c) => ((mask >> c) & 1 ? p.grid.above(row.index[c]!, row.w[c]!) : p.grid.below(row.index[c]!, row.w[c]!)));
      best = Math.min(best, reconstructionLoss(row, codes));
    }
    total += best;
  }
  return total;
}

describe("exhaustive AdaRound", () => {
  it("reaches the enumerated minimum on small layers (seeds 1–5, K = 7), each code below or above its weight", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const p = randomProblem(seed, 3, 7, 40);
      const codes = exhaustiveRounding(p);
      for (const [k, q] of codes.entries()) expect([p.grid.below(k, p.w[k]!), p.grid.above(k, p.w[k]!)]).toContain(q);
      expect(reconstructionLoss(p, codes)).toBeCloseTo(bruteForce(p), 10);
    }
  });

  it("is never above the relaxation's codes, and below nearest's (seeds 1–5, K = 9)", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const p = randomProblem(seed, 4, 9, 64);
      const exact = reconstructionLoss(p, exhaustiveRounding(p));
      expect(exact).toBeLessThanOrEqual(reconstructionLoss(p, adaround(p, { ...ADAROUND_DEFAULTS, iters: 300 })) + 1e-12);
      expect(exact).toBeLessThan(reconstructionLoss(p, nearestOf(p)));
    }
  });
});

describe("exactWhereFarBetter", () => {
  it("takes the exact codes over nearest's where those are EXACT_GAIN times worse, and keeps codes already as good", () => {
    const p = randomProblem(2, 4, 9, 64);
    const exact = exhaustiveRounding(p);
    const near = nearestOf(p);
    expect(reconstructionLoss(p, near)).toBeGreaterThanOrEqual(EXACT_GAIN * reconstructionLoss(p, exact));
    expect(exactWhereFarBetter(p, near)).toEqual(exact);
    const same = Int32Array.from(exact);
    expect(exactWhereFarBetter(p, same)).toBe(same);
  });
});
