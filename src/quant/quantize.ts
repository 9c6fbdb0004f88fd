/**
 * Post-training quantization, end to end: the stages of stages.ts, run in
 * order on one state with one context (stage.ts):
 * float passes → opset upgrade → plan → reader bounds → ranges (calibration, or data-free
 * from BN statistics) → specs → weight rounding → bias correction → int32
 * biases → QDQ writer → provenance metadata → verify.
 * A model that is already QDQ is read back into specs and re-exported as it
 * is (`reexportQuantized`), never quantized twice.
 */
import { fixedWeightWarnings, fixedWrapWarnings } from "./fixed-range-warnings.js";
import { fixedDesignWarning } from "./recipe-needs.js";
import { initializerInputsNote, initializersAsConstants } from "../passes/initializer-inputs.js";
import { FixqError } from "../ir/errors.js";
import { type Model, withMetadata } from "../ir/graph.js";
import { assertValid } from "../ir/verify.js";
import { packageVersion } from "../util/package-root.js";
import type { Progress } from "../util/progress.js";
import { bodyDecisions, bodySummary } from "./body-plan.js";
import type { DataSource } from "./feeds.js";
import type { TensorFormat } from "./format-table.js";
import type { NodeDecision } from "./plan.js";
import { type QdqView, stripQdq } from "./qdq-read.js";
import { writeQdq } from "./qdq-write.js";
import type { Recipe } from "./recipe.js";
import type { ResolvedPlan } from "./resolve-plan.js";
import { type PassStageRun, type QuantContext, quantContext, runStages, type Stage, type StageRunReport } from "./stage.js";
import { quantizationStages } from "./stages.js";

export interface QuantizeResult {
  readonly model: Model;
  readonly decisions: NodeDecision[];
  readonly plan: ResolvedPlan;
  /** 0 and "" in data-free mode. */
  readonly calibrationSamples: number;
  readonly calibrationHash: string;
  /** The float model after the float passes (BN folding, CLE, …), and the reports of every pass (bias correction and data-free ranges included). */
  readonly floatModel: Model;
  readonly passes: readonly PassStageRun[];
  /** Every stage in order: whether it ran, why, and how long it took. */
  readonly stages: readonly StageRunReport[];
  /** The format of every quantized tensor. */
  readonly formats: readonly TensorFormat[];
  /** Every If/Loop/Scan body whose plan quantizes something: quantized, or kept float and why. */
  readonly subgraphs: readonly { body: string; quantized: boolean; reason?: string }[];
  /** Initializers dropped from the graph inputs (passes/initializer-inputs.ts), then fixed-point activations whose calibrated range leaves the format's under a wrap mode (fixed-range-warnings.ts), one line each. */
  readonly warnings: readonly string[];
}

export interface QuantizeOptions {
  threads?: number;
  progress?: Progress;
  /** Check the model's structure after every stage. */
  verifyEach?: boolean;
  log?: (line: string) => void;
  /** Edits the stage list before it runs (tests insert stages; learned rounding will replace round-weights). */
  stages?: (stages: Stage[]) => Stage[];
}

/** Quantizes `model`; `source` is the calibration data, never touched when `recipe.dataFree`. */
export async function quantizeModel(model: Model, source: DataSource, recipe: Recipe, opts: QuantizeOptions = {}): Promise<QuantizeResult> {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  const frozen = initializersAsConstants(model.graph);
  if (frozen.removed.length > 0) model = { ...model, graph: frozen.graph };
  if (recipe.dataFree && recipe.biasCorrection === "empirical") throw new FixqError("usage", "empirical bias correction needs calibration data; data-free mode reads none");
  const ctx: QuantContext = quantContext(recipe, source, opts);
  const inputNames = new Set(frozen.graph.nodes.flatMap((n) => [n.opType, ...(n.name ? [n.name] : [])]));
  const built = quantizationStages(recipe, inputNames);
  const state = await runStages(opts.stages ? opts.stages(built) : built, { model, reports: [] }, ctx);
  const cal = state.calibration && "samples" in state.calibration ? state.calibration : { samples: 0, sha256: "" };
  const passes = state.reports.filter((r) => r.ran && r.report).map((r): PassStageRun => ({ name: r.report!.pass, ms: r.ms, changed: r.changed, report: r.report! }));
  return {
    model: state.model,
    // Body nodes carry qualified names (If_25/then_branch/Conv_3, bodies.ts).
    decisions: [...state.plan!.decisions, ...bodyDecisions(state.bodies ?? [])],
    plan: state.plan!,
    calibrationSamples: cal.samples,
    calibrationHash: cal.sha256,
    floatModel: state.floatModel!,
    passes,
    stages: state.reports,
    formats: state.formats ?? [],
    subgraphs: bodySummary(state.bodies ?? []),
    warnings: [
      ...(frozen.removed.length > 0 ? [initializerInputsNote(frozen.removed)] : []),
      ...fixedWrapWarnings(state.ranges ?? new Map(), state.specified?.quant ?? new Map()),
      ...(state.floatModel ? fixedWeightWarnings(state.floatModel, state.specified?.quant ?? new Map()) : []),
      ...[fixedDesignWarning(recipe)].filter((w) => w !== undefined),
    ],
  };
}

/**
 * An input already in QDQ form: its Q/DQ nodes are read into specs and written
 * back by the same writer fixq's own output goes through, so the result
 * computes bit-identical outputs (tested). Returns undefined for a float model.
 */
export function reexportQuantized(model: Model): { model: Model; view: QdqView } | undefined {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  const { graph, view } = stripQdq(model.graph);
  if (view.activations.size === 0 && view.weights.size === 0) {
    // Q/DQ nodes fixq cannot read (FP4, MX, NVFP4, …): quantizing again would quantize twice.
    const dq = view.unmatched.find((u) => u.node.opType === "DequantizeLinear");
    if (dq) throw new FixqError("unsupported", `the model is already quantized in a form fixq cannot read back (${dq.reason}); quantize its float original instead`, `node '${dq.node.name ?? ""}'`);
    return undefined;
  }
  const out = withMetadata({ ...model, graph: writeQdq(graph) }, "fixq.version", packageVersion());
  assertValid(out);
  return { model: out, view };
}
