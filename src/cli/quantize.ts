/** `fixq quantize MODEL -o OUT [options]`: post-training quantization to QDQ ONNX. */
import { readFileSync, realpathSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import chalk from "chalk";
import { bundledModelFor, MODELS_DIR } from "../data/manifest.js";
import { evaluateClassifier } from "../eval/classify.js";
import { readNpy } from "../io/npy.js";
import { readTensorFile } from "../io/npz.js";
import { FixqError } from "../ir/errors.js";
import { saveModel } from "../ir/onnx/save.js";
import { arraySource, feedsFor, npyFileSource } from "../quant/feeds.js";
import { quantizeModel } from "../quant/quantize.js";
import { buildRecipe, type RecipeInput, recipeJson } from "../quant/recipe.js";
import { silentProgress, terminalProgress } from "../util/progress.js";
import { ensureParentDir } from "../util/atomic-write.js";
import { loadVerified } from "./load-verified.js";

export interface QuantizeCliOptions extends RecipeInput {
  output: string;
  calib?: string;
  recipe?: string;
  dataFree?: boolean;
  eval?: string | boolean;
  threads?: string;
  json?: boolean;
}

function readRecipeFile(path: string): RecipeInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new FixqError("usage", "cannot read recipe file", path);
  }
  try {
    return JSON.parse(text) as RecipeInput;
  } catch (e) {
    throw new FixqError("usage", `recipe is not valid JSON: ${(e as Error).message}`, path);
  }
}

export async function runQuantize(input: string, opts: QuantizeCliOptions): Promise<number> {
  if (opts.dataFree) throw new FixqError("unsupported", "--data-free needs the data-free passes (BN folding, equalization, bias correction), which are not implemented yet");
  const { recipe: recipePath, output, calib, dataFree: _d, eval: evalOpt, threads, json, ...flags } = opts;
  const recipe = buildRecipe(recipePath ? readRecipeFile(recipePath) : {}, flags);
  const { model } = loadVerified(input);
  if (existsSync(output) && realpathSync(output) === realpathSync(input)) throw new FixqError("usage", "output would overwrite the input", output);
  const bundled = bundledModelFor(input);
  const calibPath = calib ?? (bundled ? join(MODELS_DIR, bundled.data.calibration) : undefined);
  if (!calibPath) {
    throw new FixqError("usage", "no calibration data: give --calib FILE (.npy or .npz keyed by input name), or --data-free (needs no data)", input);
  }
  const source = calibPath.toLowerCase().endsWith(".npy")
    ? npyFileSource(model.graph!, calibPath, recipe.calibSamples)
    : arraySource(feedsFor(model.graph!, readTensorFile(calibPath), calibPath, recipe.calibSamples));
  const progress = json ? silentProgress : terminalProgress();
  const nThreads = threads ? Number(threads) : undefined;
  let result: Awaited<ReturnType<typeof quantizeModel>>;
  try {
    result = await quantizeModel(model, source, recipe, { threads: nThreads, progress });
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
    calibration: { file: calibPath, samples: result.calibrationSamples, sha256: result.calibrationHash },
    quantized: quantized.length,
    float: float.map((d) => ({ node: d.node.name ?? `#${d.index}`, op: d.node.opType, reason: d.reason })),
  };
  if (!json) {
    process.stderr.write(`${chalk.green("wrote")} ${output}: ${quantized.length} nodes quantized, ${float.length} kept in float (calibrated on ${result.calibrationSamples} samples)\n`);
    const byReason = new Map<string, string[]>();
    for (const d of float) byReason.set(`${d.node.opType}: ${d.reason}`, [...(byReason.get(`${d.node.opType}: ${d.reason}`) ?? []), d.node.name ?? `#${d.index}`]);
    for (const [why, nodes] of byReason) process.stderr.write(`  float  ${why} (${nodes.length}×)\n`);
  }
  if (evalOpt !== undefined && evalOpt !== false) {
    const dataPath = typeof evalOpt === "string" ? evalOpt : bundled ? join(MODELS_DIR, bundled.data.eval) : undefined;
    const labelsPath = typeof evalOpt === "string" ? undefined : bundled ? join(MODELS_DIR, bundled.data.eval_labels) : undefined;
    if (!dataPath) throw new FixqError("usage", "--eval needs a data file for a model that is not bundled");
    const evalFeeds = feedsFor(model.graph!, readTensorFile(dataPath), dataPath);
    const x = Object.values(evalFeeds)[0]!;
    const labels = labelsPath ? (readNpy(labelsPath).data as BigInt64Array) : undefined;
    if (labels) {
      const f = await evaluateClassifier(model, x, labels, { threads: nThreads });
      const fq = await evaluateClassifier(result.model, x, labels, { threads: nThreads, optimization: "disabled" });
      const q = await evaluateClassifier(result.model, x, labels, { threads: nThreads, optimization: "all" });
      let agree = 0;
      for (let i = 0; i < q.count; i++) if (q.predictions[i] === f.predictions[i]) agree++;
      const evalSummary = { samples: q.count, floatTop1: f.top1, fakeQuantTop1: fq.top1, integerKernelTop1: q.top1, agreement: agree / q.count };
      summary["eval"] = evalSummary;
      if (!json) {
        const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
        process.stdout.write(
          `top-1 on ${q.count} samples: float ${pct(f.top1)}, quantized ${pct(q.top1)} in ORT integer kernels (${pct(fq.top1)} fake-quant), drop ${((f.top1 - q.top1) * 100).toFixed(2)} points; agreement ${pct(evalSummary.agreement)}\n`,
        );
      }
    }
  }
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}
