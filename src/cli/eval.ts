/** `fixq eval REF CAND [--data X] [--labels Y] [thresholds] [reports]`: the CI accuracy gate. */
import { join, relative } from "node:path";
import chalk from "chalk";
import { bundledModelFor, MODELS_DIR } from "../data/manifest.js";
import { referenceLikeCandidate } from "../eval/reference-model.js";
import { bindEvalData, bindLabels } from "../eval/eval-data.js";
import { checkGate, DEFAULT_MAX_DEPLOYMENT_GAP, type Thresholds } from "../eval/gate.js";
import { compareModels } from "../eval/compare.js";
import { explainDeploymentRisk } from "../eval/divergence.js";
import { perLayerErrors } from "../eval/per-layer.js";
import { withIntegerKernelSqnr } from "../eval/per-layer-fused.js";
import { writeJunitError } from "../eval/junit-error.js";
import { type EvalReport, formatText, jsonReport, writeReports } from "../eval/reports.js";
import { type NpyArray, NpyFormatError } from "../io/npy.js";
import { readTensorFile } from "../io/npz.js";
import { FixqError } from "../ir/errors.js";
import { terminalProgress } from "../util/progress.js";
import { writeHtmlFromJson } from "./html-output.js";
import { applyInputFlags, type InputFlags } from "./input-flags.js";
import { errorLine } from "./errors.js";
import { checkDataFile } from "./file-kinds.js";
import { jsonTarget } from "./json-output.js";
import { loadVerified } from "./load-verified.js";
import { externalDataInputs, guardOutputs } from "./output-guard.js";

export interface EvalOptions extends InputFlags {
  data?: string;
  labels?: string;
  batchSize?: string;
  threads?: string;
  maxDrop?: string;
  minAgreement?: string;
  minSqnr?: string;
  maxDeploymentGap?: string;
  json?: string | boolean;
  junit?: string;
  markdown?: string;
  perLayer?: boolean;
  engine?: string;
  /** --html FILE: the report page of this run (src/report). */
  html?: string;
}

export const EVAL_HELP = `
The gate checks the figures of CAND run with onnxruntime graph optimizations on
(opt=all): for a QDQ model that is the integer-kernel path ORT really deploys.
CAND also runs with optimizations disabled (the fake-quant figure); both are
reported. When the integer-kernel top-1 or agreement falls more than
--max-deployment-gap points (default 2) below fake-quant, the gate fails with
"deployment risk" and names the layer where the two runs part first: each
quantized activation (a DequantizeLinear output) is compared in an optimized
session that exposes only that tensor, so everything upstream of it still
runs fused, as deployed; see README "Deployment gate".

--engine emulator gates on the integer-only model instead: CAND (a QDQ
model) is integerized and run in fixq's bit-exact integer emulator, the
code that fixq compile emits; the fake-quant column is unchanged.

--per-layer also runs REF and CAND with optimizations disabled, every
quantized tensor of CAND (a DequantizeLinear output) exposed, and prints its
SQNR against the float tensor of REF it stands for, worst first. A tensor
maps to REF by its own name (fixq keeps activation names), else through its
QuantizeLinear to the float tensor quantized (e.g. ORT's
t_DequantizeLinear_Output to t); weights map through the node reading them.
Tensors that cannot be mapped are listed with the reason.

Exit codes:
  0  all thresholds met
  1  a threshold failed, or an error (a model or data file cannot be read, onnxruntime
     refused a model); --junit is written either way, an error as one failing case
  2  usage error: a bad flag or value, or an output aimed at an input, a folder or a missing folder

Example:
  fixq eval models/cnn.onnx cnn.int8.onnx --max-drop 1 --junit eval.xml`;

function parseNumber(flag: string, v: string | undefined, ok: (x: number) => boolean, want: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || !ok(x)) throw new FixqError("usage", `${flag} expects ${want}, got '${v}'`);
  return x;
}

const ERRNO_TEXT: Record<string, string> = { ENOENT: "no such file", EISDIR: "is a directory", EACCES: "permission denied" };

/** Reads a .npy/.npz file; every failure is a one-line FixqError naming the file. */
export function readArrays(path: string, what: string): Map<string, NpyArray> {
  checkDataFile(path, what);
  try {
    return readTensorFile(path);
  } catch (e) {
    if (e instanceof NpyFormatError) throw new FixqError("data", e.problem, `${what} ${e.where}`, { cause: e });
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new FixqError("io", ERRNO_TEXT[code] ?? code, `${what} ${path}`, { cause: e });
    throw e;
  }
}

/** Reads integer class labels for `samples` data samples from a file of one array. */
export function readLabels(path: string, samples: number): Int32Array {
  const arrays = readArrays(path, "labels");
  if (arrays.size !== 1) throw new FixqError("data", `expected one array of labels, found ${arrays.size}`, `labels ${path}`);
  return bindLabels([...arrays.values()][0]!, samples, path);
}

/**
 * Runs the gate. Every output is checked against every input first; after
 * that, any failure still writes the --junit file, as one failing test case
 * carrying the error's one line.
 */
export async function runEval(refPath: string, candPath: string, opts: EvalOptions): Promise<number> {
  const t0 = performance.now();
  const bundled = opts.data === undefined ? bundledModelFor(refPath) : undefined;
  const dataPath = opts.data ?? (bundled ? relative(process.cwd(), join(MODELS_DIR, bundled.data.eval)) : undefined);
  const labelsPath = opts.labels ?? (bundled ? relative(process.cwd(), join(MODELS_DIR, bundled.data.eval_labels)) : undefined);
  const json = jsonTarget(opts.json);
  const inputs = [
    { what: "REF", path: refPath },
    { what: "CAND", path: candPath },
    { what: "--data", path: dataPath },
    { what: "--labels", path: labelsPath },
  ];
  const junit = [{ what: "--junit", path: opts.junit }];
  guardOutputs(inputs, junit);
  try {
    const outputs = [{ what: "--json", path: json?.file }, ...junit, { what: "--markdown", path: opts.markdown }, { what: "--html", path: opts.html }];
    guardOutputs(inputs, outputs);
    return await gate(refPath, candPath, dataPath, labelsPath, opts, outputs, t0);
  } catch (e) {
    if (opts.junit) writeJunitError(opts.junit, { reference: refPath, candidate: candPath, message: errorLine(e), seconds: (performance.now() - t0) / 1000 });
    throw e;
  }
}

async function gate(
  refPath: string,
  candPath: string,
  dataPath: string | undefined,
  labelsPath: string | undefined,
  opts: EvalOptions,
  outputs: { what: string; path: string | undefined }[],
  t0: number,
): Promise<number> {
  const positiveInt = (x: number) => Number.isInteger(x) && x > 0;
  const batchSize = parseNumber("--batch-size", opts.batchSize ?? "256", positiveInt, "a positive integer")!;
  const threads = parseNumber("--threads", opts.threads, positiveInt, "a positive integer");
  const thresholds: Thresholds = {
    maxDrop: parseNumber("--max-drop", opts.maxDrop, (x) => x >= 0, "percentage points >= 0"),
    minAgreement: parseNumber("--min-agreement", opts.minAgreement, (x) => x >= 0 && x <= 1, "a fraction in 0..1"),
    minSqnrDb: parseNumber("--min-sqnr", opts.minSqnr, () => true, "a number of dB"),
    maxDeploymentGap: parseNumber("--max-deployment-gap", opts.maxDeploymentGap ?? String(DEFAULT_MAX_DEPLOYMENT_GAP), (x) => x >= 0, "percentage points >= 0"),
  };
  if (dataPath === undefined) throw new FixqError("usage", "--data is required (REF is not a bundled model with a default eval set)");
  if (thresholds.maxDrop !== undefined && labelsPath === undefined) throw new FixqError("usage", "--max-drop needs --labels");
  const json = jsonTarget(opts.json);

  // --input-shape pins REF's and CAND's dims alike; --input-value feeds both.
  const { model: refLoaded, values } = applyInputFlags(loadVerified(refPath).model, opts);
  const cand = applyInputFlags(loadVerified(candPath).model, { inputShape: opts.inputShape }).model;
  guardOutputs([...externalDataInputs(refLoaded, "REF"), ...externalDataInputs(cand, "CAND")], outputs);
  // REF as quantize prepared it (IR < 4 initializer inputs, an opset ONNX Runtime may not run)
  const ref = referenceLikeCandidate(refLoaded, cand);
  const data = bindEvalData(ref, readArrays(dataPath, "data"), dataPath, values);
  const labels = labelsPath === undefined ? undefined : readLabels(labelsPath, data.samples);

  const progress = terminalProgress();
  const engine = opts.engine ?? "ort";
  if (engine !== "ort" && engine !== "emulator") throw new FixqError("usage", `--engine expects ort or emulator, got '${engine}'`);
  const result = await compareModels(ref, cand, data, labels, { batchSize, threads, progress, engine, candidateName: candPath, referenceName: refPath });
  const fakeQuantLayers = opts.perLayer ? await perLayerErrors(ref, cand, data, { batchSize, threads, progress }) : null;
  // --html draws the integer-kernel run per layer too: one optimized session per activation, on one batch.
  const perLayer = fakeQuantLayers && opts.html && engine === "ort" ? await withIntegerKernelSqnr(ref, cand, data, fakeQuantLayers, { threads }) : fakeQuantLayers;
  const { gate, divergence } = await explainDeploymentRisk(checkGate(result, thresholds), cand, data, result.batchSize, threads);
  const report: EvalReport = {
    reference: refPath,
    candidate: candPath,
    data: dataPath,
    labels: labelsPath ?? null,
    thresholds,
    result,
    gate,
    seconds: (performance.now() - t0) / 1000,
    perLayer,
    divergence,
  };
  writeReports(report, { json: json?.file, junit: opts.junit, markdown: opts.markdown });
  if (opts.html) await writeHtmlFromJson(opts.html, jsonReport(report), "fixq eval");
  // --json without a file: the document alone on standard output, the table on standard error.
  if (json && json.file === undefined) {
    process.stdout.write(jsonReport(report));
    process.stderr.write(formatText(report));
  } else process.stdout.write(formatText(report));
  if (gate.passed) return 0;
  const failed = gate.checks.filter((c) => !c.passed).map((c) => c.message);
  process.stderr.write(`${chalk.red("error:")} eval gate failed: ${failed.join("; ")}\n`);
  return 1;
}
