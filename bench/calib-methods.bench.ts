/**
 * `npm run bench:calib-methods`: do the calibration methods work?
 *
 * Part 1, accuracy (FIXQ_BENCH_PART=accuracy|anchor|both, default both): every
 * bundled CNN (cnn, resnet, mobilenetv2 and their .bn variants; FIXQ_BENCH_MODELS
 * to choose) quantized with the default recipe and each calibration method
 * (minmax, percentile, mse, entropy) on the bundled 512 calibration samples,
 * scored in onnxruntime-node with graph optimizations on (integer kernels) on
 * the full 10k Fashion-MNIST test set (Debian's dataset-fashion-mnist; the
 * committed 2,000-image set otherwise, said so). Per row: top-1, the drop
 * against float, and the difference against the MinMax row with its paired
 * standard error (same images: SE = √(b + c − (b − c)²/n)/n). Target: every
 * method's top-1 within 0.2 points of MinMax's, or better.
 *
 * Part 2, the anchor: ONNX Runtime's own Entropy calibrator
 * (scripts/ort_entropy_anchor.py, Python onnxruntime; skipped with a notice
 * when it does not import) on the same float model (fixq's, after its float
 * passes, so tensor names match), the same tensors and the same samples in
 * the same batches, with num_bins 2048 / num_quantized_bins 128 (the TensorRT
 * setting; ORT's default 128 / 128 leaves the search a single candidate, the
 * full range, i.e. MinMax). Per tensor: ORT's range, fixq's entropy range and
 * the relative difference of each end against the width of ORT's range, for
 * two fixq ranges: ORT's search (entropyCut, 128 levels on the symmetric
 * grid) on fixq's histogram, which the target is about, and fixq's entropy
 * method, which models the uint8 target's levels and flattens the zero spike
 * and so differs on purpose on non-negative tensors (src/calib/range.ts).
 * Target: ORT's search within 5% per tensor.
 *
 * Knobs: FIXQ_BENCH_PYTHON (default python3), FIXQ_BENCH_MODELS, FIXQ_BENCH_PART.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StreamingHistogram } from "../src/calib/histogram.js";
import { chooseRange, ENTROPY_HISTOGRAM_BINS, entropyCut, parseCalibrationMethod, symmetricHistogram } from "../src/calib/range.js";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { saveModel } from "../src/ir/onnx/save.js";
import { prepareFloatModel } from "../src/passes/pipeline.js";
import { calibrate } from "../src/quant/calibrate.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { planQuantization } from "../src/quant/plan.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { packageRoot } from "../src/util/package-root.js";
import { type AccuracyFigures, evaluateRow, full } from "./eval-sets.js";
import { pairedDrop } from "./paired.js";

const METHODS = ["minmax", "percentile", "mse", "entropy"] as const;
const MODELS = ["cnn", "cnn.bn", "resnet", "resnet.bn", "mobilenetv2", "mobilenetv2.bn"];
const TARGET_POINTS = 0.2;
const TARGET_ANCHOR = 0.05;
const ORT_BINS = 2048;
const ORT_QUANTIZED_BINS = 128;

const python = process.env["FIXQ_BENCH_PYTHON"] || "python3";
const part = process.env["FIXQ_BENCH_PART"] ?? "both";
const only = process.env["FIXQ_BENCH_MODELS"]?.split(",").filter(Boolean);
const log = (s: string) => process.stderr.write(`${s}\n`);
const tmp = mkdtempSync(join(tmpdir(), "fixq-bench-calib-methods-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
const models = bundledModels().filter((m) => (only ?? MODELS).includes(m.key));
const calibFile = join(MODELS_DIR, "data/calib.npy");
const json: Record<string, unknown> = { test10k: full !== undefined };

// --- part 1: accuracy per method ---------------------------------------------------------

interface Row extends AccuracyFigures {
  model: string;
  method: string;
  vsMinmax?: number;
  vsMinmaxSe?: number;
}

if (part !== "anchor") {
  if (!full) log("dataset-fashion-mnist not installed: scoring on the committed 2,000-image eval set only (no paired figures)");
  const rows: Row[] = [];
  for (const m of models) {
    const float = loadModel(join(MODELS_DIR, m.file));
    const floatRow: Row = { model: m.key, method: "float" };
    log(`${m.key}: float`);
    await evaluateRow(floatRow, float);
    rows.push(floatRow);
    let minmax: Row | undefined;
    for (const method of METHODS) {
      log(`${m.key}: ${method}`);
      const source = npyFileSource(float.graph!, calibFile);
      let q: Model;
      try {
        q = (await quantizeModel(float, source, buildRecipe({ calibration: method }))).model;
      } finally {
        source.close();
      }
      const row: Row = { model: m.key, method };
      await evaluateRow(row, q, floatRow);
      if (method === "minmax") minmax = row;
      else if (minmax?.preds && row.preds && full) {
        const d = pairedDrop(minmax.preds, row.preds, full.labels);
        row.vsMinmax = d.drop * 100;
        row.vsMinmaxSe = d.se * 100;
      }
      rows.push(row);
    }
  }
  const pct = (v: number | undefined) => (v === undefined ? "-" : `${(v * 100).toFixed(2)}%`);
  const pts = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));
  console.log(`calibration methods, default recipe otherwise; top-1 in ORT integer kernels; ${full ? "full 10k test set" : "2,000-image eval set"}`);
  console.log(`${"model".padEnd(15)} ${"method".padEnd(10)} ${"top-1".padStart(8)} ${"drop".padStart(6)} ${"vs minmax".padStart(9)} ${"±".padStart(5)}  target`);
  for (const r of rows) {
    const top1 = full ? r.test10k : r.eval2000;
    const verdict = r.vsMinmax === undefined ? "" : r.vsMinmax <= TARGET_POINTS ? "PASS" : "MISS";
    console.log(`${r.model.padEnd(15)} ${r.method.padEnd(10)} ${pct(top1).padStart(8)} ${pts(r.drop10k).padStart(6)} ${pts(r.vsMinmax).padStart(9)} ${pts(r.vsMinmaxSe).padStart(5)}  ${verdict}`);
  }
  console.log(`drop: float top-1 minus the row's, points; vs minmax: MinMax's top-1 minus the row's (positive = worse), paired SE. Target ≤ ${TARGET_POINTS}.`);
  json["accuracy"] = rows.map(({ preds: _, ...r }) => r);
}

// --- part 2: entropy thresholds against ONNX Runtime's Entropy calibrator ---------------

function anchorUnavailable(): string | undefined {
  const r = spawnSync(python, ["-c", "import onnxruntime.quantization"], { encoding: "utf8" });
  if (r.error) return `${python} not found (${r.error.message})`;
  if (r.status !== 0) return `${python} -c "import onnxruntime.quantization" failed`;
  return undefined;
}

if (part !== "accuracy") {
  const skip = anchorUnavailable();
  if (skip) {
    console.log(`\nentropy vs ONNX Runtime: skipped (${skip}); set FIXQ_BENCH_PYTHON to an interpreter with onnxruntime`);
    json["anchor"] = { skipped: skip };
  } else {
    const all: { model: string; tensor: string; ort: number[]; fixq: number[]; diff: number; ortSearch: number[]; diffOrtSearch: number }[] = [];
    const recipe = buildRecipe({ calibration: "entropy" });
    const target = { bits: 8, signed: false, symmetric: false };
    for (const m of models) {
      const float = prepareFloatModel(loadModel(join(MODELS_DIR, m.file)), recipe).model;
      const tensors = planQuantization(float.graph!, recipe).activations;
      const modelFile = join(tmp, `${m.key}.onnx`);
      const tensorFile = join(tmp, `${m.key}.json`);
      saveModel(float, modelFile);
      writeFileSync(tensorFile, JSON.stringify(tensors));
      log(`${m.key}: ONNX Runtime Entropy calibrator (${ORT_BINS}/${ORT_QUANTIZED_BINS})`);
      const r = spawnSync(python, [join(packageRoot(), "scripts/ort_entropy_anchor.py"), modelFile, calibFile, tensorFile, String(ORT_BINS), String(ORT_QUANTIZED_BINS)], { encoding: "utf8", maxBuffer: 64 << 20 });
      const last = r.stdout.trim().split("\n").pop() ?? "";
      if (r.status !== 0 || !last.startsWith("{")) {
        console.log(`${m.key}: anchor failed: ${r.stderr.trim().split("\n").pop()}`);
        continue;
      }
      const ort = JSON.parse(last) as { ranges: Record<string, [number, number]> };
      const source = npyFileSource(float.graph!, calibFile);
      const cal = await calibrate(float, source, tensors, { batchSize: 64, statistics: "histogram", histogramBins: ENTROPY_HISTOGRAM_BINS });
      source.close();
      const method = parseCalibrationMethod("entropy");
      for (const t of tensors) {
        const o = ort.ranges[t];
        if (!o) continue;
        const h = cal.histograms.get(t)! as StreamingHistogram;
        const f = chooseRange(h, method, target);
        // ORT's search (128 levels on the symmetric grid, zero spike kept) on fixq's histogram: what the 5% target checks.
        const sym = symmetricHistogram(h.binned({ lo: 0, hi: 0 }), ORT_BINS);
        const cut = entropyCut(sym.counts, sym.amax, ORT_QUANTIZED_BINS);
        const s = { lo: Math.min(0, Math.max(h.min, cut.lo)), hi: Math.max(0, Math.min(h.max, cut.hi)) };
        // fixq's range always holds 0 (ONNX zero points); ORT's as reported may not.
        const lo = Math.min(o[0], 0);
        const hi = Math.max(o[1], 0);
        const width = hi - lo;
        const rel = (r: { lo: number; hi: number }) => (width > 0 ? Math.max(Math.abs(r.lo - lo), Math.abs(r.hi - hi)) / width : 0);
        all.push({ model: m.key, tensor: t, ort: [lo, hi], fixq: [f.lo, f.hi], diff: rel(f), ortSearch: [s.lo, s.hi], diffOrtSearch: rel(s) });
      }
    }
    console.log(`\nentropy ranges: fixq vs ONNX Runtime's Entropy calibrator (num_bins ${ORT_BINS}, num_quantized_bins ${ORT_QUANTIZED_BINS}), same model, tensors and samples`);
    console.log(`${"model".padEnd(15)} ${"tensor".padEnd(44)} ${"ORT".padStart(20)} ${"fixq, ORT's search".padStart(20)} ${"diff".padStart(7)} ${"fixq entropy".padStart(20)} ${"diff".padStart(7)}`);
    const range = (r: number[]) => `[${r[0]!.toFixed(3)}, ${r[1]!.toFixed(3)}]`;
    for (const a of all) {
      const pct = (d: number) => `${(d * 100).toFixed(1).padStart(6)}%`;
      console.log(`${a.model.padEnd(15)} ${a.tensor.slice(-44).padEnd(44)} ${range(a.ort).padStart(20)} ${range(a.ortSearch).padStart(20)} ${pct(a.diffOrtSearch)} ${range(a.fixq).padStart(20)} ${pct(a.diff)}`);
    }
    const within = all.filter((a) => a.diffOrtSearch <= TARGET_ANCHOR).length;
    const worst = all.reduce((w, a) => Math.max(w, a.diffOrtSearch), 0);
    const withinEntropy = all.filter((a) => a.diff <= TARGET_ANCHOR).length;
    console.log(`diff: the larger end difference over the width of ORT's range. ORT's search on fixq's histograms: ${within} of ${all.length} tensors within ${TARGET_ANCHOR * 100}%; worst ${(worst * 100).toFixed(1)}%.`);
    console.log(`fixq's entropy (levels of the uint8 target over the cut, zero spike flattened; see src/calib/range.ts): ${withinEntropy} of ${all.length} within ${TARGET_ANCHOR * 100}%; it differs on purpose on non-negative tensors.`);
    json["anchor"] = { python, numBins: ORT_BINS, numQuantizedBins: ORT_QUANTIZED_BINS, tensors: all.length, within, worst, withinEntropy, rows: all };
  }
}
console.log(`BENCH_CALIB_METHODS ${JSON.stringify(json)}`);
