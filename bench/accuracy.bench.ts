/**
 * `npm run bench:accuracy`: top-1 accuracy of every bundled model, run in
 * onnxruntime-node on the committed 2,000-image eval set and, when Debian's
 * dataset-fashion-mnist is installed, on the full 10k test set. The anchor is
 * the accuracy the training script measured with Python onnxruntime
 * (models/manifest.json); the table prints the difference.
 */
import { join } from "node:path";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { evaluateClassifier } from "../src/eval/classify.js";
import { readNpy } from "../src/io/npy.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { terminalProgress } from "../src/util/progress.js";

const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
const full = findFashionMnistDir() ? loadFashionMnistTest() : undefined;
if (!full) console.log("dataset-fashion-mnist not installed: full 10k test set skipped");

const rows: Record<string, unknown>[] = [];
console.log(`${"model".padEnd(16)} ${"eval2000".padStart(9)} ${"python".padStart(8)} ${"test10k".padStart(8)} ${"python".padStart(8)} ${"img/s".padStart(8)}`);
for (const m of bundledModels()) {
  const model = loadModel(join(MODELS_DIR, m.file));
  const t0 = performance.now();
  const small = await evaluateClassifier(model, { dtype: 1, dims: x.shape, data: x.data as Float32Array }, y.data as BigInt64Array);
  const rate = 2000 / ((performance.now() - t0) / 1000);
  const big = full
    ? await evaluateClassifier(model, { dtype: 1, dims: full.shape, data: full.images }, full.labels, { progress: terminalProgress() })
    : undefined;
  rows.push({ model: m.key, eval2000: small.top1, python2000: m.accuracy.eval2000, test10k: big?.top1 ?? null, python10k: m.accuracy.test10k });
  console.log(
    `${m.key.padEnd(16)} ${(small.top1 * 100).toFixed(2).padStart(8)}% ${(m.accuracy.eval2000 * 100).toFixed(2).padStart(7)}% ${big ? `${(big.top1 * 100).toFixed(2)}%`.padStart(8) : "       -"} ${(m.accuracy.test10k * 100).toFixed(2).padStart(7)}% ${rate.toFixed(0).padStart(8)}`,
  );
}
console.log(`BENCH_ACCURACY ${JSON.stringify(rows)}`);

