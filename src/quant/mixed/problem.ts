/**
 * The mixed-precision allocation problem, as data: layers, each with a cost
 * per candidate format, grouped so that the layers of one group take the
 * same candidate (a singleton group per untied layer).
 *
 * With binary x[g, c] (group g takes candidate c):
 *
 *   minimise    Σ_g Σ_c S[g, c] · x[g, c]           S[g, c] = Σ_{l ∈ g} sensitivity[l, c]
 *   subject to  Σ_c x[g, c] = 1                      for every group g
 *               Σ_g Σ_c K[g, c] · x[g, c] ≤ limit_k  for every budget k (size, bops, latency)
 *
 * where K[g, c] = Σ_{l ∈ g} cost_k[l, c]. This file holds the types, the
 * group sums, each budget's feasible range and the exact check of an
 * assignment; solve.ts solves it.
 */

export const BUDGET_KINDS = ["size", "bops", "latency"] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

/** One layer's figures for one candidate. `sizeBits` and `bops` are exact integers; latency is in milliseconds. */
export interface CandidateCost {
  readonly sensitivity: number;
  readonly sizeBits: number;
  readonly bops: number;
  readonly latency?: number;
}

export interface MixedLayer {
  readonly node: string;
  /** Every layer has a group; layers of one group take one candidate. */
  readonly group: string;
  /** Keyed by the candidate string, as given on the command line. */
  readonly costs: Readonly<Record<string, CandidateCost>>;
}

export interface MixedProblem {
  readonly candidates: readonly string[];
  readonly layers: readonly MixedLayer[];
}

/** A budget: Σ of the chosen `kind` costs ≤ `limit` (bits for size, bit operations for bops, ms for latency). */
export interface Budget {
  readonly kind: BudgetKind;
  readonly limit: number;
}

/** A budget kind's figure in one cost (size is counted in bits). */
export function costOf(c: CandidateCost, kind: BudgetKind): number {
  if (kind === "size") return c.sizeBits;
  if (kind === "bops") return c.bops;
  if (c.latency === undefined) throw new Error("latency budget without a latency cost");
  return c.latency;
}

/** A group: its name, its layers (indices into `layers`) and, per candidate, the summed costs. */
export interface Group {
  readonly name: string;
  readonly layers: readonly number[];
  readonly sensitivity: readonly number[];
  /** cost[kind][c]. */
  readonly cost: Readonly<Record<BudgetKind, readonly number[]>>;
}

/** The groups of a problem in first-appearance order, with costs summed over their layers. */
export function groupsOf(p: MixedProblem, kinds: readonly BudgetKind[] = ["size", "bops"]): Group[] {
  const byName = new Map<string, number[]>();
  p.layers.forEach((l, i) => {
    const g = byName.get(l.group);
    if (g) g.push(i);
    else byName.set(l.group, [i]);
  });
  const sum = (members: number[], f: (c: CandidateCost) => number) => p.candidates.map((c) => members.reduce((s, i) => s + f(p.layers[i]!.costs[c]!), 0));
  return [...byName].map(([name, members]) => {
    const cost = {} as Record<BudgetKind, number[]>;
    for (const k of kinds) cost[k] = sum(members, (c) => costOf(c, k));
    return { name, layers: members, sensitivity: sum(members, (c) => c.sensitivity), cost };
  });
}

/** The cheapest and the dearest total of one budget kind: every group at its cheapest, every group at its dearest candidate. */
export function budgetRange(groups: readonly Group[], kind: BudgetKind): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (const g of groups) {
    min += Math.min(...g.cost[kind]);
    max += Math.max(...g.cost[kind]);
  }
  return { min, max };
}

/** The candidate index chosen for every group, and the totals it gives. */
export interface Assignment {
  readonly choice: readonly number[];
  readonly objective: number;
  readonly used: Readonly<Partial<Record<BudgetKind, number>>>;
}

/** Totals of an assignment (objective and each budget's use), computed exactly from the group sums. */
export function evaluate(groups: readonly Group[], choice: readonly number[], budgets: readonly Budget[]): Assignment {
  const used: Partial<Record<BudgetKind, number>> = {};
  for (const b of budgets) used[b.kind] = groups.reduce((s, g, i) => s + g.cost[b.kind][choice[i]!]!, 0);
  return { choice, objective: groups.reduce((s, g, i) => s + g.sensitivity[choice[i]!]!, 0), used };
}

/** True when every budget holds (with a relative slack of 1e-12 for summation order). */
export function withinBudgets(a: Assignment, budgets: readonly Budget[]): boolean {
  return budgets.every((b) => a.used[b.kind]! <= b.limit + 1e-12 * Math.abs(b.limit));
}
