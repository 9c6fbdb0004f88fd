/**
 * A local search on the real metric around the ILP optimum. The ILP
 * minimises Σ S[g, c], an additive model of the output error; the real error
 * of an assignment x, D(x) (the same metric as the sensitivities, measured
 * on calibration data with the whole model quantized as x asks), is not
 * additive: layers interact, and activation formats add error the
 * per-layer measurement sees only in part. So:
 *
 *   x* = ILP optimum, D* = D(x*)
 *   repeat: the neighbours of x* — x* with one group changed, or two groups
 *           changed, then filled (upgrade, while every budget holds, the
 *           group with the largest predicted gain per cost of the first
 *           budget) — that hold every budget and were not scored yet, in
 *           increasing predicted objective Σ S; score them in that order
 *           and move to the first with D < D*
 *   until no neighbour improves or `evaluations` scores were spent.
 *
 * The result never scores worse than the ILP optimum on the data scored
 * (D is measured, not predicted), and it holds every budget.
 */
import { type Assignment, type Budget, evaluate, type Group, withinBudgets } from "./problem.js";

export interface SearchStep {
  readonly choice: readonly number[];
  readonly predicted: number;
  readonly measured: number;
}

export interface SearchResult {
  readonly best: SearchStep;
  readonly start: SearchStep;
  /** Every assignment scored, in order (the start first). */
  readonly scored: readonly SearchStep[];
  /** Moves that improved D. */
  readonly moves: number;
}

/** Upgrades groups while every budget holds, each time the one with the largest predicted gain ΔS per unit of the first budget's cost. */
export function fill(groups: readonly Group[], choice: number[], budgets: readonly Budget[]): number[] {
  const kind = budgets[0]?.kind ?? "size";
  for (;;) {
    let best: { g: number; c: number; ratio: number } | undefined;
    for (let g = 0; g < groups.length; g++) {
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

/** The feasible neighbours of `x` (one or two groups changed, then filled), unique, by increasing predicted objective. */
export function neighbours(groups: readonly Group[], x: readonly number[], budgets: readonly Budget[]): Assignment[] {
  const seen = new Set<string>([x.join(",")]);
  const out: Assignment[] = [];
  const add = (choice: number[]) => {
    const filled = fill(groups, choice, budgets);
    const key = filled.join(",");
    if (seen.has(key)) return;
    seen.add(key);
    const a = evaluate(groups, filled, budgets);
    if (withinBudgets(a, budgets)) out.push(a);
  };
  const n = groups.length;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < groups[i]!.sensitivity.length; a++) {
      if (a === x[i]) continue;
      const one = [...x];
      one[i] = a;
      add([...one]);
      for (let j = i + 1; j < n; j++) {
        for (let b = 0; b < groups[j]!.sensitivity.length; b++) {
          if (b === x[j]) continue;
          const two = [...one];
          two[j] = b;
          add(two);
        }
      }
    }
  }
  return out.sort((p, q) => p.objective - q.objective);
}

/** The local search of the header; `score` measures D of an assignment. */
export async function searchAround(groups: readonly Group[], budgets: readonly Budget[], start: readonly number[], score: (choice: readonly number[]) => Promise<number>, evaluations: number): Promise<SearchResult> {
  const step = async (choice: readonly number[]): Promise<SearchStep> => ({ choice, predicted: evaluate(groups, choice, budgets).objective, measured: await score(choice) });
  const first = await step(start);
  const scored: SearchStep[] = [first];
  const tried = new Set([start.join(",")]);
  let best = first;
  let moves = 0;
  let improved = true;
  while (improved && scored.length < evaluations) {
    improved = false;
    for (const nb of neighbours(groups, best.choice, budgets)) {
      if (scored.length >= evaluations) break;
      const key = nb.choice.join(",");
      if (tried.has(key)) continue;
      tried.add(key);
      const s = await step(nb.choice);
      scored.push(s);
      if (s.measured < best.measured) {
        best = s;
        moves++;
        improved = true;
        break;
      }
    }
  }
  return { best, start: first, scored, moves };
}
