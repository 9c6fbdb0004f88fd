/**
 * The `mixed` object of quantize's JSON summary: every number an external
 * MILP solver needs to re-check the answer (each layer's group and per
 * candidate sensitivity, sizeBits, bops and latency; each budget's limit in
 * the same units), the choice, the objective Σ chosen sensitivity, and how
 * HiGHS ended. Also the tie groups with their reasons, and the cache use.
 *
 * With the local search (search.ts), `chosen`, `objective` and `budgets.used`
 * are those of the assignment the search kept; `search.ilp` is the ILP
 * optimum (what an external solver fed the costs finds), with its predicted
 * objective and measured error, next to the kept one's.
 */
import { formatBudgetValue } from "./budget.js";
import type { TieGroup } from "./layers.js";
import type { Budget, CandidateCost, Group, MixedProblem } from "./problem.js";
import type { SearchResult, SearchStep } from "./search.js";
import type { Solution, SolverReport } from "./solve.js";

/** One scored assignment: its predicted objective Σ S, its measured error D, and the candidate of each group. */
export interface ScoredAssignment {
  readonly predicted: number;
  readonly measured: number;
  readonly choice: Readonly<Record<string, string>>;
}

export interface SearchReport {
  /** Whole-model quantizations scored (the ILP optimum included), all distinct assignments. */
  readonly evaluations: number;
  /** Of those, how many each kind of move (moves.ts) reached, the start counted as "start". */
  readonly byMove: Readonly<Record<string, number>>;
  /** The move that reached the kept assignment ("start": the ILP optimum). */
  readonly keptMove: string;
  /** Improving moves made. */
  readonly moves: number;
  readonly samples: number;
  /** What `measured` is (search-objective.ts): kl-softmax or relative-mse (label-free), cross-entropy, or kl-softmax+cross-entropy (labelled). */
  readonly objective: string;
  readonly ms: number;
  readonly ilp: ScoredAssignment;
  readonly kept: ScoredAssignment;
}

/** The search's result in report form (choices keyed by group). */
export function searchReport(r: SearchResult, groups: readonly Group[], candidates: readonly string[], run: { samples: number; ms: number; objective: string }): SearchReport {
  const scored = (s: SearchStep): ScoredAssignment => ({ predicted: s.predicted, measured: s.measured, choice: Object.fromEntries(groups.map((g, i) => [g.name, candidates[s.choice[i]!]!])) });
  const byMove: Record<string, number> = {};
  for (const s of r.scored) byMove[s.move] = (byMove[s.move] ?? 0) + 1;
  return { evaluations: r.scored.length, byMove, keptMove: r.best.move, moves: r.moves, ...run, ilp: scored(r.start), kept: scored(r.best) };
}

export interface MixedReport {
  readonly candidates: readonly string[];
  readonly sensitivityMethod: "measured" | "hessian";
  /** kl-softmax (classifier outputs) or relative-mse, and the samples measured. */
  readonly sensitivityMetric: string;
  readonly samples: number;
  readonly layers: readonly { node: string; group: string; costs: Readonly<Record<string, CandidateCost>>; chosen: string }[];
  readonly groups: readonly { name: string; members: readonly string[]; reasons: readonly string[] }[];
  readonly budgets: Readonly<Record<string, { limit: number; used: number }>>;
  readonly objective: number;
  readonly solver: SolverReport;
  readonly notes: readonly string[];
  readonly cache: { readonly folder: string; readonly measured: number; readonly reused: number; readonly measureMs: number };
  readonly search?: SearchReport;
}

export function mixedReport(a: { problem: MixedProblem; groups: readonly Group[]; ties: readonly TieGroup[]; budgets: readonly Budget[]; solution: Solution; metric: string; method: "measured" | "hessian"; samples: number; cache: MixedReport["cache"]; search?: SearchReport }): MixedReport {
  const chosenOfGroup = new Map(a.groups.map((g, i) => [g.name, a.problem.candidates[a.solution.choice[i]!]!]));
  return {
    candidates: a.problem.candidates,
    sensitivityMethod: a.method,
    sensitivityMetric: a.metric,
    samples: a.samples,
    layers: a.problem.layers.map((l) => ({ node: l.node, group: l.group, costs: l.costs, chosen: chosenOfGroup.get(l.group)! })),
    groups: a.ties.map((t) => ({ name: t.name, members: t.members, reasons: t.reasons })),
    budgets: Object.fromEntries(a.budgets.map((b) => [b.kind, { limit: b.limit, used: a.solution.used[b.kind]! }])),
    objective: a.solution.objective,
    solver: a.solution.solver,
    notes: a.solution.notes,
    cache: a.cache,
    ...(a.search ? { search: a.search } : {}),
  };
}

/** The terminal lines: the choice per candidate, each budget's use, the solver, ties. */
export function mixedText(r: MixedReport): string {
  const count = new Map<string, number>();
  for (const l of r.layers) count.set(l.chosen, (count.get(l.chosen) ?? 0) + 1);
  const lines = [`  mixed precision: ${r.candidates.map((c) => `${c} × ${count.get(c) ?? 0}`).join(", ")} (${r.layers.length} layers, sensitivity ${r.sensitivityMetric} on ${r.samples} samples, ${r.cache.measured} measured, ${r.cache.reused} from the cache)`];
  for (const [kind, b] of Object.entries(r.budgets)) lines.push(`    ${kind}: ${formatBudgetValue(kind as Budget["kind"], b.used)} of ${formatBudgetValue(kind as Budget["kind"], b.limit)}`);
  lines.push(`    ${r.solver.name}: ${r.solver.status}, gap ${r.solver.gap}, ${r.solver.ms.toFixed(1)} ms; objective ${r.objective.toPrecision(6)}`);
  for (const g of r.groups) if (g.members.length > 1) lines.push(`    tied: ${g.members.join(", ")} (${g.reasons.join("; ")})`);
  if (r.search) {
    const s = r.search;
    const what = s.moves > 0 ? `kept a ${s.keptMove} neighbour (${s.moves} improvement(s)): ${s.objective} ${s.kept.measured.toPrecision(4)} against the ILP optimum's ${s.ilp.measured.toPrecision(4)}` : `kept the ILP optimum (${s.objective} ${s.ilp.measured.toPrecision(4)})`;
    const kinds = Object.entries(s.byMove).filter(([k]) => k !== "start").map(([k, v]) => `${v} ${k}`).join(", ");
    lines.push(`    search: ${s.evaluations} assignments scored (${kinds || "no neighbour"}) on ${s.samples} samples in ${(s.ms / 1000).toFixed(1)} s; ${what}`);
  }
  for (const n of r.notes) lines.push(`    note: ${n}`);
  return `${lines.join("\n")}\n`;
}
