/**
 * The local search around the ILP optimum (search.ts, moves.ts) on small
 * problems whose "real" error is the additive objective plus interactions
 * the ILP cannot see: fill() stops at a maximal feasible assignment, the
 * neighbours hold every budget in increasing predicted order, a pinned
 * neighbour is the brute-force optimum with that group at that candidate,
 * swaps keep their move, and the search never returns worse than its start,
 * keeps to its evaluation count, scores distinct assignments, is
 * deterministic, and finds the real optimum when an interaction hides it.
 */
import { describe, expect, it } from "vitest";
import { fill, neighbourhood, repair } from "../../../src/quant/mixed/moves.js";
import { type Budget, evaluate, type Group, withinBudgets } from "../../../src/quant/mixed/problem.js";
import { searchAround } from "../../../src/quant/mixed/search.js";
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
const middle = (gs: readonly Group[]): Budget[] => [{ kind: "size", limit: gs.reduce((s, g) => s + g.cost.size[1]!, 0) }];

describe("local search on the real error", () => {
  it("fill() ends at a feasible assignment no single cheaper-error upgrade of a free group fits", () => {
    const rng = new Rng(3);
    for (let t = 0; t < 20; t++) {
      const groups = randomGroups(rng, 5);
      const budgets = middle(groups);
      const held = new Set([t % 5]);
      const x = fill(groups, groups.map(() => 0), budgets, held);
      expect(x[t % 5]).toBe(0);
      expect(withinBudgets(evaluate(groups, x, budgets), budgets)).toBe(true);
      groups.forEach((g, i) => {
        if (held.has(i)) return;
        for (let c = 0; c < 3; c++) {
          if (g.sensitivity[c]! >= g.sensitivity[x[i]!]!) continue;
          const y = [...x];
          y[i] = c;
          expect(withinBudgets(evaluate(groups, y, budgets), budgets)).toBe(false);
        }
      });
    }
  });

  it("repair() lowers other groups until the budget holds, never the held one", () => {
    const groups = [group("a", [4, 0], [4, 8]), group("b", [1, 0], [4, 8]), group("c", [3, 0], [4, 8])];
    const budgets: Budget[] = [{ kind: "size", limit: 16 }];
    // a raised; b (least loss per bit) pays for it.
    expect(repair(groups, [1, 1, 0], budgets, new Set([0]))).toEqual([1, 0, 0]);
    expect(repair(groups, [1, 1, 1], [{ kind: "size", limit: 11 }], new Set([0]))).toBeUndefined();
  });

  it("neighbours hold every budget, exclude the start, come in increasing predicted objective, and keep their move", async () => {
    const rng = new Rng(5);
    const groups = randomGroups(rng, 6);
    const budgets = middle(groups);
    const x = fill(groups, groups.map(() => 0), budgets);
    const nb = await neighbourhood(groups, x, budgets);
    expect(nb.length).toBeGreaterThan(6);
    for (const a of nb) expect(withinBudgets(a, budgets)).toBe(true);
    expect(nb.some((a) => a.choice.join() === x.join())).toBe(false);
    expect(new Set(nb.map((a) => a.choice.join())).size).toBe(nb.length);
    for (let i = 1; i < nb.length; i++) expect(nb[i]!.objective).toBeGreaterThanOrEqual(nb[i - 1]!.objective);
    expect(new Set(nb.map((a) => a.move))).toEqual(new Set(["pin", "swap", "pair"]));
    // Every single-group change a budget allows is reachable, with that change kept (no re-fill undoes it).
    const feasible = allChoices(6, 3).filter((c) => withinBudgets(evaluate(groups, c, budgets), budgets));
    for (let g = 0; g < 6; g++) {
      for (let c = 0; c < 3; c++) {
        if (c === x[g]) continue;
        const withIt = feasible.filter((y) => y[g] === c);
        if (withIt.length === 0) continue;
        // The pinned neighbour is the brute-force optimum of Σ S with g at c.
        const opt = Math.min(...withIt.map((y) => evaluate(groups, y, budgets).objective));
        const found = nb.filter((a) => a.choice[g] === c);
        expect(found.length).toBeGreaterThan(0);
        expect(Math.min(...found.map((a) => a.objective))).toBeCloseTo(opt, 9);
      }
    }
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
    expect(r.best.move).not.toBe("start");
    // Every assignment that fills this budget (three of them, and the all-4-bit one) gets scored once.
    expect(new Set(r.scored.map((s) => s.choice.join())).size).toBe(r.scored.length);
    const one = await searchAround(groups, budgets, start, real, 1);
    expect([one.scored.length, one.best.choice]).toEqual([1, start]);

    const rng = new Rng(11);
    for (let t = 0; t < 5; t++) {
      const gs = randomGroups(rng, 5);
      const bs = middle(gs);
      const pair = rng.float() * 3;
      const score = async (c: readonly number[]) => evaluate(gs, c, bs).objective + (c[0] !== c[1] ? pair : 0) + (c[2] === 0 && c[3] === 0 ? pair : 0);
      const x0 = fill(gs, gs.map(() => 0), bs);
      const s = await searchAround(gs, bs, x0, score, 12);
      expect(s.scored.length).toBe(12); // the wider neighbourhood fills the evaluation count
      expect(new Set(s.scored.map((q) => q.choice.join())).size).toBe(12);
      expect(s.best.measured).toBe(Math.min(...s.scored.map((q) => q.measured)));
      expect(s.best.measured).toBeLessThanOrEqual(s.start.measured);
      for (const q of s.scored) expect(withinBudgets(evaluate(gs, q.choice, bs), bs)).toBe(true);
      const bestReal = Math.min(...(await Promise.all(allChoices(5, 3).filter((c) => withinBudgets(evaluate(gs, c, bs), bs)).map(score))));
      expect(s.best.measured).toBeGreaterThanOrEqual(bestReal);
      const again = await searchAround(gs, bs, x0, score, 12);
      expect(again.scored.map((q) => q.choice.join())).toEqual(s.scored.map((q) => q.choice.join()));
    }
  });

  it("holds two budgets at once in every scored assignment", async () => {
    const rng = new Rng(21);
    const gs = randomGroups(rng, 6).map((g, i) => ({ ...g, cost: { ...g.cost, bops: g.cost.size.map((v, c) => v * (1 + ((i + c) % 3))) } }));
    const bs: Budget[] = [middle(gs)[0]!, { kind: "bops", limit: gs.reduce((s, g) => s + g.cost.bops[1]!, 0) * 0.9 }];
    const x0 = fill(gs, gs.map(() => 0), bs);
    expect(withinBudgets(evaluate(gs, x0, bs), bs)).toBe(true);
    const s = await searchAround(gs, bs, x0, async (c) => evaluate(gs, c, bs).objective * (1 + (c[0] ?? 0) * 0.1), 10);
    for (const q of s.scored) expect(withinBudgets(evaluate(gs, q.choice, bs), bs)).toBe(true);
  });
});
