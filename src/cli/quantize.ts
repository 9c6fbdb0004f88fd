/** `fixq quantize MODEL -o OUT [options]`: post-training quantization to QDQ ONNX. */
import { readFileSync, realpathSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import chalk from "chalk";
import { bundledModelFor, MODELS_DIR } from "../data/manifest.js";
import { bindEvalData, compareModels } from "../eval/compare.js";
import { quantizeEvalLine, quantizeEvalSummary } from "../eval/reports.js";
import { readTensorFile } from "../io/npz.js";
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { saveModel } from "../ir/onnx/save.js";
import { arraySource, type DataSource, feedsFor, npyFileSource, npzFileSource } from "../quant/feeds.js";
import { formatSummaryLines } from "../quant/format-table.js";
import { findReport } from "../quant/stage.js";
import { passesJson, passesText, stagesJson, stagesText } from "../quant/stage-report.js";
import { type QuantizeResult, quantizeModel, reexportQuantized } from "../quant/quantize.js";
import { hasNativeFp4 } from "../quant/float-schemes.js";
import { buildRecipe, type Recipe, type RecipeInput, recipeJson } from "../quant/recipe.js";
import { allSettings, cpuKernelNote, integerKernelNote } from "../quant/recipe-needs.js";
import { checkObject, RECIPE_SCHEMA } from "../quant/recipe-schema.js";
import { detectCpu } from "../runtime/cpu-features.js";
import { silentProgress, terminalProgress } from "../util/progress.js";
import { ensureParentDir } from "../ir/atomic-write.js";
import { readArrays, readLabels } from "./eval.js";
import { loadVerified } from "./load-verified.js";

export interface QuantizeCliOptions extends RecipeInput {
  output: string;
  calib?: string;
  recipe?: string;
  eval?: string | boolean;
  threads?: string;
  json?: boolean;
  verifyEach?: boolean;
}

/** A recipe file: JSON, an object of known keys with values of the right types (recipe-schema.ts); rules are checked by buildRecipe. */
function readRecipeFile(path: string): RecipeInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new FixqError("usage", "cannot read recipe file", path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FixqError("usage", `recipe is not valid JSON: ${(e as Error).message}`, path);
  }
  return { ...(checkObject(value, RECIPE_SCHEMA, path, "") as RecipeInput), recipeFile: path };
}

/** Data-free mode's stand-in for calibration data: any use is a bug, so it fails loudly. */
const NO_DATA: DataSource = {
  get count(): number {
    throw new FixqError("runtime", "internal error: data-free mode tried to read calibration data");
  },
  batch() {
    throw new FixqError("runtime", "internal error: data-free mode tried to read calibration data");
  },
  close() {},
};

/** The calibration data, opened batch by batch (nothing is read yet). */
function openCalibration(model: Model, path: string, limit?: number): DataSource {
  const ext = path.toLowerCase().slice(-4);
  if (ext === ".npy") return npyFileSource(model.graph!, path, limit);
  if (ext === ".npz") return npzFileSource(model.graph!, path, limit);
  return arraySource(feedsFor(model.graph!, readTensorFile(path), path, limit));
}

/** An input that is already QDQ: written back unchanged (reexportQuantized), with its summary. */
function writeReexported(already: NonNullable<ReturnType<typeof reexportQuantized>>, output: string, json: boolean | undefined, evalAsked: boolean): number {
  ensureParentDir(output);
  saveModel(already.model, output);
  const { activations, weights, unmatched, notes } = already.view;
  const summary = { output: resolve(output), reexported: true, activations: activations.size, weights: weights.size, leftAsNodes: unmatched.map((u) => ({ node: u.node.name ?? u.node.opType, reason: u.reason })), notes };
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    process.stderr.write(`${chalk.green("wrote")} ${output}: the input is already quantized (QDQ); re-exported its ${activations.size} activation and ${weights.size} weight specs unchanged, without calibration or recipe\n`);
    for (const u of unmatched) process.stderr.write(`  kept as a node  ${u.node.opType} '${u.node.name ?? ""}': ${u.reason}\n`);
    for (const n of notes) process.stderr.write(`  ${chalk.yellow("note")}  ${n}\n`);
    if (evalAsked) process.stderr.write("  --eval skipped: there is no float model to compare with\n");
  }
  return 0;
}

/** The text summary on stderr: what was quantized and what stayed float (why), notes, pass reports, formats, stages. */
function printSummary(result: QuantizeResult, recipe: Recipe, output: string, how: string): void {
  const quantized = result.decisions.filter((d) => d.quantized);
  const float = result.decisions.filter((d) => !d.quantized && !["Constant", "QuantizeLinear", "DequantizeLinear"].includes(d.node.opType));
  process.stderr.write(`${chalk.green("wrote")} ${output}: ${quantized.length} nodes quantized, ${float.length} kept in float (${how})\n`);
  for (const note of [integerKernelNote(recipe), cpuKernelNote(recipe)]) if (note) process.stderr.write(`  ${chalk.yellow("note")}  ${note}\n`);
  const byRole = new Map<string, number>();
  for (const d of quantized) byRole.set(`${d.node.opType} (${d.role})`, (byRole.get(`${d.node.opType} (${d.role})`) ?? 0) + 1);
  if (byRole.size) process.stderr.write(`  quantized  ${[...byRole].map(([k, n]) => `${n}× ${k}`).join(", ")}\n`);
  const byReason = new Map<string, string[]>();
  for (const d of float) byReason.set(`${d.node.opType}: ${d.reason}`, [...(byReason.get(`${d.node.opType}: ${d.reason}`) ?? []), d.node.name ?? `#${d.index}`]);
  for (const [why, nodes] of byReason) process.stderr.write(`  float  ${why} (${nodes.length}×)\n`);
  for (const line of passesText(result.passes)) process.stderr.write(`  ${line}\n`);
  process.stderr.write("  formats (role, format, granularity, calibration, rule; every tensor in --json):\n");
  for (const line of formatSummaryLines(result.formats)) process.stderr.write(`    ${line}\n`);
  for (const line of stagesText(result.stages)) process.stderr.write(`  ${line}\n`);
}

export async function runQuantize(input: string, opts: QuantizeCliOptions): Promise<number> {
  const { recipe: recipePath, output, calib, eval: evalOpt, threads, json, verifyEach, ...flags } = opts;
  const recipe = buildRecipe(recipePath ? readRecipeFile(recipePath) : {}, flags);
  if (recipe.dataFree && calib) throw new FixqError("usage", "--data-free reads no data: drop --calib (or drop --data-free)");
  const fp4 = allSettings(recipe).find(hasNativeFp4);
  if (evalOpt !== undefined && evalOpt !== false && fp4) {
    throw new FixqError("usage", `--eval: ONNX Runtime cannot run FLOAT4E2M1 weights (${fp4.weights}); add --fp4-storage dequantized to evaluate`);
  }
  const { model } = loadVerified(input);
  if (existsSync(output) && realpathSync(output) === realpathSync(input)) throw new FixqError("usage", "output would overwrite the input", output);
  const already = reexportQuantized(model);
  if (already) return writeReexported(already, output, json, evalOpt !== undefined && evalOpt !== false);
  const bundled = bundledModelFor(input);
  // Data-free: the bundled models document their input range (pixels/255 in [0, 1]); others need --input-range.
  if (recipe.dataFree && !recipe.inputRange && bundled?.input.range) recipe.inputRange = [...bundled.input.range];
  const calibPath = recipe.dataFree ? undefined : (calib ?? (bundled ? join(MODELS_DIR, bundled.data.calibration) : undefined));
  if (!calibPath && !recipe.dataFree) {
    throw new FixqError("usage", "no calibration data: give --calib FILE (.npy or .npz keyed by input name), or --data-free (needs no data)", input);
  }
  const source = calibPath ? openCalibration(model, calibPath, recipe.calibSamples) : NO_DATA;
  const progress = json ? silentProgress : terminalProgress();
  const nThreads = threads ? Number(threads) : undefined;
  let result: Awaited<ReturnType<typeof quantizeModel>>;
  try {
    result = await quantizeModel(model, source, recipe, { threads: nThreads, progress, verifyEach });
  } finally {
    source.close();
  }
  ensureParentDir(output);
  saveModel(result.model, output);

  const quantized = result.decisions.filter((d) => d.quantized);
  const float = result.decisions.filter((d) => !d.quantized && !["Constant", "QuantizeLinear", "DequantizeLinear"].includes(d.node.opType));
  const summary: Record<string, unknown> = {
    output: resolve(output),
    recipe: recipeJson(recipe),
    cpu: (({ model, arch, features, u8s8 }) => ({ model, arch, features, u8s8 }))(detectCpu()),
    calibration: calibPath ? { file: calibPath, samples: result.calibrationSamples, sha256: result.calibrationHash } : { dataFree: true, inputRange: recipe.inputRange ?? null },
    quantized: quantized.length,
    float: float.map((d) => ({ node: d.node.name ?? `#${d.index}`, op: d.node.opType, reason: d.reason })),
    passes: passesJson(result.passes),
    stages: stagesJson(result.stages),
    formats: result.formats,
  };
  if (!json) printSummary(result, recipe, output, calibPath ? `calibrated on ${result.calibrationSamples} samples` : "data-free: no calibration data read");
  const dataPath = typeof evalOpt === "string" ? evalOpt : bundled ? join(MODELS_DIR, bundled.data.eval) : undefined;
  const labelsPath = typeof evalOpt === "string" ? undefined : bundled ? join(MODELS_DIR, bundled.data.eval_labels) : undefined;
  // ReLU6 → ReLU changes the float function: report by how much, wherever there is data to measure it on.
  if (findReport(result.passes, "relu6-to-relu")?.replaced.length && dataPath) {
    const data = bindEvalData(model, readArrays(dataPath, "data"), dataPath);
    const labels = labelsPath ? readLabels(labelsPath, data.samples) : undefined;
    const c = await compareModels(model, result.floatModel, data, labels, { threads: nThreads, progress });
    const change = { samples: c.samples, floatTop1: c.reference.accuracy?.top1 ?? null, afterPassesTop1: c.candidate.all.accuracy?.top1 ?? null, agreement: c.candidate.all.outputs[0]?.agreement ?? null };
    summary["relu6ToReluFloatChange"] = change;
    if (!json) {
      const pct = (x: number | null) => (x === null ? "n/a" : `${(100 * x).toFixed(2)}%`);
      const top1 = change.floatTop1 !== null ? `top-1 ${pct(change.floatTop1)} → ${pct(change.afterPassesTop1)}, ` : "";
      process.stderr.write(`  ReLU6 → ReLU float model: ${top1}top-1 agreement ${pct(change.agreement)} on ${change.samples} samples\n`);
    }
  }
  if (evalOpt !== undefined && evalOpt !== false) {
    if (!dataPath) throw new FixqError("usage", "--eval needs a data file for a model that is not bundled");
    // One evaluation code path with `fixq eval`: float (REF) against quantized (CAND), CAND in integer kernels and fake-quant.
    const data = bindEvalData(model, readArrays(dataPath, "data"), dataPath);
    const labels = labelsPath ? readLabels(labelsPath, data.samples) : undefined;
    const compared = await compareModels(model, result.model, data, labels, { threads: nThreads, progress });
    summary["eval"] = quantizeEvalSummary(compared);
    if (!json) process.stdout.write(quantizeEvalLine(compared, integerKernelNote(recipe) ? "in ORT (DequantizeLinear + float ops)" : undefined));
  }
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}
