/**
 * Post-training quantization, end to end:
 * float passes (BN folding; CLE etc. on request) → plan (what to quantize) →
 * calibrate (ranges from the float model on real data) → specs on values →
 * QDQ writer → provenance metadata → verify.
 * A model that is already QDQ is read back into specs and re-exported as it
 * is (`reexportQuantized`), never quantized twice.
 */
import { chooseRange, parseCalibrationMethod } from "../calib/range.js";
import { FixqError } from "../ir/errors.js";
import { type Model, opsetVersion, withMetadata } from "../ir/graph.js";
import { formatName, type IntFormat, intFormat } from "../ir/quant.js";
import { assertValid } from "../ir/verify.js";
import { type PassRun, prepareFloatModel } from "../passes/pipeline.js";
import { upgradeOpset } from "../passes/upgrade-opset.js";
import { packageVersion } from "../util/package-root.js";
import { type Progress, silentProgress } from "../util/progress.js";
import { calibrate } from "./calibrate.js";
import type { DataSource } from "./feeds.js";
import { type NodeDecision, planQuantization } from "./plan.js";
import { type QdqView, stripQdq } from "./qdq-read.js";
import { writeQdq } from "./qdq-write.js";
import { assignSpecs } from "./specs.js";
import { type Recipe, recipeJson, requiredOpset } from "./recipe.js";

export interface QuantizeResult {
  readonly model: Model;
  readonly decisions: NodeDecision[];
  readonly calibrationSamples: number;
  readonly calibrationHash: string;
  /** The float model after the float passes (BN folding, CLE, …), and their reports. */
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
  const f = intFormat(recipe.weights, { valueBits: recipe.weightBits, symmetric: true });
  const eightBitActs = recipe.acts === "uint8" || recipe.acts === "int8";
  return recipe.weights === "int8" && recipe.weightBits === 7 && eightBitActs ? { ...f, qmin: -64, qmax: 64 } : f;
}

export async function quantizeModel(
  model: Model,
  source: DataSource,
  recipe: Recipe,
  opts: { threads?: number; progress?: Progress } = {},
): Promise<QuantizeResult> {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  const prepared = prepareFloatModel(model, recipe);
  model = prepared.model;
  // Older models are upgraded to the opset the formats need first.
  const target = Math.max(recipe.opset ?? 0, requiredOpset(recipe));
  if ((opsetVersion(model) ?? 0) < target) model = upgradeOpset(model, target);
  const method = parseCalibrationMethod(recipe.calibration);
  const g = model.graph!;
  const plan = planQuantization(g, recipe);
  if (!plan.decisions.some((d) => d.quantized && d.role === "compute")) {
    throw new FixqError("unsupported", "the model has no quantizable op (Conv, ConvTranspose, Gemm, MatMul)");
  }
  const { histograms, samples, sha256: calibrationHash } = await calibrate(model, source, plan.activations, {
    batchSize: recipe.batchSize,
    threads: opts.threads,
    progress: opts.progress ?? silentProgress,
    statistics: method.kind === "minmax" ? "extremes" : "histogram",
  });
  const actFormat = intFormat(recipe.acts, { symmetric: recipe.symmetricActs });
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const [t, h] of histograms) ranges.set(t, chooseRange(h, method, { bits: actFormat.bits, signed: actFormat.signed, symmetric: recipe.symmetricActs }));
  const weightFormat = weightFormatOf(recipe);
  const specified = assignSpecs(g, plan, ranges, { actFormat, symmetricActs: recipe.symmetricActs, weightFormat, granularity: recipe.granularity });
  let out: Model = { ...model, graph: writeQdq(specified) };
  out = withMetadata(out, "fixq.version", packageVersion());
  out = withMetadata(out, "fixq.recipe", JSON.stringify({ ...recipeJson(recipe), weightFormat: formatName(weightFormat), actFormat: formatName(actFormat) }));
  out = withMetadata(out, "fixq.calibration", JSON.stringify({ samples, sha256: calibrationHash }));
  assertValid(out);
  return { model: out, decisions: plan.decisions, calibrationSamples: samples, calibrationHash, floatModel: prepared.model, passes: prepared.passes };
}

/**
 * An input already in QDQ form: its Q/DQ nodes are read into specs and written
 * back by the same writer fixq's own output goes through, so the result
 * computes bit-identical outputs (tested). Returns undefined for a float model.
 */
export function reexportQuantized(model: Model): { model: Model; view: QdqView } | undefined {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  const { graph, view } = stripQdq(model.graph);
  if (view.activations.size === 0 && view.weights.size === 0) return undefined;
  const out = withMetadata({ ...model, graph: writeQdq(graph) }, "fixq.version", packageVersion());
  assertValid(out);
  return { model: out, view };
}
