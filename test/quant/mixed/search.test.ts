/**
 * The local search around the ILP optimum (search.ts) on small problems
 * whose "real" error is the additive objective plus a pairwise interaction
 * the ILP cannot see: fill() stops at a maximal feasible assignment, the
 * neighbours hold every budget in increasing predicted order, and the search
 * never returns worse than its start, keeps to its evaluation count, and
 * finds the real optimum (by brute force) when the interaction hides it
 * one swap away.
 */
import { describe, expect, it } from "vitest";
import { type Budget, evaluate, type Group, withinBudgets } from "../../../src/quant/mixed/problem.js";
import { fill, neighbours, searchAround } from "../../../src/quant/mixed/search.js";
import { Rng } from "../../helpers/prng.js";

const group = (name: string, sensitivity: number[], size: number[]): Group => ({ name, layers: [0], sensitivity, cost: { size, bops: size, latency: size } });

function randomGroups(rng: Rng, n: number): Group[] {
  return Array.from({ length: n }, (_, i) => {
    const w = 10 + Math.floor(rng.float() * 90);
    const a = 0.1 + rng.float();
    return group(`g${i}`, [a * 16, a * 4, a], [w * 2, w * 4, w * 8]);
  });
}

const allChoices = (n: number, c: number): number[][] => (n === 0 ? [[]] : allChoices(n - 1, c).flatMap((r) => Array.from({ length: c }, (_, k) => [...r, k])));

describe("local search on the real error", () => {
  it("fill() ends at a feasible assignment no single cheaper-error upgrade fits", () => {
    const rng = new Rng(3);
    for (let t = 0; t < 20; t++) {
      const groups = randomGroups(rng, 5);
      const budgets: Budget[] = [{ kind: "size", limit: groups.reduce((s, g) => s + g.cost.size[1]!, 0) }];
      const x = fill(groups, groups.map(() => 0), budgets);
      expect(withinBudgets(evaluate(groups, x, budgets), budgets)).toBe(true);
      groups.forEach((g, i) => {
        for (let c = 0; c < 3; c++) {
          if (g.sensitivity[c]! >= g.sensitivity[x[i]!]!) continue;
          const y = [...x];
          y[i] = c;
          expect(withinBudgets(evaluate(groups, y, budgets), budgets)).toBe(false);
        }
      });
    }
  });

  it("neighbours hold every budget, exclude the start and come in increasing predicted objective", () => {
    const rng = new Rng(5);
    const groups = randomGroups(rng, 6);
    const budgets: Budget[] = [{ kind: "size", limit: groups.reduce((s, g) => s + g.cost.size[1]!, 0) }];
    const x = fill(groups, groups.map(() => 0), budgets);
    const nb = neighbours(groups, x, budgets);
    expect(nb.length).toBeGreaterThan(3);
    for (const a of nb) expect(withinBudgets(a, budgets)).toBe(true);
    expect(nb.some((a) => a.choice.join() === x.join())).toBe(false);
    for (let i = 1; i < nb.length; i++) expect(nb[i]!.objective).toBeGreaterThanOrEqual(nb[i - 1]!.objective);
  });

  it("moves to the real optimum an interaction hides from the ILP; never ends worse than the start; keeps to its evaluations", async () => {
    // Two candidates, room for one 8-bit group. Predicted: g0 at 8 bits is best (it is the most sensitive alone);
    // real: g1 and g2 at 4 bits together cost an extra 5, so g1 at 8 bits is the real optimum.
    const groups = [group("g0", [3, 0], [4, 8]), group("g1", [2, 0], [4, 8]), group("g2", [1, 0], [4, 8])];
    const budgets: Budget[] = [{ kind: "size", limit: 16 }];
    const real = async (c: readonly number[]) => evaluate(groups, c, budgets).objective + (c[1] === 0 && c[2] === 0 ? 5 : 0);
    const start = [1, 0, 0];
    const r = await searchAround(groups, budgets, start, real, 10);
    expect(r.start.measured).toBe(8); // 2 + 1 + the interaction's 5
    expect(r.best.choice).toEqual([0, 1, 0]);
    expect(r.best.measured).toBe(4);
    expect(r.moves).toBe(1);
    const one = await searchAround(groups, budgets, start, real, 1);
    expect([one.scored.length, one.best.choice]).toEqual([1, start]);

    const rng = new Rng(11);
    for (let t = 0; t < 10; t++) {
      const gs = randomGroups(rng, 4);
      const bs: Budget[] = [{ kind: "size", limit: gs.reduce((s, g) => s + g.cost.size[1]!, 0) }];
      const pair = rng.float() * 3;
      const score = async (c: readonly number[]) => evaluate(gs, c, bs).objective + (c[0] !== c[1] ? pair : 0);
      const x0 = fill(gs, gs.map(() => 0), bs);
      const s = await searchAround(gs, bs, x0, score, 6);
      expect(s.scored.length).toBeLessThanOrEqual(6);
      expect(s.best.measured).toBeLessThanOrEqual(s.start.measured);
      expect(withinBudgets(evaluate(gs, s.best.choice, bs), bs)).toBe(true);
      const bestReal = Math.min(...(await Promise.all(allChoices(4, 3).filter((c) => withinBudgets(evaluate(gs, c, bs), bs)).map(score))));
      expect(s.best.measured).toBeGreaterThanOrEqual(bestReal);
    }
  });
});
