/**
 * The random baselines of bench:mixed (bench/mixed-baselines.ts): the
 * comparison with the mean random fill on a case worked by hand, the
 * verdicts and tallies, the cross-fitted best fill on a case where picking
 * on the scored images hides the selection bias, and random fills that hold
 * the budget and cannot take one more upgrade.
 */
import { describe, expect, it } from "vitest";
import { crossFitted, halves, randomFill, Tally, verdict, versusMean } from "../../bench/mixed-baselines.js";
import { type Budget, evaluate, type Group, withinBudgets } from "../../src/quant/mixed/problem.js";
import { Rng } from "../../src/util/random.js";

describe("bench:mixed random baselines", () => {
  it("mixed against the mean fill: per-image differences, SE with the draw's spread", () => {
    // Labels all 0. Mixed right on 3 of 4; fill A on 2, fill B on 1.
    // d = [0, 0.5, 1, 0]: mean 0.375, sample variance 0.6875/3; fills' top-1 0.5 and 0.25: variance 0.03125.
    const r = versusMean(Int32Array.from([0, 0, 0, 1]), [Int32Array.from([0, 0, 1, 1]), Int32Array.from([0, 1, 1, 1])], [0, 0, 0, 0]);
    expect(r.diff).toBeCloseTo(37.5, 10);
    expect(r.mean).toBeCloseTo(37.5, 10);
    expect(r.drawSe).toBeCloseTo(12.5, 10);
    expect(r.se).toBeCloseTo(100 * Math.sqrt(0.6875 / 3 / 4 + 0.03125 / 2), 10);
  });

  it("verdicts and tallies: tied below half a printed hundredth, SE counts beyond one SE", () => {
    expect(verdict(0.004, 0.1)).toBe("tied");
    expect(verdict(0.12, 0.1)).toBe("above, 1.2 SE");
    expect(verdict(-0.05, 0.1)).toBe("below, -0.5 SE");
    const t = new Tally();
    for (const [d, se] of [[0.12, 0.1], [-0.05, 0.1], [-0.2, 0.1]] as const) t.add(d, se);
    t.add(0, 0, true);
    expect(t.toString()).toBe("above 1, tied 1, below 2 (beyond 1 SE: 1 above, 1 below; the same assignment as mixed in 1)");
  });

  it("cross-fitting: each half is scored by the fill picked on the other half", () => {
    // Labels all 0; halves {0, 1} and {2, 3}. Fill A is right on half 0 only, B on half 1 only: each is best on
    // one half, so each half is scored by the other fill and the baseline gets nothing right (picking with the
    // scored images would give either 50%). Mixed is right on images 0 and 2: d = [1, 0, 1, 0].
    const fold = Uint8Array.from([0, 0, 1, 1]);
    const a = Int32Array.from([0, 0, 1, 1]);
    const b = Int32Array.from([1, 1, 0, 0]);
    const r = crossFitted(Int32Array.from([0, 1, 0, 1]), [a, b], [0, 0, 0, 0], fold);
    expect(r.picks).toEqual([1, 0]);
    expect(r.top1).toBe(0);
    expect(r.diff).toBeCloseTo(50, 10);
    expect(r.se).toBeCloseTo(100 * Math.sqrt(1 / 3 / 4), 10);
    // Equal on the picking half: the first fill; mixed identical to it on every image gives 0 ± 0.
    const same = crossFitted(a, [a, a], [0, 0, 0, 0], fold);
    expect(same.picks).toEqual([0, 0]);
    expect([same.diff, same.se]).toEqual([0, 0]);
  });

  it("halves: a fixed seeded split into ⌊n/2⌋ and ⌈n/2⌉", () => {
    const h = halves(11, 15);
    expect(h.filter((v) => v === 1).length).toBe(6);
    expect(h.filter((v) => v === 0).length).toBe(5);
    expect(halves(11, 15)).toEqual(h);
    expect(halves(1000, 15)).not.toEqual(halves(1000, 16));
  });

  it("random fills hold the budget and no group can take its dearest candidate on top", () => {
    const rng = new Rng(7);
    const g = (i: number): Group => ({ name: `g${i}`, layers: [i], sensitivity: [3, 2, 1], cost: { size: [4 * (i + 1), 6 * (i + 1), 8 * (i + 1)], bops: [0, 0, 0], latency: [0, 0, 0] } });
    const groups = [0, 1, 2, 3, 4].map(g);
    const budgets: Budget[] = [{ kind: "size", limit: 6 * 15 }];
    for (let t = 0; t < 20; t++) {
      const c = randomFill(groups, budgets, rng);
      expect(withinBudgets(evaluate(groups, c, budgets), budgets)).toBe(true);
      groups.forEach((_, i) => {
        if (c[i] === 2) return;
        const up = [...c];
        up[i] = 2;
        expect(withinBudgets(evaluate(groups, up, budgets), budgets)).toBe(false);
      });
    }
  });
});
