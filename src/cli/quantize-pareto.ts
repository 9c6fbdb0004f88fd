/**
 * `fixq quantize … --mixed … --pareto P.json`: a sweep of the first budget's
 * kind (size when none is given) over `points` limits evenly spaced from the
 * all-lowest to the all-highest cost (other budgets held), each solved
 * exactly (sensitivities from the cache), quantized, and measured on the
 * evaluation data: top-1 and the drop against float when there are labels,
 * else agreement with float and SQNR. Points whose measured metric falls
 * below that of a smaller budget are flagged `nonMonotone`: the additive
 * sensitivity model is an approximation, and `spearman` (predicted objective
 * against measured metric, over the feasible points; −1 is a perfect
 * ranking) says how good it was.
 *
 * P.json: { kind, metric, points: [{ limit, predicted, measured, top1?,
 * agreement, sqnrDb, nonMonotone, choice: { node: candidate } } | { limit,
 * infeasible }], spearman }
 */
import { writeFileAtomic } from "../ir/atomic-write.js";
import { isFixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { compareModels } from "../eval/compare.js";
import type { EvalData } from "../eval/eval-data.js";
import { spearman } from "../eval/rank-correlation.js";
import type { DataSource } from "../quant/feeds.js";
import { allocateMixed, type MixedOptions } from "../quant/mixed/allocate.js";
import type { BudgetSpec } from "../quant/mixed/budget.js";
import { budgetRange, groupsOf, type MixedProblem } from "../quant/mixed/problem.js";
import { quantizeModel } from "../quant/quantize.js";
import type { Recipe, RecipeInput } from "../quant/recipe.js";
import { buildRecipe } from "../quant/recipe.js";

export const DEFAULT_PARETO_POINTS = 12;

export interface ParetoPoint {
  readonly limit: number;
  readonly infeasible?: string;
  readonly predicted?: number;
  /** top-1 with labels, else agreement with float (fractions). */
  readonly measured?: number;
  readonly top1?: number | null;
  readonly agreement?: number | null;
  readonly sqnrDb?: number;
  nonMonotone?: boolean;
  readonly choice?: Record<string, string>;
}

export interface ParetoResult {
  readonly kind: string;
  readonly metric: "top-1" | "agreement";
  readonly points: ParetoPoint[];
  readonly spearman: number | null;
  readonly nonMonotone: number;
}

export async function paretoSweep(
  a: {
    model: Model;
    problem: MixedProblem;
    source: () => DataSource;
    recipe: Recipe;
    recipeParts: readonly RecipeInput[];
    mixed: MixedOptions;
    evalData: EvalData;
    labels?: Int32Array;
    threads?: number;
    points?: number;
    file: string;
  },
  progress: (text: string) => void,
): Promise<ParetoResult> {
  const first: BudgetSpec | undefined = a.mixed.budgets[0];
  const kind = first?.kind ?? "size";
  const { min, max } = budgetRange(groupsOf(a.problem, [kind]), kind);
  const n = Math.max(2, a.points ?? DEFAULT_PARETO_POINTS);
  const points: ParetoPoint[] = [];
  for (let i = 0; i < n; i++) {
    const limit = min + ((max - min) * i) / (n - 1);
    const budgets = [{ kind, value: limit, percent: false, text: `${kind}=${limit}` }, ...a.mixed.budgets.slice(1)];
    progress(`pareto point ${i + 1}/${n}: ${kind} ≤ ${Math.round(limit)}`);
    const src = a.source();
    try {
      // The sweep shows the ILP's own front (no local search at each point: that would quantize each point --mixed-search times).
      const m = await allocateMixed(a.model, src, a.recipe, { ...a.mixed, budgets, shard: undefined, search: undefined });
      if (m.kind !== "solved") continue;
      const recipe = buildRecipe(...a.recipeParts, { layers: [...m.rules, ...((a.recipeParts[0]?.layers as unknown[] | undefined) ?? [])] });
      const q = await quantizeModel(a.model, src, recipe, { threads: a.threads });
      const c = await compareModels(a.model, q.model, a.evalData, a.labels, { threads: a.threads });
      const out = c.candidate.all.outputs[0];
      const top1 = c.candidate.all.accuracy?.top1 ?? null;
      const agreement = out?.agreement ?? null;
      points.push({ limit, predicted: m.report.objective, measured: (a.labels ? top1 : agreement) ?? undefined, top1, agreement, sqnrDb: out?.sqnrDb, choice: Object.fromEntries(m.report.layers.map((l) => [l.node, l.chosen])) });
    } catch (e) {
      if (!isFixqError(e) || e.code !== "usage") throw e;
      points.push({ limit, infeasible: e.message });
    } finally {
      src.close();
    }
  }
  let best = Number.NEGATIVE_INFINITY;
  let flagged = 0;
  for (const p of points) {
    if (p.measured === undefined) continue;
    p.nonMonotone = p.measured < best;
    if (p.nonMonotone) flagged++;
    best = Math.max(best, p.measured);
  }
  const feasible = points.filter((p) => p.measured !== undefined);
  const rho = feasible.length >= 2 ? spearman(feasible.map((p) => p.predicted!), feasible.map((p) => p.measured!)) : Number.NaN;
  const result: ParetoResult = { kind, metric: a.labels ? "top-1" : "agreement", points, spearman: Number.isFinite(rho) ? rho : null, nonMonotone: flagged };
  writeFileAtomic(a.file, new TextEncoder().encode(`${JSON.stringify(result, null, 1)}\n`));
  return result;
}
