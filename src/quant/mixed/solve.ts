/**
 * Solves the allocation problem (problem.ts) to proven optimality with HiGHS
 * (npm `highs`, WebAssembly), from a CPLEX LP text:
 *
 *   minimise    Σ_g Σ_c (S[g,c] − min_c S[g,c]) / σ · x[g,c]
 *   subject to  Σ_c x[g,c] = 1                                      (one choice per group)
 *               Σ_g Σ_c (K[g,c] − min_c K[g,c]) / s_k · x[g,c] ≤ (limit_k − Σ_g min_c K[g,c]) / s_k
 *               x binary
 *
 * Both shifts are constants because every group takes exactly one candidate,
 * so the optimum is that of the unshifted problem; they and the scales
 * (σ = the largest shifted sensitivity / 1000, s_k = the budget's slack) keep
 * tiny sensitivities and budgets of 10⁹ bits within HiGHS's tolerances.
 * mip_rel_gap = mip_abs_gap = 0, so "Optimal" means proven optimal (restarts
 * off: a speed choice, not an approximation). The
 * assignment HiGHS returns is re-evaluated exactly from the unscaled sums, and
 * checked against every budget.
 *
 * Before solving, each budget is compared with its feasible range (every group
 * at its cheapest … every group at its dearest candidate): a budget below the
 * cheapest total, or budgets that together exclude every assignment, are a
 * usage error giving each budget's range.
 */
import type { Highs } from "highs";
import { FixqError } from "../../ir/errors.js";
import { formatBudgetValue } from "./budget.js";
import { type Assignment, type Budget, budgetRange, evaluate, type Group, withinBudgets } from "./problem.js";

export interface SolverReport {
  readonly name: string;
  /** HiGHS's model status ("Optimal"). */
  readonly status: string;
  /** The relative MIP gap HiGHS reports at the end (0 at proven optimality). */
  readonly gap: number;
  readonly ms: number;
}

export interface Solution extends Assignment {
  readonly solver: SolverReport;
  /** Notes for the report: a budget at or above the all-highest cost. */
  readonly notes: readonly string[];
}

let highs: Promise<Highs> | undefined;

/**
 * The HiGHS WebAssembly instance, loaded once per process, on the first solve (the
 * package is imported then, so commands that solve nothing do not pay for it at start-up).
 * The package's typings describe a CommonJS module; under Node's ESM loader its default
 * export is the loader itself.
 */
function loadHighs(): Promise<Highs> {
  highs ??= import("highs").then((m) => (m.default as unknown as (typeof m.default)["default"])());
  return highs;
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(17));
const col = (g: number, c: number) => `x_${g}_${c}`;

/** A linear expression, a few terms per line (LP readers accept continuation lines). */
function expression(terms: readonly [number, string][]): string {
  const parts = terms.map(([a, v], i) => `${a < 0 ? "-" : i === 0 ? "" : "+"} ${num(Math.abs(a))} ${v}`.trim());
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += 8) lines.push(` ${parts.slice(i, i + 8).join(" ")}`);
  return lines.join("\n");
}

/** The scaled, shifted model as CPLEX LP text (see the header). */
const shifted = (v: readonly number[]) => {
  const m = Math.min(...v);
  return v.map((x) => x - m);
};

/** The objective coefficients the solver sees: per group (S[g,c] − min_c S[g,c]) / σ, σ = the largest of them / 1000. */
export function scaledObjective(groups: readonly Group[]): number[][] {
  const rows = groups.map((g) => shifted(g.sensitivity));
  const sigma = Math.max(...rows.flat()) / 1000 || 1;
  return rows.map((r) => r.map((s) => s / sigma));
}

export function lpText(groups: readonly Group[], budgets: readonly Budget[]): string {
  const obj: [number, string][] = [];
  scaledObjective(groups).forEach((row, g) => {
    row.forEach((s, c) => {
      obj.push([s, col(g, c)]);
    });
  });
  const out = ["Minimize", ` obj:\n${expression(obj)}`, "Subject To"];
  groups.forEach((g, gi) => {
    out.push(` one_${gi}:\n${expression(g.sensitivity.map((_, c) => [1, col(gi, c)]))} = 1`);
  });
  for (const b of budgets) {
    const { min } = budgetRange(groups, b.kind);
    const slack = b.limit - min;
    const scale = slack > 0 ? slack : 1;
    const terms: [number, string][] = [];
    groups.forEach((g, gi) => {
      shifted(g.cost[b.kind]).forEach((k, c) => {
        if (k !== 0) terms.push([k / scale, col(gi, c)]);
      });
    });
    if (terms.length > 0) out.push(` budget_${b.kind}:\n${expression(terms)} <= ${num(slack / scale)}`);
  }
  out.push("Binary");
  const vars = groups.flatMap((g, gi) => g.sensitivity.map((_, c) => col(gi, c)));
  for (let i = 0; i < vars.length; i += 10) out.push(` ${vars.slice(i, i + 10).join(" ")}`);
  out.push("End", "");
  return out.join("\n");
}

/** Each budget's feasible range, for the message of an infeasible problem. */
function rangesText(groups: readonly Group[], budgets: readonly Budget[]): string {
  return budgets
    .map((b) => {
      const { min, max } = budgetRange(groups, b.kind);
      return `${b.kind} ${formatBudgetValue(b.kind, b.limit)} (feasible ${formatBudgetValue(b.kind, min)} … ${formatBudgetValue(b.kind, max)})`;
    })
    .join(", ");
}

/** Throws the usage error for budgets no assignment meets, or returns notes on budgets every assignment meets. */
export function checkBudgets(groups: readonly Group[], budgets: readonly Budget[]): string[] {
  const notes: string[] = [];
  for (const b of budgets) {
    const { min, max } = budgetRange(groups, b.kind);
    if (b.limit < min) throw new FixqError("usage", `--budget ${b.kind} is below the all-lowest cost: ${rangesText(groups, budgets)}`);
    if (b.limit >= max) notes.push(`${b.kind} budget ${formatBudgetValue(b.kind, b.limit)} is at or above the all-highest cost ${formatBudgetValue(b.kind, max)}: it allows every layer the highest candidate`);
  }
  return notes;
}

/** Solves the problem exactly; throws a usage error when the budgets cannot all hold. */
export async function solveAllocation(groups: readonly Group[], budgets: readonly Budget[]): Promise<Solution> {
  const notes = checkBudgets(groups, budgets);
  const h = await loadHighs();
  const t0 = performance.now();
  const model = h.createModel({ format: "lp", data: lpText(groups, budgets) });
  try {
    // No restarts: HiGHS otherwise restarts the root many times as presolve fixes a few columns each (2–3× slower on 400 layers).
    model.options.set({ output_flag: false, mip_rel_gap: 0, mip_abs_gap: 0, primal_feasibility_tolerance: 1e-10, mip_feasibility_tolerance: 1e-9, mip_allow_restart: false });
    model.run();
    const code = model.getModelStatus();
    const status = Object.entries(h.constants.modelStatus).find(([, v]) => v === code)?.[0] ?? String(code);
    const ms = performance.now() - t0;
    if (code === h.constants.modelStatus.infeasible) throw new FixqError("usage", `the budgets cannot all hold at once: ${rangesText(groups, budgets)}`);
    if (code !== h.constants.modelStatus.optimal) throw new FixqError("runtime", `HiGHS did not prove an optimum (status ${status})`);
    const x = model.getSolution().colValue;
    const index = new Map<string, number>();
    for (let i = 0; i < x.length; i++) index.set(model.getColName(i), i);
    const choice = groups.map((g, gi) => {
      const c = g.sensitivity.findIndex((_, ci) => (x[index.get(col(gi, ci))!] ?? 0) > 0.5);
      if (c < 0) throw new FixqError("runtime", `HiGHS returned no candidate for group '${g.name}'`);
      return c;
    });
    const a = evaluate(groups, choice, budgets);
    if (!withinBudgets(a, budgets)) throw new FixqError("runtime", `HiGHS returned an assignment over budget (${JSON.stringify(a.used)})`);
    const gap = Number(model.info.get("mip_gap"));
    return { ...a, notes, solver: { name: `HiGHS ${h.version.string}`, status: status === "optimal" ? "Optimal" : status, gap: Number.isFinite(gap) ? gap : 0, ms } };
  } finally {
    model.dispose();
  }
}
