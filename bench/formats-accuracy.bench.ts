/**
 * `npm run bench:formats-accuracy`: top-1 accuracy of the bundled models in
 * every float number format, side by side with fixq's integer formats, run in
 * onnxruntime-node on the committed 2,000-image eval set and, when Debian's
 * dataset-fashion-mnist is installed, the full 10k test set.
 *
 * Rows per model (512 calibration samples, minmax):
 *   INT8 (fixq default)  int8 weights (7-bit values) per channel, uint8 acts   ORT integer kernels
 *   INT4 per-channel     int4 weights per channel, uint8 acts                  ORT: DQ + float ops
 *   FP8 E4M3 W8A8        FP8 weights per channel, FP8 acts per tensor (QDQ)    ORT: DQ + float ops, unoptimized*
 *   FP8 E5M2 W8A8        the same in E5M2                                      ORT: DQ + float ops, unoptimized*
 *   MXFP8 W8A8           E4M3 in blocks of 32, E8M0 scales (stored as f32 2^e), ORT: blocked DQ-21 + dynamic block graph
 *                        activations dynamic
 *   MXFP4 weights        weight-only, FP4 blocks of 32                         dequantized fallback
 *   NVFP4 W4A8           NVFP4 weights, FP8 E4M3 acts per tensor               dequantized fallback + FP8 QDQ*
 *   NVFP4 W4A4           NVFP4 weights, NVFP4 acts (dynamic blocks of 16,      dequantized fallback + dynamic block graph
 *                        calibrated tensor scale)
 * "ORT native" means ONNX Runtime runs the exported standard representation
 * itself; "dequantized fallback" means the weights are stored as float32
 * values on the FP4 grid (--fp4-storage dequantized), because ORT 1.30 cannot
 * run FLOAT4E2M1. Dynamic MX/NVFP4 activations are a graph of standard ops
 * (src/quant/block-act-graph.ts) in both cases. (*) ORT 1.30 mis-optimizes
 * FP8 QDQ, so those models run with graph optimizations off
 * (src/runtime/fp8-qdq.ts).
 *
 * drop10k: float top-1 minus the row's on the same 10k images, points, with
 * the paired standard error (bench/paired.ts). A benchmark never fails.
 * Knobs: FIXQ_BENCH_MODELS=mlp,cnn (default: mlp, cnn, resnet, mobilenetv2, vit).
 */
import { join } from "node:path";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { encodeModel } from "../src/ir/onnx/save.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { evaluateRow, full } from "./eval-sets.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("formats-accuracy");

interface RowSpec {
  readonly name: string;
  readonly recipe: RecipeInput;
  readonly ort: "integer kernels" | "native" | "dequantized fallback";
  readonly how: string;
}

const ROWS: RowSpec[] = [
  { name: "INT8 (fixq default)", recipe: {}, ort: "integer kernels", how: "QLinear* / QGemm" },
  { name: "INT4 per-channel", recipe: { weights: "int4" }, ort: "native", how: "INT4 DQ + float ops, uint8 QDQ" },
  { name: "FP8 E4M3 W8A8", recipe: { format: "fp8-e4m3" }, ort: "native", how: "FP8 QDQ, unoptimized" },
  { name: "FP8 E5M2 W8A8", recipe: { format: "fp8-e5m2" }, ort: "native", how: "FP8 QDQ, unoptimized" },
  { name: "MXFP8 W8A8", recipe: { format: "mxfp8" }, ort: "native", how: "FP8 blocked DQ-21 + dynamic block graph" },
  { name: "MXFP4 weights", recipe: { weights: "mxfp4", acts: "float", fp4Storage: "dequantized" }, ort: "dequantized fallback", how: "f32 on the FP4 grid, float acts" },
  { name: "NVFP4 W4A8", recipe: { weights: "nvfp4", acts: "fp8-e4m3", fp4Storage: "dequantized" }, ort: "dequantized fallback", how: "f32 on the grid + FP8 QDQ, unoptimized" },
  { name: "NVFP4 W4A4", recipe: { format: "nvfp4", fp4Storage: "dequantized" }, ort: "dequantized fallback", how: "f32 on the grid + dynamic block graph" },
];

interface Row {
  model: string;
  name: string;
  ort: string;
  how: string;
  bytes?: number;
  eval2000?: number;
  test10k?: number;
  drop10k?: number;
  se10k?: number;
  preds?: Int32Array;
  skipped?: string;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
if (!full) log("dataset-fashion-mnist not installed: full 10k test set skipped");


const only = process.env["FIXQ_BENCH_MODELS"]?.split(",").filter(Boolean) ?? ["mlp", "cnn", "resnet", "mobilenetv2", "vit"];
const rows: Row[] = [];
const t0 = performance.now();
for (const m of bundledModels().filter((b) => only.includes(b.key))) {
  const float = loadModel(join(MODELS_DIR, m.file));
  const floatRow: Row = { model: m.key, name: "float", ort: "-", how: "", bytes: encodeModel(float).length };
  log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${m.key}: float`);
  await evaluateRow(floatRow, float);
  rows.push(floatRow);
  for (const spec of ROWS) {
    const row: Row = { model: m.key, name: spec.name, ort: spec.ort, how: spec.how };
    rows.push(row);
    log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${m.key}: ${spec.name}`);
    const source = npyFileSource(float.graph!, join(MODELS_DIR, m.data.calibration));
    try {
      const q = (await quantizeModel(float, source, buildRecipe(spec.recipe))).model;
      row.bytes = encodeModel(q).length;
      await evaluateRow(row, q, floatRow);
    } catch (e) {
      row.skipped = (e as Error).message;
    } finally {
      source.close();
    }
  }
}

const pct = (v: number | undefined) => (v === undefined ? "-" : `${(v * 100).toFixed(2)}%`);
const pts = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));
const kb = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1024).toFixed(0)} KB`);
console.log(`| model | format | ORT ran it | how | file | eval2000 | test10k | drop10k ± SE |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const r of rows) {
  const drop = r.drop10k === undefined ? "-" : `${pts(r.drop10k)} ± ${pts(r.se10k)}`;
  console.log(`| ${r.model} | ${r.name} | ${r.ort} | ${r.how} | ${kb(r.bytes)} | ${pct(r.eval2000)} | ${pct(r.test10k)} | ${drop}${r.skipped ? ` (skipped: ${r.skipped})` : ""} |`);
}
console.log("");
console.log("drop10k: float top-1 minus the row's on the same 10k images, points; ± one standard error of the paired difference.");
console.log(`BENCH_FORMATS_ACCURACY ${JSON.stringify({ test10k: full !== undefined, rows: rows.map(({ preds: _, ...r }) => r) })}`);
