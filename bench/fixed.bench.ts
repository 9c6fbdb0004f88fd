/**
 * `npm run bench:fixed`: top-1 of fixed-point (ap_fixed) designs of the
 * bundled CNNs, in fixq's bit-exact emulator (the exact design: its rounding
 * and overflow modes), against fixq's default int8 in the same emulator and
 * the float model in ONNX Runtime, all on the same images in the same run.
 *
 * Rows per model (calibrated on 512 images, minmax):
 *   float                 ONNX Runtime, the anchor
 *   int8 (default)        int8 weights per channel, uint8 activations, emulator
 *   fixed<16>             W = 16, I chosen per tensor (weights: max|w|; activations: calibrated range), AP_TRN, AP_WRAP
 *   fixed<8>              the same at W = 8
 *   fixed<16,6>           hls4ml's default type (Q6.10), AP_TRN, AP_WRAP, weights and activations
 *   fixed<16,2>           Q2.14 weights and activations (the seed accelerator's format)
 *   fixed<16,2> a, <12,2> w  Q2.14 activations with Q2.10 weights
 *   … RND_CONV, SAT       the same designs rounding to nearest (ties to even) and saturating,
 *                         fixed<8,auto,…> choosing I per tensor as fixed<8> does
 *   fixed<16,2,RND_CONV,SAT>  Q2.14 weights and activations, rounding and saturating
 * `cert` says whether the accumulator certificate proves every conv/dense
 * sum fits its storage for every input (the program's contract; `compile`
 * refuses designs where it does not): int32, or int64 for the layers whose
 * certified range leaves int32 (integer/widen-accumulators.ts; the note
 * counts them). Where it does not, the emulator runs with every int32
 * accumulator checked exactly on these images: `int32 ok` means no sum left
 * int32 here, so the figure is the design's; otherwise the row says where it
 * overflowed and gives no figure.
 *
 * Images: the full 10k test set with Debian's dataset-fashion-mnist, else
 * the committed 2,000; FIXQ_BENCH_SAMPLES=N takes the first N.
 * FIXQ_BENCH_MODELS=cnn,resnet (default cnn, resnet, mobilenetv2);
 * FIXQ_BENCH_ROWS=REGEX keeps the designs whose name matches (int8 always runs, the ratios' anchor).
 * Ratios: top-1 of the row / top-1 of int8 in the same run; drop: float − row, points.
 */
import { join } from "node:path";
import { runProgram } from "../src/backends/emulator/run.js";
import { MODELS_DIR } from "../src/data/manifest.js";
import { evaluateClassifier } from "../src/eval/classify.js";
import { certifyProgram } from "../src/integer/certify.js";
import { integerizeModel } from "../src/integer/integerize.js";
import { isWideValue, type Program } from "../src/integer/program.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { readNpy } from "../src/io/npy.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { printBenchHeader } from "./cpu-header.js";
import { full } from "./eval-sets.js";

printBenchHeader("fixed");
const log = (s: string) => process.stderr.write(`${s}\n`);

const ROWS: { name: string; recipe: RecipeInput }[] = [
  { name: "int8 (default)", recipe: {} },
  { name: "fixed<16>", recipe: { format: "fixed<16>" } },
  { name: "fixed<8>", recipe: { format: "fixed<8>" } },
  { name: "fixed<16,6>", recipe: { format: "fixed<16,6>" } },
  { name: "fixed<16,2>", recipe: { format: "fixed<16,2>" } },
  { name: "fixed<16,2> a, <12,2> w", recipe: { acts: "fixed<16,2>", weights: "fixed<12,2>" } },
  { name: "fixed<8,auto,RND_CONV,SAT>", recipe: { format: "fixed<8,auto,RND_CONV,SAT>" } },
  { name: "fixed<16,6,RND_CONV,SAT>", recipe: { format: "fixed<16,6,RND_CONV,SAT>" } },
  { name: "Q2.14 RND_CONV,SAT a, <12,2> w", recipe: { acts: "fixed<16,2,RND_CONV,SAT>", weights: "fixed<12,2,RND_CONV,SAT>" } },
  { name: "fixed<16,2,RND_CONV,SAT>", recipe: { format: "fixed<16,2,RND_CONV,SAT>" } },
];
const rowFilter = process.env["FIXQ_BENCH_ROWS"] ? new RegExp(process.env["FIXQ_BENCH_ROWS"]) : undefined;
const rows = ROWS.filter((r) => r.name === "int8 (default)" || !rowFilter || rowFilter.test(r.name));

const models = process.env["FIXQ_BENCH_MODELS"]?.split(",").filter(Boolean) ?? ["cnn", "resnet", "mobilenetv2"];
const small = () => {
  const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
  const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
  return { images: x.data as Float32Array, labels: Int32Array.from(y.data as BigInt64Array, Number), set: "eval2000" };
};
const set = full ? { images: full.images, labels: Int32Array.from(full.labels as ArrayLike<number | bigint>, Number), set: "test10k" } : small();
if (!full) log("dataset-fashion-mnist not installed: the 2,000 committed eval images only");
const limit = Number(process.env["FIXQ_BENCH_SAMPLES"] ?? set.labels.length);
const n = Math.min(limit, set.labels.length);
const images = set.images.subarray(0, n * 784);
const labels = set.labels.subarray(0, n);
log(`${n} images of ${set.set}`);

/** Top-1 of the program in the emulator; with `checkAcc`, every accumulator must stay inside int32 (else the overflow). */
function emulatorTop1(p: Program, checkAcc: boolean): { top1?: number; overflow?: string } {
  const input = p.inputs[0]!.name;
  const output = p.outputs[0]!.name;
  const acc = new Map(
    [...p.values.values()].filter((v) => v.scale === undefined && v.type.bits === 32).map((v) => [v.name, { lo: -(2 ** 31), hi: 2 ** 31 - 1 }]),
  );
  const chunk = 500;
  let right = 0;
  for (let s = 0; s < n; s += chunk) {
    const count = Math.min(chunk, n - s);
    let y: Float32Array;
    try {
      const r = runProgram(p, new Map([[input, images.subarray(s * 784, (s + count) * 784)]]), count, checkAcc ? { assertRanges: acc, chunk: count } : { chunk: 100 });
      y = r.outputs.get(output)!;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("assertRanges")) return { overflow: e.message.replace(/^assertRanges: /, "").replace(/, outside.*$/, "") };
      throw e;
    }
    const classes = y.length / count;
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (y[i * classes + c]! > y[i * classes + best]!) best = c;
      if (best === labels[s + i]) right++;
    }
  }
  return { top1: (100 * right) / n };
}

interface Result {
  model: string;
  row: string;
  top1?: number;
  cert: boolean;
  note: string;
}
const results: Result[] = [];
const t0 = performance.now();
for (const model of models) {
  const float = loadModel(join(MODELS_DIR, `${model}.onnx`));
  const f = await evaluateClassifier(float, { dtype: 1, dims: [n, 1, 28, 28], data: images }, BigInt64Array.from(labels, (v) => BigInt(v)));
  results.push({ model, row: "float (ORT)", top1: f.top1 * 100, cert: true, note: "anchor" });
  log(`${model}: float ${(f.top1 * 100).toFixed(2)}%`);
  for (const row of rows) {
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 512);
    let p: Program;
    try {
      p = integerizeModel((await quantizeModel(float, source, buildRecipe(row.recipe), { threads: 1 })).model);
    } finally {
      source.close();
    }
    const cert = certifyProgram(p).ok;
    const wide = [...p.values.values()].filter(isWideValue).length;
    const r = emulatorTop1(p, !cert);
    const note = r.overflow ? `overflows int32: ${r.overflow}` : cert ? (wide > 0 ? `${wide} int64 accumulators` : "") : "int32 ok on these images";
    results.push({ model, row: row.name, top1: r.top1, cert, note });
    log(`${model}: ${row.name} ${r.top1 === undefined ? "-" : `${r.top1.toFixed(2)}%`} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
}

const pad = (s: string, w: number) => s.padEnd(w);
console.log(`\nfixed-point designs, top-1 on ${n} images of ${set.set} (emulator = exact design; float in ONNX Runtime)`);
console.log(`${pad("model", 12)}${pad("design", 34)}${pad("top-1 %", 9)}${pad("/int8", 8)}${pad("drop", 7)}${pad("cert", 6)}note`);
for (const r of results) {
  const int8 = results.find((x) => x.model === r.model && x.row === "int8 (default)")?.top1;
  const fl = results.find((x) => x.model === r.model && x.row === "float (ORT)")?.top1;
  const top = r.top1 === undefined ? "-" : r.top1.toFixed(2);
  const ratio = r.top1 !== undefined && int8 ? (r.top1 / int8).toFixed(3) : "-";
  const drop = r.top1 !== undefined && fl !== undefined ? (fl - r.top1).toFixed(2) : "-";
  console.log(`${pad(r.model, 12)}${pad(r.row, 34)}${pad(top, 9)}${pad(ratio, 8)}${pad(drop, 7)}${pad(r.cert ? "yes" : "no", 6)}${r.note}`);
}
console.log(`BENCH_FIXED ${JSON.stringify({ images: n, set: set.set, results })}`);
