/**
 * Mixed precision end to end, before quantization: find the layers and their
 * tie groups (layers.ts), cost every (layer, candidate) (weight-cost.ts),
 * measure the sensitivities missing from the cache (measure.ts, cache.ts),
 * solve the allocation exactly (solve.ts), search around the optimum on the
 * real error of whole assignments when asked (search.ts, score-assignment.ts),
 * and turn the answer into `layers` rules, one per layer, that the ordinary
 * per-layer format machinery applies.
 *
 * `shard: {index, count}` measures only the pairs k with k mod count = index
 * (pairs in layer-major order), writes them to the cache and stops.
 */
import { encodeModel } from "../../ir/onnx/save.js";
import type { Model } from "../../ir/graph.js";
import { FixqError } from "../../ir/errors.js";
import { prepareFloatModel } from "../../passes/pipeline.js";
import type { DataSource } from "../feeds.js";
import type { LayerRuleInput } from "../layer-rules.js";
import type { Recipe } from "../recipe.js";
import { type BudgetSpec, resolveBudgets } from "./budget.js";
import { cacheFolder, entryKey, readCache, sha256, writeCache } from "./cache.js";
import { type Candidate, parseCandidates } from "./candidates.js";
import { type LatencyTable, latencyOf } from "./latency-table.js";
import { activationMeasurement } from "./activation-formats.js";
import { mixedSites, tieGroups } from "./layers.js";
import { type MeasurePair, measureSensitivities } from "./measure.js";
import { type CandidateCost, evaluate, groupsOf, type MixedLayer, type MixedProblem } from "./problem.js";
import { mixedReport, type MixedReport, type SearchReport, searchReport } from "./report.js";
import { assignmentScorer } from "./score-assignment.js";
import { type SearchShape, searchAround } from "./search.js";
import { objectiveName, type SearchObjective } from "./search-objective.js";
import { solveAllocation } from "./solve.js";
import { HESSIAN_PROBES, hessianPairs, hessianSensitivity, traceOf } from "./hessian.js";
import { tensorToFloat64 } from "../../ir/tensor.js";
import { actBits, weightUnderCandidate } from "./weight-cost.js";

export interface MixedOptions {
  readonly candidates: string;
  readonly budgets: readonly BudgetSpec[];
  readonly cacheRoot: string;
  readonly shard?: { readonly index: number; readonly count: number };
  readonly tieResidual?: boolean;
  readonly ties?: readonly (readonly string[])[];
  readonly latencyTable?: LatencyTable;
  /** measured (default) or the Hessian proxy (hessian.ts). */
  readonly sensitivity?: "measured" | "hessian";
  /** Calibration samples measured (default 128, at most the data's). */
  readonly samples?: number;
  readonly threads?: number;
  readonly progress?: (text: string) => void;
  /**
   * The local search on the real metric (search.ts): at most `evaluations`
   * whole-model quantizations scored on `samples` calibration samples
   * (default 512, at most the data's); `recipeWith` builds the recipe that
   * puts the given rules ahead of the user's. Absent or 0 evaluations: the
   * ILP optimum as it is. `scoreOn`: the calibration samples to score on
   * when not the first `samples` of the calibration source (which the
   * quantizer still calibrates on). `objective`: what the search minimises
   * (search-objective.ts; default kl, the label-free D), `labels` the class
   * of each scored sample, needed by xent and kl+xent.
   */
  readonly search?: { readonly evaluations: number; readonly samples?: number; readonly scoreOn?: DataSource; readonly shape?: SearchShape; readonly recipeWith: (rules: LayerRuleInput[]) => Recipe; readonly objective?: SearchObjective; readonly labels?: ArrayLike<number> };
}

export type MixedOutcome =
  | { readonly kind: "solved"; readonly report: MixedReport; readonly rules: LayerRuleInput[]; readonly problem: MixedProblem }
  | { readonly kind: "shard"; readonly measured: number; readonly total: number; readonly folder: string };

/** The `layers` rule giving one node one candidate: an anchored, escaped regex (node names may hold glob characters). */
export function ruleFor(node: string, c: Candidate): LayerRuleInput {
  const nameRegex = `^${node.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
  return c.acts === undefined ? { match: { nameRegex }, weights: c.weights } : { match: { nameRegex }, weights: c.weights, acts: c.acts };
}

/** SHA-256 of the samples measured, batch by batch. */
function dataHash(source: DataSource, samples: number, step: number): string {
  const parts: Uint8Array[] = [new TextEncoder().encode(String(samples))];
  for (let s = 0; s < samples; s += step) {
    const b = source.batch(s, Math.min(step, samples - s));
    for (const k of Object.keys(b).sort()) {
      const d = b[k]!.data as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
      parts.push(new TextEncoder().encode(k), new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  return sha256(parts);
}

export async function allocateMixed(model: Model, source: DataSource, recipe: Recipe, o: MixedOptions): Promise<MixedOutcome> {
  const candidates = parseCandidates(o.candidates, recipe);
  const float = prepareFloatModel(model, recipe).model;
  const g = float.graph!;
  const sites = mixedSites(g, recipe);
  if (sites.length === 0) throw new FixqError("unsupported", "--mixed: the model has no named Conv, Gemm or MatMul layer with a constant weight to choose formats for");
  const actsDiffer = new Set(candidates.map((c) => c.settings.acts)).size > 1;
  const ties = tieGroups(g, sites, { actsDiffer, tieResidual: o.tieResidual ?? false, ties: o.ties ?? [], where: recipe.recipeFile });
  const groupOf = new Map(ties.flatMap((t) => t.members.map((m) => [m, t.name] as const)));
  const candHash = candidates.map((c) => sha256([JSON.stringify(c.settings)]).slice(0, 16));

  const samples = Math.min(o.samples ?? 128, source.count);
  const step = source.fixedBatch ?? Math.max(1, Math.min(recipe.batchSize, samples));
  const method = o.sensitivity ?? "measured";
  // "measured-acts": measured sensitivities include the activation formats (older caches measured weights alone).
  const folder = cacheFolder(o.cacheRoot, sha256([encodeModel(float)]), dataHash(source, samples, step), method === "measured" ? "measured-acts" : method);
  const cached = readCache(folder);

  // Costs of every pair; Q(W) kept only for the pairs this run measures (measured), or for ‖W − Q(W)‖² (hessian).
  const pairs: (MeasurePair & { site?: number; candidate?: number })[] = [];
  let k = 0;
  const mine = () => o.shard === undefined || k++ % o.shard.count === o.shard.index;
  const floatW = (s: (typeof sites)[number]) => Float32Array.from(tensorToFloat64(s.use.tensor));
  const costs = sites.map((s, si) => {
    const w = method === "hessian" ? floatW(s) : undefined;
    if (w) for (const p of hessianPairs(s.name, s.node.inputs[1]!, w)) if (mine() && !cached.entries.has(p.key)) pairs.push(p);
    return candidates.map((c, ci) => {
      const q = weightUnderCandidate(s.use, c.settings);
      const key = entryKey(s.name, candHash[ci]!);
      if (!w && mine() && !cached.entries.has(key)) pairs.push({ key, weight: s.node.inputs[1]!, values: q.values, site: si, candidate: ci });
      return { sizeBits: q.sizeBits, bops: s.macs * q.valueBits * actBits(c.settings.acts), key, w, q: w ? q.values : undefined };
    });
  });
  const t0 = performance.now();
  let metric = cached.metric;
  if (pairs.length > 0) {
    o.progress?.(`measuring ${pairs.length} (layer, candidate) sensitivities on ${samples} samples`);
    const acts = method === "measured" ? await activationMeasurement(float, source, recipe, sites, candidates, { batchSize: recipe.batchSize, threads: o.threads }) : undefined;
    const withMasks = pairs.map((p) => (acts && p.site !== undefined ? { ...p, masks: acts.masks(p.site, p.candidate!) } : p));
    const m = await measureSensitivities(float, new Set(sites.map((s) => s.node.inputs[1]!)), withMasks, source, { samples, batchSize: recipe.batchSize, threads: o.threads, acts: acts?.list });
    metric = m.metric;
    writeCache(folder, o.shard ? `shard-${o.shard.index}-of-${o.shard.count}.json` : `run-${Date.now()}-${process.pid}.json`, m.metric, m.values);
    for (const [key, v] of m.values) cached.entries.set(key, v);
  }
  const measureMs = performance.now() - t0;
  const total = sites.length * (method === "hessian" ? 2 * HESSIAN_PROBES : candidates.length);
  if (o.shard) return { kind: "shard", measured: pairs.length, total, folder };
  const sensitivityOf = (si: number, ci: number): number => {
    const x = costs[si]![ci]!;
    if (!x.w) return cached.entries.get(x.key)!;
    return hessianSensitivity(traceOf(cached.entries, sites[si]!.name, x.w)!, x.w, x.q!);
  };

  const layers: MixedLayer[] = sites.map((s, si) => ({
    node: s.name,
    group: groupOf.get(s.name)!,
    costs: Object.fromEntries(
      candidates.map((c, ci): [string, CandidateCost] => {
        const x = costs[si]![ci]!;
        const latency = o.latencyTable ? latencyOf(o.latencyTable, s.name, c.text) : undefined;
        return [c.text, { sensitivity: sensitivityOf(si, ci), sizeBits: x.sizeBits, bops: x.bops, ...(latency === undefined ? {} : { latency }) }];
      }),
    ),
  }));
  const problem: MixedProblem = { candidates: candidates.map((c) => c.text), layers };
  const kinds = o.budgets.map((b) => b.kind);
  if (kinds.includes("latency") && !o.latencyTable) throw new FixqError("usage", "--budget latency=… needs --latency-table FILE");
  const groups = groupsOf(problem, [...new Set(["size", "bops", ...kinds] as const)]);
  const budgets = resolveBudgets(o.budgets, groups);
  const ilp = await solveAllocation(groups, budgets);
  const rulesOf = (choice: readonly number[]) => {
    const byGroup = new Map(groups.map((gr, i) => [gr.name, candidates[choice[i]!]!]));
    return sites.map((s) => ruleFor(s.name, byGroup.get(groupOf.get(s.name)!)!));
  };
  let search: SearchReport | undefined;
  let solution = ilp;
  if (o.search && o.search.evaluations > 0) {
    const scoreOn = o.search.scoreOn ?? source;
    const searchSamples = Math.min(o.search.samples ?? 512, scoreOn.count);
    const objective = o.search.objective ?? "kl";
    o.progress?.(`searching around the ILP optimum: up to ${o.search.evaluations} quantized assignments scored on ${searchSamples} calibration samples by ${objectiveName(objective, metric ?? "relative-mse")}`);
    const t1 = performance.now();
    const score = await assignmentScorer(model, source, o.search.recipeWith, { samples: searchSamples, batchSize: recipe.batchSize, threads: o.threads, objective, labels: o.search.labels }, scoreOn);
    const r = await searchAround(groups, budgets, ilp.choice, (choice) => score(rulesOf(choice)), o.search.evaluations, o.search.shape);
    solution = { ...ilp, ...evaluate(groups, r.best.choice, budgets) };
    search = searchReport(r, groups, candidates.map((c) => c.text), { samples: searchSamples, ms: performance.now() - t1, objective: objectiveName(objective, metric ?? "relative-mse") });
  }
  const report = mixedReport({ problem, groups, ties, budgets, solution, metric: metric ?? "relative-mse", method, samples, cache: { folder, measured: pairs.length, reused: total - pairs.length, measureMs }, search });
  return { kind: "solved", report, problem, rules: rulesOf(solution.choice) };
}
