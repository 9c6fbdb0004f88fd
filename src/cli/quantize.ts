/** `fixq quantize MODEL -o OUT [options]`: post-training quantization to QDQ ONNX. */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import chalk from "chalk";
import { bundledModelFor, MODELS_DIR } from "../data/manifest.js";
import { bindEvalData } from "../eval/eval-data.js";
import { checkGate, DEFAULT_MAX_DEPLOYMENT_GAP } from "../eval/gate.js";
import { compareModels } from "../eval/compare.js";
import { explainDeploymentRisk } from "../eval/divergence.js";
import { divergenceText, quantizeEvalLine, quantizeEvalSummary } from "../eval/reports.js";
import { readTensorFile } from "../io/npz.js";
import { ensureParentDir } from "../ir/atomic-write.js";
import { FixqError } from "../ir/errors.js";
import { type Model, withMetadata } from "../ir/graph.js";
import { nameUnnamedNodes } from "../ir/names.js";
import { saveModel } from "../ir/onnx/save.js";
import { restoreSignature } from "../ir/pin-shapes.js";
import { inlineDecidedIfs } from "../passes/inline-if.js";
import { arraySource, type DataSource, feedsFor, type InputValues, npyFileSource, npzFileSource } from "../quant/feeds.js";
import { hasNativeFp4 } from "../quant/float-schemes.js";
import type { LayerRuleInput } from "../quant/layer-rules.js";
import { mixedText } from "../quant/mixed/report.js";
import { quantizeModel, reexportQuantized } from "../quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../quant/recipe.js";
import { allSettings, integerKernelNote } from "../quant/recipe-needs.js";
import { checkObject, RECIPE_SCHEMA } from "../quant/recipe-schema.js";
import { findReport } from "../quant/stage.js";
import { type LoadCheck, verifyLoad } from "../runtime/verify-load.js";
import { silentProgress, terminalProgress } from "../util/progress.js";
import { rotateMode, takeDeploymentKeys } from "./deployment-keys.js";
import { readArrays, readLabels } from "./eval.js";
import { checkDataFile, checkJsonFile, recipeReadError } from "./file-kinds.js";
import { emitRun } from "./html-output.js";
import { applyInputFlags, type InputFlags, scalarValues } from "./input-flags.js";
import { jsonOnStdout, jsonTarget } from "./json-output.js";
import { loadVerified } from "./load-verified.js";
import { externalDataInputs, guardOutputs } from "./output-guard.js";
import { reportHistograms } from "./quantize-html.js";
import { type MixedInput, mixedOptions, runMixedStep, splitMixedInput, withMeasuredLatency } from "./quantize-mixed.js";
import { paretoSweep } from "./quantize-pareto.js";
import { quantizeSummary, reexportSummary } from "./quantize-report.js";
import { rotateForQuantize, smoothForQuantize } from "./smooth-flag.js";
import { applyDynamicUint8, applyMatMulNBits, takeDynamicActs, type WeightOnlyOpFlags, wantsMatMulNBits } from "./weight-only-op.js";

export interface QuantizeCliOptions extends RecipeInput, InputFlags, WeightOnlyOpFlags, MixedInput {
  /** --smooth [α]: true for the default α. */
  smooth?: string | boolean;
  /** --rotate [mode]: Hadamard rotation before quantizing (true: folded). */
  rotate?: boolean | string;
  specialize?: boolean;
  output: string;
  calib?: string;
  recipe?: string;
  eval?: string | boolean;
  threads?: string;
  json?: string | boolean;
  /** false with --no-verify-load. */
  verifyLoad?: boolean;
  maxDeploymentGap?: string;
  verifyEach?: boolean;
  /** --html FILE: the report page (src/report), with one extra histogram pass over the calibration data. */
  html?: string;
}

/** A recipe file: JSON, an object of known keys with values of the right types (recipe-schema.ts); rules are checked by buildRecipe. */
function readRecipeFile(path: string): RecipeInput {
  checkJsonFile(path, "a JSON recipe", "usage");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw recipeReadError(path, e);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FixqError("usage", `recipe is not valid JSON: ${(e as Error).message}`, path);
  }
  return { ...(checkObject(value, RECIPE_SCHEMA, path, "") as RecipeInput), recipeFile: path };
}

const SKIPPED: LoadCheck = { checked: false, note: "not opened in ONNX Runtime before writing (--no-verify-load)" };

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

/** The calibration data, opened batch by batch (nothing is read yet); `values` are --input-value constants. */
function openCalibration(model: Model, path: string, limit: number | undefined, values: InputValues): DataSource {
  checkDataFile(path, "--calib");
  const ext = path.toLowerCase().slice(-4);
  if (ext === ".npy") return npyFileSource(model.graph!, path, limit, values);
  if (ext === ".npz") return npzFileSource(model.graph!, path, limit, values);
  return arraySource(feedsFor(model.graph!, readTensorFile(path), path, limit, values));
}

/** Refuses, before any work, an output that is an input or another output (output-guard.ts); returns the outputs for later checks. */
function guardFiles(input: string, opts: QuantizeCliOptions, inModels: (f: "calibration" | "eval" | "eval_labels") => string | undefined, jsonFile: string | undefined) {
  const { output, calib, recipe, eval: evalOpt } = opts;
  const outputs = [
    { what: "-o", path: output, createParents: true },
    { what: "-o's external data", path: `${output}.data`, createParents: true },
    { what: "--json", path: jsonFile },
    { what: "--pareto", path: opts.pareto },
    { what: "--measure-latency", path: opts.measureLatency },
    { what: "--html", path: opts.html },
  ];
  guardOutputs(
    [
      { what: "the model", path: input },
      { what: "--calib", path: calib ?? inModels("calibration") },
      { what: "--recipe", path: recipe },
      { what: "--mixed-labels", path: opts.mixedLabels },
      { what: "--latency-table", path: opts.latencyTable },
      { what: "--eval data", path: typeof evalOpt === "string" ? evalOpt : inModels("eval") },
      { what: "the eval labels", path: typeof evalOpt === "string" ? undefined : inModels("eval_labels") },
    ],
    outputs,
  );
  return outputs;
}

export async function runQuantize(input: string, opts: QuantizeCliOptions): Promise<number> {
  const { recipe: recipePath, output, calib, eval: evalOpt, threads, json: jsonOpt, verifyLoad: verify, inputShape, inputValue, specialize, maxDeploymentGap, verifyEach, html, weightOnlyOp: weightOnlyOpFlag, nbitsAccuracyLevel: nbitsFlag, smooth: smoothFlag, rotate: rotateFlag, ...flags } = opts;
  const maxGap = maxDeploymentGap === undefined ? DEFAULT_MAX_DEPLOYMENT_GAP : Number(maxDeploymentGap);
  if (maxDeploymentGap !== undefined && (maxDeploymentGap.trim() === "" || !(maxGap >= 0))) throw new FixqError("usage", `--max-deployment-gap expects percentage points >= 0, got '${maxDeploymentGap}'`);
  const jsonOut = jsonTarget(jsonOpt);
  const nThreads = threads === undefined ? undefined : Number(threads);
  if (nThreads !== undefined && !(Number.isInteger(nThreads) && nThreads > 0)) throw new FixqError("usage", `--threads expects a positive integer, got '${threads}'`);
  const json = jsonOnStdout(jsonOut);
  const bundled = bundledModelFor(input);
  const inModels = (f: keyof NonNullable<typeof bundled>["data"]) => (bundled ? join(MODELS_DIR, bundled.data[f]) : undefined);
  const outputs = guardFiles(input, opts, inModels, jsonOut?.file);
  const checkLoad = (m: Model) => (verify === false ? Promise.resolve(SKIPPED) : verifyLoad(m, output));
  // weightOnlyOp, nbitsAccuracyLevel and smooth may come from the recipe file; their flags win
  const { rest: fileInput, keys: deploy } = takeDeploymentKeys<RecipeInput>(recipePath ? readRecipeFile(recipePath) : {}, recipePath);
  const weightOnlyOp = weightOnlyOpFlag ?? deploy.weightOnlyOp;
  const nbitsAccuracyLevel = nbitsFlag ?? deploy.nbitsAccuracyLevel;
  const smooth = smoothFlag ?? deploy.smooth;
  const rotate = rotateFlag === undefined ? deploy.rotate : rotateMode(rotateFlag);
  const dynamic = takeDynamicActs({ ...flags, weightOnlyOp });
  if (dynamic) flags.acts = "float";
  const { rest: fileRecipe, mixed: mixedInput } = splitMixedInput(fileInput, flags);
  const recipeFlags = splitMixedInput(flags, {}).rest;
  // A recipe's measureLatency is an output too: the same guard, with it.
  if (mixedInput.measureLatency !== undefined && opts.measureLatency === undefined) guardFiles(input, { ...opts, measureLatency: mixedInput.measureLatency }, inModels, jsonOut?.file);
  // A recipe's mixedLabels is an input: no output may be it.
  if (mixedInput.mixedLabels !== undefined && opts.mixedLabels === undefined) guardFiles(input, { ...opts, mixedLabels: mixedInput.mixedLabels }, inModels, jsonOut?.file);
  let recipe = buildRecipe(fileRecipe, recipeFlags);
  const recipeWith = (rules: LayerRuleInput[]) => buildRecipe(fileRecipe, recipeFlags, { layers: [...rules, ...((fileRecipe.layers as unknown[] | undefined) ?? [])], recipeFile: fileRecipe.recipeFile });
  let mixedOpts = mixedOptions(recipe, mixedInput, { output, threads: nThreads, progress: (t) => json || process.stderr.write(`  ${t}\n`), recipeWith });
  // The online Hadamard MatMuls must keep their exact int8 weights; the allocation would choose formats for them too.
  if (mixedOpts && rotate === "online") throw new FixqError("usage", "--rotate online and --mixed do not combine: the inserted Hadamard MatMuls need int8 weights, and --mixed would choose their formats (use --rotate folded)");
  if (recipe.dataFree && calib) throw new FixqError("usage", "--data-free reads no data: drop --calib (or drop --data-free)");
  const nbits = wantsMatMulNBits({ weightOnlyOp, nbitsAccuracyLevel }, recipe);
  const fp4 = allSettings(recipe).find(hasNativeFp4);
  if (evalOpt !== undefined && evalOpt !== false && fp4) {
    throw new FixqError("usage", `--eval: ONNX Runtime cannot run FLOAT4E2M1 weights (${fp4.weights}); add --fp4-storage dequantized to evaluate`);
  }
  const original = loadVerified(input).model;
  guardOutputs(externalDataInputs(original, "the model"), outputs);
  // Pinned dims serve inference and the data checks; the written model keeps the declared signature.
  const { model: declared, values } = applyInputFlags(original, { inputShape, inputValue });
  // --specialize: If nodes the --input-value constants decide are replaced by their branch (passes/inline-if.ts).
  const { model, inlined } = specialize ? inlineDecidedIfs(declared, scalarValues(values)) : { model: declared, inlined: [] };
  if (specialize && inlined.length === 0) throw new FixqError("usage", "--specialize: no If node of the main graph is decided by the --input-value constants");
  const already = reexportQuantized(model);
  if (already) {
    const loads = await checkLoad(already.model);
    ensureParentDir(output);
    saveModel(restoreSignature(already.model, original), output);
    const summary = reexportSummary(already, output, loads, evalOpt !== undefined && evalOpt !== false, json);
    await emitRun({ json: jsonOut, html }, "quantize", summary);
    return 0;
  }
  // Data-free: the bundled models document their input range (pixels/255 in [0, 1]); others need --input-range.
  if (recipe.dataFree && !recipe.inputRange && bundled?.input.range) recipe.inputRange = [...bundled.input.range];
  const calibPath = recipe.dataFree ? undefined : (calib ?? (bundled ? join(MODELS_DIR, bundled.data.calibration) : undefined));
  if (!calibPath && !recipe.dataFree) {
    throw new FixqError("usage", "no calibration data: give --calib FILE (.npy or .npz keyed by input name), or --data-free (needs no data)", input);
  }
  const dataPath = typeof evalOpt === "string" ? evalOpt : inModels("eval");
  const labelsPath = typeof evalOpt === "string" ? undefined : inModels("eval_labels");
  const evalRequested = evalOpt !== undefined && evalOpt !== false;
  if (evalRequested && !dataPath) throw new FixqError("usage", "--eval needs a data file for a model that is not bundled");
  if (mixedInput.pareto !== undefined && !dataPath) throw new FixqError("usage", "--pareto measures every point on evaluation data: give --eval DATA (bundled models use their eval set)");
  let evalSet: { data: ReturnType<typeof bindEvalData>; labels?: Int32Array } | undefined;
  const readEvalSet = () => {
    if (!evalSet) {
      const data = bindEvalData(declared, readArrays(dataPath!, "data"), dataPath!, values);
      evalSet = { data, labels: labelsPath ? readLabels(labelsPath, data.samples) : undefined };
    }
    return evalSet;
  };
  if (evalRequested || mixedInput.pareto !== undefined) readEvalSet(); // bad evaluation data is refused before anything is written
  const source = calibPath ? openCalibration(model, calibPath, recipe.calibSamples, values) : NO_DATA;
  const progress = json ? silentProgress : terminalProgress();
  let result: Awaited<ReturnType<typeof quantizeModel>>;
  let mixed: Awaited<ReturnType<typeof runMixedStep>>;
  let prepared = model;
  try {
    // --smooth, then --rotate, come first: mixed precision measures, solves and searches on the very float model that is quantized.
    // (Smoothing first keeps an online rotation's inserted ±1/√d weights exact.)
    const smoothed = smooth === undefined || smooth === false ? model : await smoothForQuantize(model, source, smooth, recipe.batchSize, nThreads, json);
    const rotated = rotate ? rotateForQuantize(smoothed, rotate, json) : undefined;
    prepared = rotated?.model ?? smoothed;
    // --mixed answers with per-node rules, which need names: unnamed nodes get `<op>_<output>` (ir/names.ts).
    if (mixedOpts && prepared.graph) prepared = { ...prepared, graph: nameUnnamedNodes(prepared.graph) };
    // Mixed precision (quantize-mixed.ts) chooses each layer's format; its answer is `layers` rules ahead of the recipe's.
    mixedOpts = await withMeasuredLatency(prepared, source, mixedOpts, [fileRecipe, recipeFlags], (fileRecipe.layers as unknown[] | undefined) ?? []);
    mixed = await runMixedStep(prepared, source, recipe, mixedOpts);
    if (mixed?.kind === "shard") {
      const shard = { measured: mixed.measured, total: mixed.total, cache: mixed.folder };
      await emitRun({ json: jsonOut }, "quantize", { shard });
      if (!json) process.stdout.write(`measured ${mixed.measured} of ${mixed.total} (layer, candidate) sensitivities into ${mixed.folder}; no model written (--shard)\n`);
      return 0;
    }
    if (mixed) recipe = recipeWith(mixed.rules);
    if (rotated?.rules.length) recipe = recipeWith([...rotated.rules, ...(mixed ? mixed.rules : [])]);
    result = await quantizeModel(prepared, source, recipe, { threads: nThreads, progress, verifyEach });
    if (nbits) result = { ...result, model: applyMatMulNBits(result.model, { nbitsAccuracyLevel }, json) };
    if (dynamic) result = { ...result, model: applyDynamicUint8(result.model, json) };
  } finally {
    source.close();
  }
  const written = inlined.length ? withMetadata(result.model, "fixq.specialized", JSON.stringify({ inputs: Object.fromEntries([...scalarValues(values)]), inlined })) : result.model;
  const final = restoreSignature(written, original);
  const loads = await checkLoad(final); // the very model that is written
  ensureParentDir(output);
  saveModel(final, output);

  const nbitsNote = nbits ? "ONNX Runtime runs the MatMul/Gemm layers in its MatMulNBits kernels (n-bit blocks dequantized inside the kernel, float or int8 compute per --nbits-accuracy-level)" : undefined;
  const summary = quantizeSummary({ result, recipe, model, output, calibPath, loads, inlined, kernelNote: nbitsNote }, json);
  summary["input"] = { path: input, bytes: statSync(input).size };
  summary["outputBytes"] = statSync(output).size;
  // fixed-point activations whose calibrated range wraps (fixed-range-warnings.ts), one line each
  summary["warnings"] = result.warnings;
  // on stderr also under --json on stdout: a CI log shows them, stdout keeps the document alone
  for (const w of result.warnings) process.stderr.write(`${chalk.yellow("warning:")} ${w}\n`);
  if (html) {
    const reopen = calibPath ? () => openCalibration(model, calibPath, recipe.calibSamples, values) : undefined;
    summary["histograms"] = await reportHistograms({ result, reopen, batchSize: recipe.batchSize, threads: nThreads, progress });
  }
  if (mixed?.kind === "solved") {
    summary["mixed"] = mixed.report;
    if (!json) process.stdout.write(mixedText(mixed.report));
    if (mixedInput.pareto !== undefined && mixedOpts) {
      const { data, labels } = readEvalSet();
      const p = await paretoSweep(
        { model: prepared, problem: mixed.problem, source: () => openCalibration(model, calibPath!, recipe.calibSamples, values), recipe: buildRecipe(fileRecipe, recipeFlags), recipeParts: [fileRecipe, recipeFlags], mixed: mixedOpts, evalData: data, labels, threads: nThreads, points: mixedInput.paretoPoints === undefined ? undefined : Number(mixedInput.paretoPoints), file: mixedInput.pareto },
        (t) => json || process.stderr.write(`  ${t}\n`),
      );
      summary["pareto"] = { file: mixedInput.pareto, kind: p.kind, metric: p.metric, points: p.points.length, spearman: p.spearman, nonMonotone: p.nonMonotone, front: p.points.filter((q) => q.measured !== undefined).map((q) => ({ limit: q.limit, predicted: q.predicted, measured: q.measured })) };
      if (!json) process.stdout.write(`  pareto: ${p.points.length} points of ${p.kind} → ${mixedInput.pareto}; Spearman ρ(predicted, measured ${p.metric}) ${p.spearman?.toFixed(3) ?? "n/a"}, ${p.nonMonotone} non-monotone\n`);
    }
  }
  // ReLU6 → ReLU changes the float function: report by how much, wherever there is data to measure it on.
  if (findReport(result.passes, "relu6-to-relu")?.replaced.length && dataPath) {
    const { data, labels } = readEvalSet();
    const c = await compareModels(model, result.floatModel, data, labels, { threads: nThreads, progress });
    const change = { samples: c.samples, floatTop1: c.reference.accuracy?.top1 ?? null, afterPassesTop1: c.candidate.all.accuracy?.top1 ?? null, agreement: c.candidate.all.outputs[0]?.agreement ?? null };
    summary["relu6ToReluFloatChange"] = change;
    if (!json) {
      const pct = (x: number | null) => (x === null ? "n/a" : `${(100 * x).toFixed(2)}%`);
      const top1 = change.floatTop1 !== null ? `top-1 ${pct(change.floatTop1)} → ${pct(change.afterPassesTop1)}, ` : "";
      process.stderr.write(`  ReLU6 → ReLU float model: ${top1}top-1 agreement ${pct(change.agreement)} on ${change.samples} samples\n`);
    }
  }
  if (evalRequested) {
    // One evaluation code path with `fixq eval`: float (REF) against quantized (CAND), CAND in integer kernels and fake-quant.
    const { data, labels } = readEvalSet();
    const compared = await compareModels(declared, result.model, data, labels, { threads: nThreads, progress });
    const evalSummary: Record<string, unknown> = { ...quantizeEvalSummary(compared), maxDeploymentGapPoints: maxGap };
    summary["eval"] = evalSummary;
    if (!json) process.stdout.write(quantizeEvalLine(compared, nbits ? "in ORT (MatMulNBits kernels)" : integerKernelNote(recipe) ? "in ORT (DequantizeLinear + float ops)" : undefined));
    // The deployment gate: the integer-kernel run may not fall more than maxGap points below fake-quant.
    const { gate, divergence } = await explainDeploymentRisk(checkGate(compared, { maxDeploymentGap: maxGap }), result.model, data, compared.batchSize, nThreads);
    const risk = gate.checks.find((c) => !c.passed);
    if (risk) {
      evalSummary["deploymentRisk"] = { message: risk.message, gapPoints: risk.value, maxGapPoints: maxGap, divergence: divergence ?? null };
      await emitRun({ json: jsonOut, html }, "quantize", summary);
      process.stderr.write(`${chalk.red("error:")} ${risk.message} (the model was written: ${output})\n`);
      if (divergence !== undefined) process.stderr.write(`  ${divergenceText(divergence)}\n`);
      return 1;
    }
  }
  await emitRun({ json: jsonOut, html }, "quantize", summary);
  return 0;
}
