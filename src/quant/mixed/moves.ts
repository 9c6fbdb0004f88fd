/**
 * The neighbourhood of an assignment x for the local search (search.ts):
 * assignments that differ from x in a few groups and hold every budget,
 * built so that no greedy re-fill undoes the move that made them.
 *
 *   pin   group g set to c ≠ x[g], the rest re-solved exactly: the ILP
 *         (solve.ts) with x[g] = c fixed, i.e. the best assignment under the
 *         additive model Σ S that has g at c. Raising g makes the solver pay
 *         for it by lowering the groups whose loss per bit is least; lowering
 *         g lets it spend what was freed. Run while G·(C − 1) ≤ `maxPins`.
 *   swap  group g set to c, then, while a budget is over, lower the group h ≠ g
 *         (and its candidate c′) of least ΔS per unit of excess removed,
 *           ΔS / Σ_{k over} (K_k[h, now] − K_k[h, c′]) / limit_k,
 *         then fill (below) every group not touched: the marginal-cost-ratio
 *         repair, cheap at any size.
 *   pair  groups i and j changed at once (2-opt), then filled with i and j
 *         held: kept only when that holds every budget. Run while
 *         G·(C − 1) ≤ `maxPairMoves` (the pairs grow as its square).
 *
 *   fill  upgrade, while every budget holds, the free group with the largest
 *         predicted gain ΔS per unit of the first budget's cost.
 *
 * Every neighbour is checked exactly against every budget; the list is
 * unique, excludes x, and is sorted by predicted objective Σ S (ties by the
 * choice vector), so the result is deterministic.
 */
import { type Assignment, type Budget, budgetRange, evaluate, type Group, withinBudgets } from "./problem.js";
import { solveAllocation } from "./solve.js";

export type MoveKind = "pin" | "swap" | "pair";

export interface Neighbour extends Assignment {
  readonly move: MoveKind;
}

/** Pinned re-solves are run while groups × (candidates − 1) is at most this (each is one HiGHS solve). */
export const DEFAULT_MAX_PINS = 160;
/** Pair moves are tried while groups × (candidates − 1) is at most this. */
export const MAX_PAIR_MOVES = 200;

/** Upgrades free groups while every budget holds, each time the one with the largest predicted gain ΔS per unit of the first budget's cost. */
export function fill(groups: readonly Group[], choice: number[], budgets: readonly Budget[], held: ReadonlySet<number> = new Set()): number[] {
  const kind = budgets[0]?.kind ?? "size";
  for (;;) {
    let best: { g: number; c: number; ratio: number } | undefined;
    for (let g = 0; g < groups.length; g++) {
      if (held.has(g)) continue;
      const gr = groups[g]!;
      const now = choice[g]!;
      for (let c = 0; c < gr.sensitivity.length; c++) {
        const gain = gr.sensitivity[now]! - gr.sensitivity[c]!;
        const extra = gr.cost[kind][c]! - gr.cost[kind][now]!;
        if (gain <= 0) continue;
        const ratio = extra <= 0 ? Number.POSITIVE_INFINITY : gain / extra;
        if (best && ratio <= best.ratio) continue;
        choice[g] = c;
        if (withinBudgets(evaluate(groups, choice, budgets), budgets)) best = { g, c, ratio };
        choice[g] = now;
      }
    }
    if (!best) return choice;
    choice[best.g] = best.c;
  }
}

/** Lowers groups outside `held` by least ΔS per unit of excess removed until every budget holds; undefined when it cannot. */
export function repair(groups: readonly Group[], choice: number[], budgets: readonly Budget[], held: Set<number>): number[] | undefined {
  for (;;) {
    const used = evaluate(groups, choice, budgets).used;
    const over = budgets.filter((b) => used[b.kind]! > b.limit + 1e-12 * Math.abs(b.limit));
    if (over.length === 0) return choice;
    let best: { h: number; c: number; ratio: number } | undefined;
    for (let h = 0; h < groups.length; h++) {
      if (held.has(h)) continue;
      const gr = groups[h]!;
      const now = choice[h]!;
      for (let c = 0; c < gr.sensitivity.length; c++) {
        const saved = over.reduce((s, b) => s + Math.max(0, gr.cost[b.kind][now]! - gr.cost[b.kind][c]!) / Math.max(Math.abs(b.limit), 1e-30), 0);
        if (saved <= 0) continue;
        const ratio = Math.max(0, gr.sensitivity[c]! - gr.sensitivity[now]!) / saved;
        if (!best || ratio < best.ratio) best = { h, c, ratio };
      }
    }
    if (!best) return undefined;
    choice[best.h] = best.c;
    held.add(best.h);
  }
}

/** The ILP optimum with group g pinned to candidate c (the other candidates of g removed); undefined when no assignment with g at c holds the budgets. */
async function pinned(groups: readonly Group[], budgets: readonly Budget[], g: number, c: number): Promise<number[] | undefined> {
  const one = (v: readonly number[]) => [v[c]!];
  const gr = groups[g]!;
  const cost = Object.fromEntries(Object.entries(gr.cost).map(([k, v]) => [k, one(v)])) as unknown as Group["cost"];
  const reduced = groups.map((x, i) => (i === g ? { ...x, sensitivity: one(gr.sensitivity), cost } : x));
  if (budgets.some((b) => budgetRange(reduced, b.kind).min > b.limit)) return undefined;
  try {
    const s = await solveAllocation(reduced, budgets);
    return s.choice.map((k, i) => (i === g ? c : k));
  } catch {
    return undefined; // budgets that cannot hold together with g at c
  }
}

/** The neighbours of `x` (see the header), unique, feasible, by increasing predicted objective. */
export async function neighbourhood(groups: readonly Group[], x: readonly number[], budgets: readonly Budget[], maxPins = DEFAULT_MAX_PINS): Promise<Neighbour[]> {
  const seen = new Map<string, Neighbour>();
  const key = (c: readonly number[]) => c.join(",");
  const add = (choice: readonly number[] | undefined, move: MoveKind) => {
    if (!choice) return;
    const k = key(choice);
    if (k === key(x) || seen.has(k)) return;
    const a = evaluate(groups, choice, budgets);
    if (withinBudgets(a, budgets)) seen.set(k, { ...a, move });
  };
  const n = groups.length;
  const moves: [number, number][] = [];
  for (let g = 0; g < n; g++) for (let c = 0; c < groups[g]!.sensitivity.length; c++) if (c !== x[g]) moves.push([g, c]);
  if (moves.length <= maxPins) for (const [g, c] of moves) add(await pinned(groups, budgets, g, c), "pin");
  for (const [g, c] of moves) {
    const y = [...x];
    y[g] = c;
    const held = new Set([g]);
    const r = repair(groups, y, budgets, held);
    add(r && fill(groups, r, budgets, held), "swap");
  }
  for (let a = 0; a < (moves.length <= MAX_PAIR_MOVES ? moves.length : 0); a++) {
    for (let b = a + 1; b < moves.length; b++) {
      const [i, ci] = moves[a]!;
      const [j, cj] = moves[b]!;
      if (i === j) continue;
      const y = [...x];
      y[i] = ci;
      y[j] = cj;
      if (!withinBudgets(evaluate(groups, y, budgets), budgets)) continue;
      add(fill(groups, y, budgets, new Set([i, j])), "pair");
    }
  }
  return [...seen.values()].sort((p, q) => p.objective - q.objective || (key(p.choice) < key(q.choice) ? -1 : 1));
}
