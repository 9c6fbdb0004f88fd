/**
 * `npm run bench:accuracy`: top-1 accuracy of every bundled model, run in
 * onnxruntime-node, float and quantized with fixq's default recipe (ORT's
 * integer kernels), on the committed 2,000-image eval set and, when Debian's
 * dataset-fashion-mnist is installed, on the full 10k test set. The float
 * anchor is the accuracy the training script measured with Python
 * onnxruntime (models/manifest.json); the table prints both.
 *
 * ± on the 10k figures: one binomial standard error, √(p(1−p)/n) ≈ 0.3 points.
 */
import { join } from "node:path";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { evaluateClassifier } from "../src/eval/classify.js";
import { readNpy } from "../src/io/npy.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";

const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
const full = findFashionMnistDir() ? loadFashionMnistTest() : undefined;
if (!full) console.log("dataset-fashion-mnist not installed: full 10k test set skipped");

const pct = (v: number | undefined) => (v === undefined ? "       -" : `${(v * 100).toFixed(2)}%`.padStart(8));
const rows: Record<string, unknown>[] = [];
console.log(`${"model".padEnd(16)} ${"row".padEnd(14)} ${"eval2000".padStart(8)} ${"test10k".padStart(8)} ${"drop10k".padStart(8)}  python float (2000 / 10k)`);
for (const m of bundledModels()) {
  const float = loadModel(join(MODELS_DIR, m.file));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, m.data.calibration));
  const q = (await quantizeModel(float, source, buildRecipe({}))).model;
  source.close();
  let floatFull: number | undefined;
  for (const [row, model] of [
    ["float", float],
    ["fixq default", q],
  ] as const) {
    const small = await evaluateClassifier(model, { dtype: 1, dims: x.shape, data: x.data as Float32Array }, y.data as BigInt64Array);
    const big = full ? await evaluateClassifier(model, { dtype: 1, dims: full.shape, data: full.images }, full.labels) : undefined;
    if (row === "float") floatFull = big?.top1;
    const drop = big && floatFull !== undefined ? (floatFull - big.top1) * 100 : undefined;
    rows.push({ model: m.key, row, eval2000: small.top1, test10k: big?.top1 ?? null, dropPoints10k: drop ?? null });
    console.log(
      `${m.key.padEnd(16)} ${row.padEnd(14)} ${pct(small.top1)} ${pct(big?.top1)} ${drop === undefined ? "       -" : drop.toFixed(2).padStart(8)}  ${row === "float" ? `${pct(m.accuracy.eval2000)} / ${pct(m.accuracy.test10k)}` : ""}`,
    );
  }
}
console.log(`BENCH_ACCURACY ${JSON.stringify(rows)}`);
