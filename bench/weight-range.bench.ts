/**
 * W8A8 top-1 with the default narrowed weights ([−64, 64]) against full 8-bit
 * weights ([−127, 127], `--weight-bits 8` or `--target-cpu vnni`), run by ONNX
 * Runtime on the CPU that runs the bench, in its integer kernels
 * (optimizations on) and as fake-quant (optimizations off). On a CPU whose
 * u8×s8 kernels saturate int16 pair sums (x86 AVX2 without VNNI) the full-8-bit
 * integer-kernel column falls below its fake-quant column; with VNNI the two
 * agree, and fake-quant is what a VNNI machine computes. The header names the
 * CPU. Full 10k test set when Debian's dataset-fashion-mnist is installed,
 * else the 2,000-image eval set. Drops are points against float, paired SE.
 */
import { join } from "node:path";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { evaluateClassifier } from "../src/eval/classify.js";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { readNpy } from "../src/io/npy.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { printBenchHeader } from "./cpu-header.js";
import { full } from "./eval-sets.js";
import { pairedDrop } from "./paired.js";

printBenchHeader("weight-range");

const MODELS = (process.env["FIXQ_BENCH_MODELS"] ?? "cnn,resnet,mobilenetv2").split(",").filter(Boolean);
const ROWS: { name: string; recipe: RecipeInput }[] = [
  { name: "[-64,64] (default)", recipe: {} },
  { name: "[-127,127] (8-bit)", recipe: { weightBits: 8 } },
];

const evalX = readNpy(join(MODELS_DIR, "data/eval.npy"));
const evalY = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
const set = full ? { name: "10k test set", x: { dtype: 1, dims: full.shape, data: full.images }, y: full.labels } : { name: "2,000-image eval set (dataset-fashion-mnist not installed)", x: { dtype: 1, dims: evalX.shape, data: evalX.data as Float32Array }, y: evalY.data as BigInt64Array };
const labels = Array.from(set.y as ArrayLike<number | bigint>, Number);

const score = async (m: Model, optimization: "all" | "disabled") => evaluateClassifier(m, set.x, set.y, { optimization });
const pts = (v: number) => (v * 100).toFixed(2);

console.log(`W8A8 per-channel, uint8 activations, MinMax; top-1 on the ${set.name}. int: ORT integer kernels; fq: fake-quant.`);
console.log(`${"model".padEnd(14)}${"weights".padEnd(20)}${"int top-1".padStart(10)}${"fq top-1".padStart(10)}${"int drop ± SE".padStart(16)}${"fq drop ± SE".padStart(16)}`);
for (const m of bundledModels().filter((b) => MODELS.includes(b.key))) {
  const float = loadModel(join(MODELS_DIR, m.file));
  const f = await score(float, "all");
  console.log(`${m.key.padEnd(14)}${"float".padEnd(20)}${pts(f.top1).padStart(10)}`);
  for (const row of ROWS) {
    const source = npyFileSource(float.graph!, join(MODELS_DIR, m.data.calibration));
    let q: Model;
    try {
      q = (await quantizeModel(float, source, buildRecipe(row.recipe))).model;
    } finally {
      source.close();
    }
    const [i, fq] = [await score(q, "all"), await score(q, "disabled")];
    const drop = (p: Int32Array) => {
      const d = pairedDrop(f.predictions, p, labels);
      return `${(d.drop * 100).toFixed(2)} ± ${(d.se * 100).toFixed(2)}`;
    };
    console.log(`${"".padEnd(14)}${row.name.padEnd(20)}${pts(i.top1).padStart(10)}${pts(fq.top1).padStart(10)}${drop(i.predictions).padStart(16)}${drop(fq.predictions).padStart(16)}`);
  }
}
