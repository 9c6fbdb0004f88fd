/**
 * `fixq quantize … --mixed CANDIDATES --budget KIND=VALUE …`: the flags and
 * recipe keys of mixed precision (quant/mixed/), and the step that runs it
 * before quantization. The answer becomes `layers` rules placed before the
 * recipe's own, so every writer and back end sees an ordinary per-layer
 * format plan.
 *
 *   --mixed LIST               candidates, WEIGHTS[/ACTS], comma-separated
 *   --budget KIND=VALUE        size | bops | latency (repeatable; see quant/mixed/budget.ts)
 *   --tie-residual             tie the layers feeding residual Adds and Concats
 *   --latency-table FILE       per-layer latencies for a latency budget
 *   --measure-latency FILE     time each layer under each candidate in ONNX Runtime,
 *                              write that table to FILE and use it (quant/mixed/measure-latency.ts)
 *   --latency-samples N        samples per timed run (default 8)
 *   --latency-runs N           timed runs after 2 warm-up ones, median kept (default 5)
 *   --sensitivity METHOD       measured (default) | hessian (quant/mixed/hessian.ts)
 *   --sensitivity-cache DIR    default: .fixq-sensitivity next to the output
 *   --shard I/N                measure the I-th of N parts (1 ≤ I ≤ N) into the cache and stop
 *   --sensitivity-samples N    calibration samples measured (default 128)
 *   --mixed-search N           whole-model quantizations the beam search around the
 *                              ILP optimum scores on calibration data (default 16; 0: the
 *                              ILP optimum as is; quant/mixed/search.ts, moves.ts)
 *   --mixed-score OBJECTIVE    what the search minimises: kl (default; the float model's
 *                              output KL, label-free) | xent (cross-entropy of the true
 *                              label) | kl+xent (quant/mixed/search-objective.ts)
 *   --mixed-labels FILE        the class of each calibration sample (.npy/.npz, one integer
 *                              array), for xent and kl+xent
 *   --pareto FILE              also sweep the first budget (quantize-pareto.ts)
 *   --pareto-points N          points of the sweep (default 12)
 *
 * Recipe keys: mixed, budget (a string or a list), tieResidual, tie (lists
 * of node names), latencyTable, measureLatency, latencySamples, latencyRuns, sensitivity, sensitivityCache,
 * sensitivitySamples, mixedSearch, mixedScore, mixedLabels.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import type { DataSource } from "../quant/feeds.js";
import { allocateMixed, type MixedOptions, type MixedOutcome } from "../quant/mixed/allocate.js";
import { parseBudgets } from "../quant/mixed/budget.js";
import { readLatencyTable } from "../quant/mixed/latency-table.js";
import { measureLatencyTable } from "../quant/mixed/measure-latency.js";
import type { LayerRuleInput } from "../quant/layer-rules.js";
import type { Recipe, RecipeInput } from "../quant/recipe.js";
import { writeFileAtomic } from "../ir/atomic-write.js";
import { needsLabels, SEARCH_OBJECTIVES, type SearchObjective } from "../quant/mixed/search-objective.js";
import { bindLabels } from "../eval/eval-data.js";
import { readArrays } from "./eval.js";

export interface MixedInput {
  mixed?: string;
  budget?: string[] | string;
  tieResidual?: boolean;
  tie?: string[][];
  latencyTable?: string;
  measureLatency?: string;
  latencySamples?: string | number;
  latencyRuns?: string | number;
  sensitivity?: string;
  sensitivityCache?: string;
  sensitivitySamples?: string | number;
  mixedSearch?: string | number;
  mixedScore?: string;
  mixedLabels?: string;
  shard?: string;
  pareto?: string;
  paretoPoints?: string | number;
}

export const MIXED_KEYS = ["mixed", "budget", "tieResidual", "tie", "latencyTable", "measureLatency", "latencySamples", "latencyRuns", "sensitivity", "sensitivityCache", "sensitivitySamples", "mixedSearch", "mixedScore", "mixedLabels", "shard", "pareto", "paretoPoints"] as const;

const collect = (v: string, all: string[] = []) => [...all, v];

/** Whole-model quantizations the local search (quant/mixed/search.ts) scores by default. */
export const DEFAULT_SEARCH_EVALUATIONS = 16;

/** Adds the mixed-precision flags to `quantize`. */
export function withMixedFlags(cmd: Command): Command {
  return cmd
    .option("--mixed <candidates>", "mixed precision: choose per layer among these WEIGHTS[/ACTS] formats, e.g. int4,int8 or int4/uint8,int8/uint16 (an exact ILP solved by HiGHS)")
    .option("--budget <kind=value>", "with --mixed: size=5.2MB|75%, bops=3G|60%, latency=2ms|90% (percentages of the all-highest cost; repeatable)", collect)
    .option("--tie-residual", "with --mixed: layers feeding one residual Add/Concat take one format")
    .option("--latency-table <file>", "with --mixed: JSON of per-layer latencies per candidate, { \"unit\": \"ms\", \"layers\": { NODE: { CANDIDATE: ms } } }")
    .option("--measure-latency <file>", "with --mixed: time each layer under each candidate in ONNX Runtime (profiler), write that latency table to FILE and use it as --latency-table")
    .option("--latency-samples <n>", "with --measure-latency: samples per timed run (default 8)")
    .option("--latency-runs <n>", "with --measure-latency: timed runs after 2 warm-up ones; the median is kept (default 5)")
    .option("--sensitivity <method>", "with --mixed: measured (default; the output change with only that layer quantized) | hessian (Hutchinson trace by finite differences × ‖W − Q(W)‖²)")
    .option("--sensitivity-cache <dir>", "with --mixed: where measured sensitivities are kept (default .fixq-sensitivity next to the output)")
    .option("--sensitivity-samples <n>", "with --mixed: calibration samples the sensitivities are measured on (default 128)")
    .option("--mixed-search <n>", `with --mixed: whole-model quantizations a beam search around the ILP optimum scores on calibration data (neighbours: the ILP re-solved with one layer pinned, swaps, 2-opt pairs), keeping the assignment of least measured error (default ${DEFAULT_SEARCH_EVALUATIONS}; 0: the ILP optimum as is)`)
    .option("--mixed-score <objective>", "with --mixed: what the search scores assignments by: kl (default; KL of the quantized outputs against the float model's, label-free) | xent (cross-entropy of the true label; needs --mixed-labels) | kl+xent (both summed)")
    .option("--mixed-labels <file>", "with --mixed-score xent or kl+xent: the class of each calibration sample (.npy or .npz holding one integer array, [N] or [N,1]); never use test labels")
    .option("--pareto <file>", "with --mixed: also sweep the first budget from all-lowest to all-highest, quantize and evaluate each point (bundled models: their eval set; else --eval DATA), and write the front as JSON")
    .option("--pareto-points <n>", "with --pareto: budget points (default 12)")
    .option("--shard <i/n>", "with --mixed: measure part I of N (1..N) of the sensitivities into the cache and stop (merge the caches by copying, then run without --shard)");
}

/** Takes the mixed keys out of a recipe file's values (flags win). */
export function splitMixedInput<T extends object>(file: T & MixedInput, flags: MixedInput): { rest: T; mixed: MixedInput } {
  const rest = { ...file } as T & MixedInput;
  const mixed: MixedInput = {};
  for (const k of MIXED_KEYS) {
    const v = flags[k] ?? file[k];
    if (v !== undefined) (mixed as Record<string, unknown>)[k] = v;
    delete (rest as Record<string, unknown>)[k];
  }
  return { rest, mixed };
}

function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const i = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || !(n >= 1) || !(i >= 1 && i <= n)) throw new FixqError("usage", `--shard must be I/N with 1 <= I <= N, got '${text}'`);
  return { index: i - 1, count: n };
}

/** What --measure-latency asked for, checked. */
export interface MeasureLatencyRequest {
  readonly file: string;
  readonly samples?: number;
  readonly runs?: number;
}

/** The mixed options, the latency measurement to run before allocating, and the search's labels file (read once the calibration data is open). */
export type MixedCliOptions = MixedOptions & { readonly measureLatency?: MeasureLatencyRequest; readonly labelsFile?: string };

function positiveInt(v: string | number | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n > 0)) throw new FixqError("usage", `${flag} must be a positive integer, got '${v}'`);
  return n;
}

function measureRequest(m: MixedInput): MeasureLatencyRequest | undefined {
  if (m.measureLatency === undefined) {
    if (m.latencySamples !== undefined || m.latencyRuns !== undefined) throw new FixqError("usage", `--${m.latencySamples !== undefined ? "latency-samples" : "latency-runs"} needs --measure-latency FILE`);
    return undefined;
  }
  if (m.latencyTable !== undefined) throw new FixqError("usage", "give --latency-table FILE or --measure-latency FILE, not both");
  return { file: m.measureLatency, samples: positiveInt(m.latencySamples, "--latency-samples"), runs: positiveInt(m.latencyRuns, "--latency-runs") };
}

/** --mixed-score and --mixed-labels, checked: the search's objective (search-objective.ts). */
function searchObjective(m: MixedInput, evaluations: number): SearchObjective {
  const o = (m.mixedScore ?? "kl") as SearchObjective;
  if (!SEARCH_OBJECTIVES.includes(o)) throw new FixqError("usage", `--mixed-score must be kl, xent or kl+xent, got '${m.mixedScore}'`);
  if (m.mixedScore !== undefined && evaluations === 0) throw new FixqError("usage", "--mixed-score scores the search, which --mixed-search 0 turns off");
  if (needsLabels(o) && m.mixedLabels === undefined) throw new FixqError("usage", `--mixed-score ${o} needs the class of each calibration sample, which calibration data does not carry: give --mixed-labels FILE (one integer array)`);
  if (!needsLabels(o) && m.mixedLabels !== undefined) throw new FixqError("usage", "--mixed-labels is read only by --mixed-score xent or kl+xent");
  return o;
}

/** The labels of the calibration samples for the search: as many as the calibration file holds (at least as many with --calib-samples). */
function calibrationLabels(path: string, source: DataSource, limited: boolean): Int32Array {
  const arrays = readArrays(path, "--mixed-labels");
  if (arrays.size !== 1) throw new FixqError("data", `expected one array of labels, found ${arrays.size}`, `--mixed-labels ${path}`);
  const a = [...arrays.values()][0]!;
  const labels = bindLabels(a, a.shape[0] ?? 0, path);
  if (limited ? labels.length < source.count : labels.length !== source.count) throw new FixqError("data", `${labels.length} labels for ${source.count} calibration samples`, `--mixed-labels ${path}`);
  return labels;
}

/** Checks the mixed keys into allocation options; undefined without --mixed. */
export function mixedOptions(recipe: Recipe, m: MixedInput, ctx: { output: string; threads?: number; progress: (text: string) => void; recipeWith?: (rules: LayerRuleInput[]) => Recipe }): MixedCliOptions | undefined {
  const others = MIXED_KEYS.filter((k) => k !== "mixed" && m[k] !== undefined);
  if (m.mixed === undefined) {
    if (others.length > 0) throw new FixqError("usage", `--${others[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --mixed`);
    return undefined;
  }
  if (recipe.dataFree) throw new FixqError("usage", "--mixed measures sensitivities on calibration data, which --data-free never reads");
  if (m.sensitivity !== undefined && m.sensitivity !== "measured" && m.sensitivity !== "hessian") throw new FixqError("usage", `--sensitivity must be measured or hessian, got '${m.sensitivity}'`);
  const measureLatency = measureRequest(m);
  const budgetTexts = m.budget === undefined ? [] : Array.isArray(m.budget) ? m.budget : [m.budget];
  const budgets = parseBudgets(budgetTexts);
  if (budgets.length === 0 && m.shard === undefined) throw new FixqError("usage", "--mixed needs at least one --budget KIND=VALUE (size, bops or latency)");
  const samples = m.sensitivitySamples === undefined ? undefined : Number(m.sensitivitySamples);
  if (samples !== undefined && !(Number.isInteger(samples) && samples > 0)) throw new FixqError("usage", `--sensitivity-samples must be a positive integer, got '${m.sensitivitySamples}'`);
  if (m.paretoPoints !== undefined && !(Number.isInteger(Number(m.paretoPoints)) && Number(m.paretoPoints) >= 2)) throw new FixqError("usage", `--pareto-points must be an integer >= 2, got '${m.paretoPoints}'`);
  const evaluations = m.mixedSearch === undefined ? DEFAULT_SEARCH_EVALUATIONS : Number(m.mixedSearch);
  if (!(Number.isInteger(evaluations) && evaluations >= 0)) throw new FixqError("usage", `--mixed-search must be an integer >= 0, got '${m.mixedSearch}'`);
  if (m.paretoPoints !== undefined && m.pareto === undefined) throw new FixqError("usage", "--pareto-points needs --pareto FILE");
  const objective = searchObjective(m, evaluations);
  const cacheRoot = m.sensitivityCache ?? join(dirname(ctx.output), ".fixq-sensitivity");
  if (existsSync(cacheRoot) && !statSync(cacheRoot).isDirectory()) throw new FixqError("usage", "--sensitivity-cache must be a folder (it is created when missing); this is a file", cacheRoot);
  return {
    candidates: m.mixed,
    budgets,
    cacheRoot,
    shard: m.shard === undefined ? undefined : parseShard(m.shard),
    tieResidual: m.tieResidual,
    ties: m.tie,
    latencyTable: m.latencyTable === undefined ? undefined : readLatencyTable(m.latencyTable),
    samples,
    sensitivity: m.sensitivity as MixedOptions["sensitivity"],
    threads: ctx.threads,
    progress: ctx.progress,
    measureLatency,
    search: ctx.recipeWith && evaluations > 0 ? { evaluations, recipeWith: ctx.recipeWith, objective } : undefined,
    labelsFile: evaluations > 0 && needsLabels(objective) ? m.mixedLabels : undefined,
  };
}

/**
 * --measure-latency: times the layers (quant/mixed/measure-latency.ts), writes
 * the table to its file (temp file, renamed) and returns the options with it
 * as the latency table. `parts` are the recipe's parts; `fileLayers` the
 * recipe file's own `layers` rules.
 */
export async function withMeasuredLatency(model: Model, source: DataSource, o: MixedCliOptions | undefined, parts: readonly RecipeInput[], fileLayers: readonly unknown[]): Promise<MixedCliOptions | undefined> {
  const req = o?.measureLatency;
  if (!o || !req || o.shard) return o;
  const table = await measureLatencyTable(model, source, parts, fileLayers, { candidates: o.candidates, samples: req.samples, runs: req.runs, threads: o.threads, progress: o.progress });
  writeFileAtomic(req.file, new TextEncoder().encode(`${JSON.stringify(table, null, 2)}\n`));
  o.progress?.(`latency table → ${req.file} (${table.cpu.summary})`);
  return { ...o, latencyTable: { file: req.file, layers: table.layers } };
}

/** Runs the allocation when --mixed is given (reading the search's labels, if any, first). */
export async function runMixedStep(model: Model, source: DataSource, recipe: Recipe, o: MixedCliOptions | undefined): Promise<MixedOutcome | undefined> {
  if (o === undefined) return undefined;
  const labels = o.labelsFile !== undefined && o.search && !o.shard ? calibrationLabels(o.labelsFile, source, recipe.calibSamples !== undefined) : undefined;
  return allocateMixed(model, source, recipe, labels && o.search ? { ...o, search: { ...o.search, labels } } : o);
}
