import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isFixqError } from "../../../src/ir/errors.js";
import { type Budget, evaluate, type Group, groupsOf, type MixedProblem, withinBudgets } from "../../../src/quant/mixed/problem.js";
import { solveAllocation } from "../../../src/quant/mixed/solve.js";

/** Every assignment, enumerated: the optimum by brute force (undefined when none is feasible). */
function bruteForce(groups: readonly Group[], budgets: readonly Budget[]): number | undefined {
  const n = groups[0]!.sensitivity.length;
  let best: number | undefined;
  const choice = groups.map(() => 0);
  const total = n ** groups.length;
  for (let k = 0; k < total; k++) {
    let r = k;
    for (let g = 0; g < groups.length; g++) {
      choice[g] = r % n;
      r = Math.floor(r / n);
    }
    const a = evaluate(groups, choice, budgets);
    if (withinBudgets(a, budgets) && (best === undefined || a.objective < best)) best = a.objective;
  }
  return best;
}

/** A random problem: layers with integer sizes and BOPs that grow with the candidate, sensitivities that (mostly) shrink, some layers tied. */
const problemArb = fc
  .record({
    nCand: fc.integer({ min: 2, max: 4 }),
    layers: fc.array(fc.record({ size: fc.integer({ min: 1, max: 5000 }), macs: fc.integer({ min: 1, max: 10000 }), sens: fc.array(fc.double({ min: 1e-9, max: 10, noNaN: true }), { minLength: 4, maxLength: 4 }), tie: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 7 }),
    sizeFrac: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
    bopsFrac: fc.option(fc.double({ min: -0.1, max: 1.1, noNaN: true })),
  })
  .map(({ nCand, layers, sizeFrac, bopsFrac }) => {
    const bits = [2, 4, 6, 8].slice(0, nCand);
    const candidates = bits.map((b) => `int${b}`);
    const p: MixedProblem = {
      candidates,
      layers: layers.map((l, i) => ({
        node: `n${i}`,
        group: l.tie < 3 ? `tied${l.tie}` : `n${i}`,
        costs: Object.fromEntries(candidates.map((c, j) => [c, { sensitivity: l.sens[j]!, sizeBits: l.size * bits[j]! + 32, bops: l.macs * bits[j]! * 8 }])),
      })),
    };
    return { p, sizeFrac, bopsFrac };
  });

function budgetsFor(groups: readonly Group[], sizeFrac: number, bopsFrac: number | null): Budget[] {
  const at = (kind: "size" | "bops", f: number) => {
    const lo = groups.reduce((s, g) => s + Math.min(...g.cost[kind]), 0);
    const hi = groups.reduce((s, g) => s + Math.max(...g.cost[kind]), 0);
    return { kind, limit: Math.round(lo + f * (hi - lo)) };
  };
  return bopsFrac === null ? [at("size", sizeFrac)] : [at("size", sizeFrac), at("bops", bopsFrac)];
}

describe("solveAllocation (HiGHS)", () => {
  it("finds the brute-force optimum on random small problems, or refuses exactly when none is feasible", async () => {
    await fc.assert(
      fc.asyncProperty(problemArb, async ({ p, sizeFrac, bopsFrac }) => {
        const groups = groupsOf(p);
        const budgets = budgetsFor(groups, sizeFrac, bopsFrac);
        const best = bruteForce(groups, budgets);
        if (best === undefined) {
          await expect(solveAllocation(groups, budgets)).rejects.toSatisfy((e) => isFixqError(e) && e.code === "usage");
          return;
        }
        const s = await solveAllocation(groups, budgets);
        expect(s.solver.status).toBe("Optimal");
        expect(withinBudgets(s, budgets)).toBe(true);
        expect(s.objective).toBeCloseTo(best, 9);
      }),
      { numRuns: 60, seed: 15 },
    );
  });

  it("gives tied layers one candidate", async () => {
    const p: MixedProblem = {
      candidates: ["int4", "int8"],
      layers: [
        { node: "a", group: "t", costs: { int4: { sensitivity: 5, sizeBits: 40, bops: 0 }, int8: { sensitivity: 0, sizeBits: 80, bops: 0 } } },
        { node: "b", group: "t", costs: { int4: { sensitivity: 0, sizeBits: 40, bops: 0 }, int8: { sensitivity: 1, sizeBits: 80, bops: 0 } } },
      ],
    };
    const groups = groupsOf(p);
    expect(groups).toHaveLength(1);
    const s = await solveAllocation(groups, [{ kind: "size", limit: 160 }]);
    expect(s.choice).toEqual([1]); // 5 + 0 > 0 + 1: both take int8
    expect(s.objective).toBe(1);
  });

  it("names each budget's feasible range when a budget is below the all-lowest cost", async () => {
    const p: MixedProblem = { candidates: ["int4", "int8"], layers: [{ node: "a", group: "a", costs: { int4: { sensitivity: 1, sizeBits: 4000, bops: 10 }, int8: { sensitivity: 0, sizeBits: 8000, bops: 20 } } }] };
    const err = await solveAllocation(groupsOf(p), [{ kind: "size", limit: 800 }]).catch((e) => e);
    expect(isFixqError(err) && err.code).toBe("usage");
    expect(err.message).toBe("--budget size is below the all-lowest cost: size 100.0 B (feasible 500.0 B … 1.000 KB)");
  });

  it("says when budgets are each feasible but contradict", async () => {
    // Here int8 is the smaller one: size ≤ 4000 needs int8 on both layers (2000), bops ≤ 30 allows int8 on one at most.
    const cost = (s4: number, s8: number) => ({ int4: { sensitivity: 1, sizeBits: s4, bops: 10 }, int8: { sensitivity: 0, sizeBits: s8, bops: 20 } });
    const p: MixedProblem = { candidates: ["int4", "int8"], layers: [{ node: "a", group: "a", costs: cost(4000, 1000) }, { node: "b", group: "b", costs: cost(4000, 1000) }] };
    const err = await solveAllocation(groupsOf(p), [{ kind: "size", limit: 4000 }, { kind: "bops", limit: 30 }]).catch((e) => e);
    expect(isFixqError(err) && err.code).toBe("usage");
    expect(err.message).toMatch(/^the budgets cannot all hold at once: size .* \(feasible .*\), bops 30 \(feasible 20 … 40\)$/);
  });

  it("notes a budget that allows every layer its dearest candidate", async () => {
    const p: MixedProblem = { candidates: ["int4", "int8"], layers: [{ node: "a", group: "a", costs: { int4: { sensitivity: 1, sizeBits: 4000, bops: 10 }, int8: { sensitivity: 0, sizeBits: 8000, bops: 20 } } }] };
    const s = await solveAllocation(groupsOf(p), [{ kind: "size", limit: 9000 }]);
    expect(s.choice).toEqual([1]);
    expect(s.notes[0]).toMatch(/at or above the all-highest cost/);
  });
});
