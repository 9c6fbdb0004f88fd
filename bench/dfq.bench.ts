/**
 * `npm run bench:dfq`: data-free quantization (Nagel et al. 2019) on the
 * bundled MobileNetV2- and ResNet-style models, BN kept (`.bn`, folded by
 * fixq, statistics kept) and BN folded by the exporter (no statistics).
 *
 * Every row: per-tensor int8 weights with full 8-bit values, uint8
 * activations per tensor, MinMax calibration on the 512 bundled images (the
 * data-free row reads none). MobileNetV2 rows also use --relu6-to-relu
 * (except the per-channel reference); the float model's accuracy change from
 * that is printed. Rows:
 *   naive; + CLE; + CLE + absorption; + CLE + absorption + bias correction
 *   (empirical); + … (analytic); data-free (all of it, ranges from BN
 *   statistics, input range [0, 1]; refused on the exporter-folded models,
 *   which have no BN statistics); reference: per-channel int8 (8-bit).
 *
 * Top-1 on the full 10k test set when Debian's dataset-fashion-mnist is
 * installed, else on the 2,000 bundled evaluation images, in two runs:
 * ORT's integer kernels (optimizations on) and fake-quant (optimizations
 * off). With full 8-bit weights ORT's u8×s8 kernels on an x86 CPU without
 * VNNI (the header names the CPU) can saturate their int16 pair sums, so the integer-kernel figure
 * mixes that in; the fake-quant figure is the quantization itself.
 * drop: float top-1 minus the row's, points, ± one paired standard error.
 * recovered: (row − naive) / (float − naive), the fraction of the
 * naive-to-float gap the row wins back (float: the model as shipped), printed
 * only when the naive drop exceeds 2 standard errors.
 *
 * Goal: the data-free row recovers ≥ 95% of the gap on the MobileNetV2-style
 * model where naive per-tensor collapses (mobilenetv2.nowd.bn).
 * FIXQ_BENCH_MODELS=a,b runs only those manifest keys.
 */
import { join } from "node:path";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { MODELS_DIR } from "../src/data/manifest.js";
import { evaluateClassifier } from "../src/eval/classify.js";
import { isFixqError } from "../src/ir/errors.js";
import type { Model } from "../src/ir/graph.js";
import { readNpy } from "../src/io/npy.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { prepareFloatModel } from "../src/passes/pipeline.js";
import { type DataSource, npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { pairedDrop } from "./paired.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("dfq");

const MODELS = ["mobilenetv2.bn", "mobilenetv2.nowd.bn", "mobilenetv2", "resnet.bn", "resnet"];
const BASE: RecipeInput = { weights: "int8", weightBits: 8, acts: "uint8", granularity: "per-tensor" };
const ROWS: { name: string; recipe: RecipeInput; relu6?: false }[] = [
  { name: "naive", recipe: {} },
  { name: "+ CLE", recipe: { cle: true } },
  { name: "+ CLE + absorption", recipe: { cle: true, absorbBias: true } },
  { name: "+ CLE + abs. + BC empirical", recipe: { cle: true, absorbBias: true, biasCorrection: "empirical" } },
  { name: "+ CLE + abs. + BC analytic", recipe: { cle: true, absorbBias: true, biasCorrection: "analytic" } },
  { name: "data-free", recipe: { dataFree: true, inputRange: [0, 1] } },
  { name: "per-channel (reference)", recipe: { granularity: "per-channel" }, relu6: false },
];
const GOAL = { model: "mobilenetv2.nowd.bn", row: "data-free", recovered: 0.95 };

const log = (s: string) => process.stderr.write(`${s}\n`);
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;

const full = findFashionMnistDir() ? loadFashionMnistTest() : undefined;
const small = full ? undefined : { x: readNpy(join(MODELS_DIR, "data/eval.npy")), y: readNpy(join(MODELS_DIR, "data/eval_labels.npy")) };
const images = full ? { dtype: 1, dims: full.shape, data: full.images } : { dtype: 1, dims: small!.x.shape, data: small!.x.data as Float32Array };
const labels: ArrayLike<number> = full ? full.labels : Int32Array.from(small!.y.data as BigInt64Array, Number);
const setName = full ? "full 10k test set" : "2,000 bundled evaluation images (dataset-fashion-mnist not installed)";

/** Fails if data-free mode touches it at all. */
const noData: DataSource = {
  get count(): number {
    throw new Error("data-free row read data");
  },
  batch() {
    throw new Error("data-free row read data");
  },
  close() {},
};

interface Result {
  model: string;
  row: string;
  /** Why the row has no figures (fixq refused it). */
  refused?: string;
  intTop1: number;
  fqTop1: number;
  intDrop: { drop: number; se: number };
  fqDrop: { drop: number; se: number };
  recoveredInt: number | null;
  recoveredFq: number | null;
  quantizeMs: number;
}

async function predict(m: Model, optimization: "all" | "disabled") {
  return evaluateClassifier(m, images, labels, { optimization, batchSize: 500 });
}

const results: Result[] = [];
const floats: { model: string; top1: number; relu6Top1?: number; relu6Change?: { drop: number; se: number } }[] = [];
const only = process.env["FIXQ_BENCH_MODELS"]?.split(",").filter(Boolean);
log(`evaluating on the ${setName}; load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}`);
for (const key of MODELS.filter((k) => !only || only.includes(k))) {
  const model = loadModel(join(MODELS_DIR, `${key}.onnx`));
  const relu6 = key.startsWith("mobilenetv2");
  log(`[${elapsed()}] ${key}: float`);
  const float = await predict(model, "all");
  const f: (typeof floats)[number] = { model: key, top1: float.top1 };
  if (relu6) {
    const r = await predict(prepareFloatModel(model, { cle: false, absorbBias: false, relu6ToRelu: true }).model, "all");
    f.relu6Top1 = r.top1;
    f.relu6Change = pairedDrop(float.predictions, r.predictions, labels);
  }
  floats.push(f);
  let naive: { int: Int32Array; fq: Int32Array; intTop1: number; fqTop1: number } | undefined;
  for (const row of ROWS) {
    log(`[${elapsed()}] ${key}: ${row.name}`);
    const recipe = buildRecipe(BASE, { relu6ToRelu: relu6 && row.relu6 !== false }, row.recipe);
    const source = recipe.dataFree ? noData : npyFileSource(model.graph!, join(MODELS_DIR, "data/calib.npy"));
    const q0 = performance.now();
    let q: Awaited<ReturnType<typeof quantizeModel>>;
    try {
      q = await quantizeModel(model, source, recipe).finally(() => source.close());
    } catch (e) {
      if (!isFixqError(e)) throw e;
      const none = { drop: Number.NaN, se: Number.NaN };
      results.push({ model: key, row: row.name, refused: e.message, intTop1: Number.NaN, fqTop1: Number.NaN, intDrop: none, fqDrop: none, recoveredInt: null, recoveredFq: null, quantizeMs: 0 });
      continue;
    }
    const quantizeMs = performance.now() - q0;
    const [i, d] = [await predict(q.model, "all"), await predict(q.model, "disabled")];
    if (row.name === "naive") naive = { int: i.predictions, fq: d.predictions, intTop1: i.top1, fqTop1: d.top1 };
    const intDrop = pairedDrop(float.predictions, i.predictions, labels);
    const fqDrop = pairedDrop(float.predictions, d.predictions, labels);
    const recovered = (top1: number, naiveTop1: number, naiveDrop: { drop: number; se: number }) =>
      naiveDrop.drop > 2 * naiveDrop.se ? (top1 - naiveTop1) / (float.top1 - naiveTop1) : null;
    const nInt = pairedDrop(float.predictions, naive!.int, labels);
    const nFq = pairedDrop(float.predictions, naive!.fq, labels);
    results.push({
      model: key,
      row: row.name,
      intTop1: i.top1,
      fqTop1: d.top1,
      intDrop,
      fqDrop,
      recoveredInt: recovered(i.top1, naive!.intTop1, nInt),
      recoveredFq: recovered(d.top1, naive!.fqTop1, nFq),
      quantizeMs,
    });
  }
}
log(`[${elapsed()}] done`);

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const pts = (d: { drop: number; se: number }) => `${(100 * d.drop).toFixed(2)} ± ${(100 * d.se).toFixed(2)}`;
const rec = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(0)}%`);
console.log(`Per-tensor W8A8 (int8 weights, full 8 bits; uint8 activations), top-1 on the ${setName}.`);
console.log("int: ORT integer kernels (optimizations on); fq: fake-quant (optimizations off). drop: float − row, points ± paired SE.");
console.log("recovered: (row − naive)/(float − naive), shown when the naive drop exceeds 2 SE.\n");
const header = ["row", "int top-1", "fq top-1", "drop int", "drop fq", "rec. int", "rec. fq", "quantize"];
const w = [28, 9, 9, 13, 13, 8, 8, 9];
const line = (cells: string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(w[k]!) : c.padStart(w[k]!))).join("  ");
for (const f of floats) {
  const change = f.relu6Change ? `; after --relu6-to-relu ${pct(f.relu6Top1!)} (change ${(-100 * f.relu6Change.drop).toFixed(2)} ± ${(100 * f.relu6Change.se).toFixed(2)} points)` : "";
  console.log(`${f.model}: float ${pct(f.top1)}${change}`);
  console.log(line(header));
  for (const r of results.filter((x) => x.model === f.model)) {
    if (r.refused) {
      console.log(`${line([r.row])}  refused: ${r.refused}`);
      continue;
    }
    console.log(line([r.row, pct(r.intTop1), pct(r.fqTop1), pts(r.intDrop), pts(r.fqDrop), rec(r.recoveredInt), rec(r.recoveredFq), `${(r.quantizeMs / 1000).toFixed(1)} s`]));
  }
  console.log("");
}
const goal = results.find((r) => r.model === GOAL.model && r.row === GOAL.row);
if (goal) {
  const ok = (x: number | null) => (x === null ? "n/a" : x >= GOAL.recovered ? "PASS" : "MISS");
  console.log(`Goal: ${GOAL.row} recovers ≥ ${100 * GOAL.recovered}% of the naive-to-float gap on ${GOAL.model}: fake-quant ${rec(goal.recoveredFq)} ${ok(goal.recoveredFq)}, integer kernels ${rec(goal.recoveredInt)} ${ok(goal.recoveredInt)}`);
}
console.log(`BENCH_DFQ ${JSON.stringify({ set: full ? "test10k" : "eval2000", floats, results })}`);
