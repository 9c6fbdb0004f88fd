/**
 * The stage contract of the quantization pipeline (stages.ts builds the list).
 *
 * A stage is a value `{ name, run(state, ctx) }`. `state` holds the model and
 * everything the stages produce in turn (the float model, the resolved plan,
 * ranges, specs, the chosen weight codes, the reports); `ctx` holds what every
 * stage may use but none changes: the recipe, a logger, progress, a seeded
 * random generator, the calibration data and a runtime factory. A stage that
 * the recipe turns off is still listed, with `ran: false` and the recipe key
 * that turned it off, so the report says what ran and why.
 *
 * runStages times every stage and, with `verifyEach`, checks the model's
 * structure after each (ir/verify.ts), naming the stage that broke it.
 */
import { FixqError } from "../ir/errors.js";
import type { Graph, Model } from "../ir/graph.js";
import type { QuantSpec } from "../ir/quant.js";
import { assertValid } from "../ir/verify.js";
import type { PassReport } from "../passes/pipeline.js";
import { OrtSession, type SessionOptions } from "../runtime/ort-session.js";
import type { Progress } from "../util/progress.js";
import { seededRandom } from "../util/random.js";
import type { BiasCorrectionReport } from "./bias-correction.js";
import type { BodyState } from "./body-plan.js";
import type { DataFreeRangesReport } from "./data-free-ranges.js";
import type { Interval, ReaderBoundsReport } from "./reader-bounds.js";
import type { DataSource } from "./feeds.js";
import type { TensorFormat } from "./format-table.js";
import type { ResolvedPlan } from "./resolve-plan.js";
import type { Recipe } from "./recipe.js";
import type { WeightRoundingReport } from "./rounding/learned-rounding.js";

/** Every report a stage can produce: the float passes', learned rounding's, bias correction's, data-free ranges'. */
export type StageReport = PassReport | WeightRoundingReport | BiasCorrectionReport | DataFreeRangesReport | ReaderBoundsReport;

/** Opens ONNX Runtime sessions with the options a stage needs (threads fixed by the command). */
export interface RuntimeFactory {
  readonly threads?: number;
  open(model: Model, opts?: Omit<SessionOptions, "threads">): Promise<OrtSession>;
}

export interface QuantContext {
  readonly recipe: Recipe;
  /** One line of progress text (stderr in the CLI; silent in tests). */
  readonly log: (line: string) => void;
  readonly progress: Progress;
  /** Uniform in [0, 1), seeded: a stage that samples draws the same numbers every run. */
  readonly random: () => number;
  /** The calibration data; never read in data-free mode. */
  readonly source: DataSource;
  readonly runtime: RuntimeFactory;
  readonly verifyEach: boolean;
}

/** Per-tensor activation ranges, from calibration or derived data-free. */
export type Ranges = Map<string, { lo: number; hi: number }>;

/** Where the activation ranges came from, as recorded in the output's metadata. */
export type CalibrationProvenance =
  | { readonly samples: number; readonly sha256: string }
  | { readonly dataFree: true; readonly inputRange: readonly [number, number] | null; readonly bnRangeSigmas: number | null };

export interface QuantState {
  /** The model as the stages have left it: float, then with specs, then written (QDQ). */
  model: Model;
  /** The float model after the float passes (what the quantized model is compared with). */
  floatModel?: Model;
  plan?: ResolvedPlan;
  ranges?: Ranges;
  /** Per activation, the values its readers can tell apart, where narrower than everything (reader-bounds.ts). */
  readerBounds?: Map<string, Interval>;
  calibration?: CalibrationProvenance;
  /**
   * The float graph with every value's spec (`quant`), before the QDQ writer
   * runs; constants read in two roles are duplicated here (specs.ts).
   */
  specified?: Graph;
  /** The integer code of every element of every quantized constant, by value name: what the writer writes. */
  codes?: Map<string, Int32Array>;
  /** Per compute node (index), the weight's scale per output channel: the int32 bias uses s_x · s_w. */
  outScales?: Map<number, Float32Array>;
  /** The format of every quantized tensor, as written. */
  formats?: TensorFormat[];
  /** Control-flow bodies, each with its own plan, ranges and specs (body-plan.ts). */
  bodies?: BodyState[];
  readonly reports: StageRunReport[];
}

export interface StageOutcome {
  /** The report of a stage that has one (float passes, bias correction, data-free ranges). */
  readonly report?: StageReport;
  /** Whether the stage changed the model's graph. */
  readonly changed?: boolean;
  /** Set when the stage found nothing to do: why (reported with ran: false). */
  readonly skip?: string;
}

export interface Stage {
  readonly name: string;
  /** undefined: the stage runs; otherwise why it does not (the recipe key). */
  readonly skipReason?: string;
  /** Why the stage runs (the recipe key, or "always"). */
  readonly reason: string;
  run(state: QuantState, ctx: QuantContext): Promise<StageOutcome | undefined> | StageOutcome | undefined;
}

/** A stage that ran and has a report (a float pass, bias correction, data-free ranges), as `fixq quantize` lists under `passes`. */
export interface PassStageRun {
  readonly name: StageReport["pass"];
  readonly ms: number;
  readonly changed: boolean;
  readonly report: StageReport;
}

export interface StageRunReport {
  readonly name: string;
  readonly ms: number;
  readonly ran: boolean;
  readonly reason: string;
  readonly changed: boolean;
  readonly report?: StageReport;
}

/** Runs `stages` in order on `state`, timing each; with ctx.verifyEach, checks the model after each stage that ran. */
export async function runStages(stages: readonly Stage[], state: QuantState, ctx: QuantContext): Promise<QuantState> {
  for (const stage of stages) {
    if (stage.skipReason !== undefined) {
      state.reports.push({ name: stage.name, ms: 0, ran: false, reason: stage.skipReason, changed: false });
      continue;
    }
    const t0 = performance.now();
    const out = await stage.run(state, ctx);
    const ms = performance.now() - t0;
    state.reports.push({ name: stage.name, ms, ran: out?.skip === undefined, reason: out?.skip ?? stage.reason, changed: out?.changed ?? false, report: out?.report });
    if (ctx.verifyEach) verifyAfter(stage.name, state);
  }
  return state;
}

function verifyAfter(stage: string, state: QuantState): void {
  try {
    assertValid(state.specified && state.model.graph !== state.specified ? { ...state.model, graph: state.specified } : state.model);
  } catch (e) {
    throw new FixqError("model", `--verify-each: the model is invalid after stage '${stage}': ${(e as Error).message}`);
  }
}

/** The runtime factory every stage shares: sessions with the command's thread count. */
export function runtimeFactory(threads?: number): RuntimeFactory {
  return { threads, open: (model, opts = {}) => OrtSession.create(model, { ...opts, threads }) };
}

/** A context with defaults for what the caller does not give. */
export function quantContext(recipe: Recipe, source: DataSource, opts: Partial<Omit<QuantContext, "recipe" | "source">> & { threads?: number; seed?: number }): QuantContext {
  return {
    recipe,
    source,
    log: opts.log ?? (() => {}),
    progress: opts.progress ?? { start() {}, tick() {}, stop() {} },
    random: opts.random ?? seededRandom(opts.seed ?? 0),
    runtime: opts.runtime ?? runtimeFactory(opts.threads),
    verifyEach: opts.verifyEach ?? false,
  };
}

/** The report of the named stage, typed by its pass name. */
export function findReport<K extends StageReport["pass"]>(runs: readonly { report?: StageReport }[], name: K): Extract<StageReport, { pass: K }> | undefined {
  return runs.find((r) => r.report?.pass === name)?.report as Extract<StageReport, { pass: K }> | undefined;
}

/** Looks up a spec on the specified graph; an internal error when the stage order is broken. */
export function specifiedGraph(state: QuantState, stage: string): Graph & { quant: ReadonlyMap<string, QuantSpec> } {
  if (!state.specified?.quant) throw new FixqError("runtime", `internal error: stage '${stage}' runs before the specs stage`);
  return state.specified as Graph & { quant: ReadonlyMap<string, QuantSpec> };
}
