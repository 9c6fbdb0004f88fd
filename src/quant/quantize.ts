/**
 * Post-training quantization, end to end:
 * float passes (BN folding; CLE etc. on request) → plan (what to quantize) →
 * calibrate (ranges from the float model on real data; data-free: from BN
 * statistics, data-free-ranges.ts) → bias correction (on request) → specs on
 * values → QDQ writer → provenance metadata → verify.
 * A model that is already QDQ is read back into specs and re-exported as it
 * is (`reexportQuantized`), never quantized twice.
 */
import { chooseRange, parseCalibrationMethod } from "../calib/range.js";
import { FixqError } from "../ir/errors.js";
import { type Graph, type Model, opsetVersion, withMetadata } from "../ir/graph.js";
import { formatName, type IntFormat, intFormat } from "../ir/quant.js";
import { assertValid } from "../ir/verify.js";
import { correctBiases } from "../passes/bias-correction.js";
import { type PassRun, prepareFloatModel } from "../passes/pipeline.js";
import { upgradeOpset } from "../passes/upgrade-opset.js";
import { packageVersion } from "../util/package-root.js";
import { type Progress, silentProgress } from "../util/progress.js";
import { calibrate } from "./calibrate.js";
import { dataFreeRanges } from "./data-free-ranges.js";
import type { DataSource } from "./feeds.js";
import { type NodeDecision, planQuantization, type QuantPlan } from "./plan.js";
import { type QdqView, stripQdq } from "./qdq-read.js";
import { actSchemeOf, weightSchemeOf } from "./float-schemes.js";
import { isFloatType } from "./format-names.js";
import { writeQdq } from "./qdq-write.js";
import { assignSpecs } from "./specs.js";
import { noQuantizableOpReason } from "./subgraphs.js";
import { type Recipe, recipeJson, requiredOpset } from "./recipe.js";

export interface QuantizeResult {
  readonly model: Model;
  readonly decisions: NodeDecision[];
  /** 0 and "" in data-free mode. */
  readonly calibrationSamples: number;
  readonly calibrationHash: string;
  /** The float model after the float passes (BN folding, CLE, …), and the reports of every pass (bias correction and data-free ranges included). */
  readonly floatModel: Model;
  readonly passes: readonly PassRun[];
}

/**
 * The weight format. The default, int8 narrowed to 7 bits under 8-bit
 * activations, exists for ORT's u8×s8 kernels, which add products in pairs
 * into int16: 2·255·|w| ≤ 32767 holds up to |w| = 64 (2·255·64 = 32640), so the
 * symmetric range is [−64, 64], 129 levels, one step wider than [−63, 63].
 */
function weightFormatOf(recipe: Recipe): IntFormat {
  if (isFloatType(recipe.weights)) return intFormat("int8", { symmetric: true }); // a stand-in: the weight scheme decides
  const f = intFormat(recipe.weights, { valueBits: recipe.weightBits, symmetric: true });
  const eightBitActs = recipe.acts === "uint8" || recipe.acts === "int8";
  return recipe.weights === "int8" && recipe.weightBits === 7 && eightBitActs ? { ...f, qmin: -64, qmax: 64 } : f;
}

type Ranges = Map<string, { lo: number; hi: number }>;

/** Activation ranges: calibrated on `source`, or in data-free mode derived from the graph without touching `source`. */
async function activationRanges(model: Model, plan: QuantPlan, source: DataSource, recipe: Recipe, actFormat: IntFormat, opts: QuantizeOptions) {
  if (recipe.dataFree) {
    const t0 = performance.now();
    const { ranges, report } = dataFreeRanges(model.graph!, plan.activations, { inputRange: recipe.inputRange });
    return { ranges, samples: 0, sha256: "", run: { name: report.pass, ms: performance.now() - t0, changed: false, report } satisfies PassRun };
  }
  const method = parseCalibrationMethod(recipe.calibration);
  const { histograms, samples, sha256 } = await calibrate(model, source, plan.activations, {
    batchSize: recipe.batchSize,
    threads: opts.threads,
    progress: opts.progress ?? silentProgress,
    statistics: method.kind === "minmax" ? "extremes" : "histogram",
  });
  const ranges: Ranges = new Map();
  for (const [t, h] of histograms) ranges.set(t, chooseRange(h, method, { bits: actFormat.bits, signed: actFormat.signed, symmetric: recipe.symmetricActs }));
  return { ranges, samples, sha256, run: undefined };
}

export interface QuantizeOptions {
  threads?: number;
  progress?: Progress;
}

/** Quantizes `model`; `source` is the calibration data, never touched when `recipe.dataFree`. */
export async function quantizeModel(model: Model, source: DataSource, recipe: Recipe, opts: QuantizeOptions = {}): Promise<QuantizeResult> {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  if (recipe.dataFree && recipe.biasCorrection === "empirical") throw new FixqError("usage", "empirical bias correction needs calibration data; data-free mode reads none");
  const prepared = prepareFloatModel(model, recipe);
  model = prepared.model;
  // Older models are upgraded to the opset the formats need first.
  const target = Math.max(recipe.opset ?? 0, requiredOpset(recipe));
  if ((opsetVersion(model) ?? 0) < target) model = upgradeOpset(model, target);
  const g = model.graph!;
  const plan = planQuantization(g, recipe);
  if (!plan.decisions.some((d) => d.quantized && d.role === "compute")) {
    throw new FixqError("unsupported", noQuantizableOpReason(g));
  }
  // Float activations calibrate a symmetric range, as for int8 (FP8 takes max |x| of it; MX/NVFP4 the NVFP4 tensor scale).
  const floatActs = isFloatType(recipe.acts) || recipe.acts === "float";
  // Symmetric integer activations keep the storage type's full range: the scale is max|x|/qmax either way, and
  // QuantizeLinear saturates to the storage range, so [qmin, qmax] says what the QDQ graph computes.
  const actFormat = intFormat(floatActs ? "int8" : recipe.acts, { symmetric: floatActs });
  const passes = [...prepared.passes];
  const { ranges, samples, sha256: calibrationHash, run } = await activationRanges(model, plan, source, recipe, actFormat, opts);
  if (run) passes.push(run);
  const weightFormat = weightFormatOf(recipe);
  const specOptions = { actFormat, symmetricActs: recipe.symmetricActs, weightFormat, granularity: recipe.granularity, weightScheme: weightSchemeOf(recipe), actScheme: actSchemeOf(recipe) };
  // Bias correction edits float biases only, so a corrected graph plans (and is calibrated) as the original.
  const specify = (h: Graph) => assignSpecs(h, h === g ? plan : planQuantization(h, recipe), ranges, specOptions);
  // MX scales are stored as FLOAT8E8M0 where the opset allows it (24), else as float32 powers of two.
  const write = (h: Graph) => writeQdq(h, { storage: recipe.fp4Storage, e8m0Scales: (opsetVersion(model) ?? 0) >= 24 });
  let corrected = g;
  if (recipe.biasCorrection !== "none") {
    const t0 = performance.now();
    const bc = await correctBiases(model, recipe.biasCorrection, { specify, write, source, batchSize: recipe.batchSize, threads: opts.threads, progress: opts.progress });
    passes.push({ name: "bias-correction", ms: performance.now() - t0, changed: bc.graph !== g, report: bc.report });
    corrected = bc.graph;
  }
  let out: Model = { ...model, graph: write(specify(corrected)) };
  out = withMetadata(out, "fixq.version", packageVersion());
  out = withMetadata(out, "fixq.recipe", JSON.stringify({ ...recipeJson(recipe), weightFormat: isFloatType(recipe.weights) ? recipe.weights : formatName(weightFormat), actFormat: floatActs ? recipe.acts : formatName(actFormat) }));
  const provenance = recipe.dataFree ? { dataFree: true, inputRange: recipe.inputRange ?? null, bnRangeSigmas: run?.report.pass === "data-free-ranges" ? run.report.sigmas : null } : { samples, sha256: calibrationHash };
  out = withMetadata(out, "fixq.calibration", JSON.stringify(provenance));
  assertValid(out);
  return { model: out, decisions: plan.decisions, calibrationSamples: samples, calibrationHash, floatModel: prepared.model, passes };
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
