/**
 * `npm run bench:transformer`: the bundled ViT in every transformer
 * deployment format fixq writes, against float and ONNX Runtime's own tools:
 *
 *   float                        the model as trained
 *   fixq static W8A8             default recipe (uint8 activations, 7-bit int8 weights, QDQ)
 *   fixq dynamic-uint8           --acts dynamic-uint8 (DynamicQuantizeLinear + MatMulInteger)
 *   fixq MatMulNBits int4 bB     --weights int4 --granularity per-block:B --acts float --weight-only-op matmulnbits
 *                                (nearest, and with --weight-rounding gptq; and "MatMuls only":
 *                                the patch Conv and head Gemm left float, the format ORT's anchor writes;
 *                                "MatMuls only" also as uint4 and as int4 --int4-grid full, ORT's grid)
 *                                each "MatMuls only" row also with --block-scale mse
 *   fixq integer-only            the default QDQ model integerized, run in fixq's emulator
 *   fixq FORMAT [--rotate [online]]  int4 b32 / u8 and mxfp4, nvfp4 / fp8 without rotation, folded, folded + online
 *                                (bench/transformer-rotate.ts; then each rotation's paired gain at its format),
 *                                and W8A8 --rotate online in ORT and integer-only in the emulator
 *   outlier ViT ...              a function-preserving copy of the ViT with two outlier channels in every
 *                                norm output (bench/transformer-outliers.ts): W8A8 with and without --smooth,
 *                                the rotation rows at int4 / u8 and mxfp4 / fp8, ORT quantize_static on it
 *   anchor quantize_dynamic      ORT's quantize_dynamic defaults          (Python, scripts/ort_transformer_anchor.py)
 *   anchor quantize_static       per-channel, uint8 activations            (Python, scripts/ort_quantize_anchor.py)
 *   anchor MatMulNBits bB        ORT's MatMulNBitsQuantizer, RTN, symmetric; and GPTQ on the calibration set
 *
 * Columns: top-1 on the full 10k Fashion-MNIST test set when Debian's
 * package is installed (else the 2,000-image eval set), top-1 agreement with
 * float, the paired drop against float and its standard error (bench/paired.ts),
 * the file size, and the mean KL divergence of the row's softmax from float's
 * (bench/output-kl.ts; rows run in ORT). Then each fixq int4 "MatMuls only"
 * row against the best ORT MatMulNBits anchor at its block size: the paired
 * top-1 gain and the KL ratio (bench/transformer-vs-anchor.ts). Then the throughput part (bench/transformer-throughput.ts):
 * each variant's samples/s in ORT at 1 and 2 threads on a fixed batch, and
 * its ratio to float; the emulator against ORT float at 1 thread. Then the accuracy of each integer approximation alone, in output
 * steps (LSB) against float on uniformly random 8-bit inputs: Softmax and
 * LayerNorm of the integer-only ViT (the exact-table GELU's error is its
 * output rounding alone, ≤ 1/2 LSB by construction).
 *
 * Then the torch pre-norm encoder layers (bench/transformer-prenorm.ts):
 * output SQNR of W8A8 without and with --smooth, the outlier statistic per
 * norm before and after, and the integer RMSNorm's error alone.
 *
 * Then the BERT-style fixture (test/fixtures/corpus): SQNR and top-1
 * agreement with float on generated inputs, and the file size, for static
 * W8A8, dynamic-uint8, MatMulNBits int4 (nearest and GPTQ; every layer, and
 * at ORT's format: MatMuls only, b32 and b128), the static model
 * lowered to integers (sequence length pinned to 16) in the emulator, and
 * ORT's anchors (quantize_dynamic, quantize_static, MatMulNBitsQuantizer RTN
 * and GPTQ) on the same inputs.
 *
 * ORT's MatMulNBitsQuantizer needs the onnx-ir package, and its GPTQ torch:
 * where they are missing, the rows say so. Not measured: I-BERT's polynomial GELU. I-BERT's
 * polynomial exp is computed here only, to compare its Softmax error with the
 * exact table's.
 *
 * Knobs: FIXQ_BENCH_PYTHON (default python3) runs the anchors, which are
 * skipped with a notice when it cannot import onnxruntime.quantization;
 * FIXQ_BENCH_ANCHOR=0 skips them; FIXQ_BENCH_SAMPLES=N limits the test set;
 * FIXQ_BENCH_PART=accuracy|throughput runs one part (default both);
 * FIXQ_BENCH_ROWS=REGEX builds only the ViT variants whose name matches (float always);
 * FIXQ_BENCH_BATCH (64), FIXQ_BENCH_REPS (15), FIXQ_BENCH_EMU_REPS (5) shape the timing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Emulator } from "../src/backends/emulator/emulator.js";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { MODELS_DIR } from "../src/data/manifest.js";
import { argmaxRows } from "../src/eval/classify.js";
import { integerizeModel } from "../src/integer/integerize.js";
import type { LayerNormOp, Program, SoftmaxOp } from "../src/integer/program.js";
import { DataType } from "../src/ir/dtype.js";
import type { Model } from "../src/ir/graph.js";
import { attrFloat } from "../src/ir/attrs.js";
import { constantTensors } from "../src/ir/infer-types.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../src/ir/tensor.js";
import { saveModel } from "../src/ir/onnx/save.js";
import { readNpy } from "../src/io/npy.js";
import { layerNormKernel, softmaxKernel } from "../src/numerics/transformer.js";
import { toDynamicUint8 } from "../src/quant/dynamic-matmul.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { toMatMulNBits } from "../src/quant/matmulnbits.js";
import { smoothModel } from "../src/quant/smooth.js";
import { CORPUS, compareOutputs, corpusInputs, runCorpusCase, writeInputs } from "../test/helpers/corpus.js";
import { pinSampleShapes } from "../src/ir/pin-shapes.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { type HostTensor, OrtSession } from "../src/runtime/ort-session.js";
import { packageRoot } from "../src/util/package-root.js";
import { printBenchHeader } from "./cpu-header.js";
import { pairedDrop } from "./paired.js";
import { classifierLogits, type Logits, meanKl } from "./output-kl.js";
import { printAnchorComparison } from "./transformer-vs-anchor.js";
import { printThroughput, type ThroughputVariant } from "./transformer-throughput.js";
import { addRotationRows, printRotationGains, rotatedOnlineW8A8 } from "./transformer-rotate.js";
import { prenormSection } from "./transformer-prenorm.js";
import { addOutlierRows, OUTLIER_PREFIX, outlierRatios, outlierViT, printOutlierGains } from "./transformer-outliers.js";

printBenchHeader("transformer");
const PART = process.env["FIXQ_BENCH_PART"] ?? "all";
if (!["all", "accuracy", "throughput"].includes(PART)) throw new Error(`FIXQ_BENCH_PART must be accuracy or throughput, not '${PART}'`);
const ACCURACY = PART !== "throughput";
const THROUGHPUT = PART !== "accuracy";
const ROWS = new RegExp(process.env["FIXQ_BENCH_ROWS"] ?? "");
const t0 = performance.now();
const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);

// --- data ---
const full = findFashionMnistDir() ? loadFashionMnistTest() : undefined;
const small = readNpy(join(MODELS_DIR, "data/eval.npy"));
const smallLabels = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
const limit = Number(process.env["FIXQ_BENCH_SAMPLES"] ?? Infinity);
const images = full ? full.images : (small.data as Float32Array);
const labelsAll = full ? Int32Array.from(full.labels, Number) : Int32Array.from(smallLabels.data as BigInt64Array, Number);
const n = Math.min(labelsAll.length, limit);
const X = images.subarray(0, n * 784);
const labels = labelsAll.subarray(0, n);
const setName = `${full ? "Fashion-MNIST test" : "eval set"} (${n} images)`;

const tmp = mkdtempSync(join(tmpdir(), "fixq-bench-transformer-"));
const FLOAT_PATH = join(MODELS_DIR, "vit.onnx");
const float = loadModel(FLOAT_PATH);

interface Row {
  name: string;
  preds?: Int32Array;
  /** Mean KL(softmax(float) ‖ softmax(row)) on the test set, where the row ran in ORT. */
  kl?: number;
  bytes?: number;
  skipped?: string;
}
const rows: Row[] = [];
const variants: ThroughputVariant[] = [];
let floatLogits: Logits | undefined;

/** The model's logits on the images in ORT (bench/output-kl.ts). */
function predict(model: Model, threads = 1): Promise<Logits> {
  return classifierLogits(model, { dtype: DataType.FLOAT, dims: [n, 1, 28, 28], data: X }, labels, threads, 256);
}

function fileSize(model: Model, name: string): number {
  const path = join(tmp, `${name}.onnx`);
  saveModel(model, path);
  return statSync(path).size;
}

/** Builds the variant (unless FIXQ_BENCH_ROWS leaves it out), then measures its accuracy and keeps it for the throughput part. */
async function addModelRow(name: string, build: () => Model | Promise<Model>): Promise<void> {
  if (rows.length > 0 && !ROWS.test(name)) return;
  log(name);
  const model = await build();
  if (ACCURACY) {
    const l = await predict(model);
    floatLogits ??= l;
    rows.push({ name, preds: l.predictions, kl: meanKl(floatLogits, l), bytes: fileSize(model, name.replace(/\W+/g, "_")) });
  }
  else rows.push({ name });
  if (THROUGHPUT) variants.push({ name, model });
}

async function quantized(recipe: RecipeInput): Promise<Model> {
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 512);
  try {
    return (await quantizeModel(float, source, buildRecipe(recipe), { threads: 1 })).model;
  } finally {
    source.close();
  }
}

// --- fixq rows ---
await addModelRow("float", () => float);
const w8a8 = await quantized({});
await addModelRow("fixq static W8A8 (QDQ)", () => w8a8);
{
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 512);
  try {
    for (const alpha of [0.5, "search"] as const) {
      await addModelRow(`fixq static W8A8 --smooth${alpha === "search" ? " (α searched)" : ` ${alpha}`}`, async () => {
        const smoothed = (await smoothModel(float, source, alpha, { batchSize: 64, threads: 1 })).model;
        return (await quantizeModel(smoothed, source, buildRecipe({}), { threads: 1 })).model;
      });
    }
  } finally {
    source.close();
  }
}
await addModelRow("fixq dynamic-uint8", async () => toDynamicUint8(await quantized({ acts: "float" })).model);
for (const b of [32, 128]) await addModelRow(`fixq MatMulNBits int4 b${b} (nearest)`, async () => toMatMulNBits(await quantized({ weights: "int4", granularity: `per-block:${b}`, acts: "float" })).model);
for (const b of [32, 128]) {
  await addModelRow(`fixq MatMulNBits int4 b${b} (GPTQ)`, async () => toMatMulNBits(await quantized({ weights: "int4", granularity: `per-block:${b}`, acts: "float", weightRounding: "gptq" })).model);
}
// The format ORT's MatMulNBitsQuantizer writes: only the MatMuls in int4, the patch Conv and the head Gemm float.
const MATMULS_ONLY = ["/patch_embed/Conv", "/fc/Gemm"];
// uint4: asymmetric, a zero point per block (ORT's MatMulNBitsQuantizer default, is_symmetric=False)
// int4 full grid: --int4-grid full, MLAS's symmetric grid (each block's signed extreme on −8, all 16 codes)
// --block-scale mse: each block's min-max scale shrunk to the least squared rounding error (numerics/int-group-clip.ts)
for (const mse of [false, true]) {
  for (const w of ["int4", "int4 full grid", "uint4"]) {
    for (const b of [32, 128]) {
      for (const rounding of ["nearest", "gptq"] as const) {
        const full = w === "int4 full grid";
        const recipe: RecipeInput = { weights: full ? "int4" : w, granularity: `per-block:${b}`, acts: "float", exclude: MATMULS_ONLY, weightRounding: rounding, ...(full ? { int4Grid: "full" } : {}), ...(mse ? { blockScale: "mse" } : {}) };
        const name = `fixq MatMulNBits ${w} b${b} (${rounding === "gptq" ? "GPTQ" : "nearest"}, MatMuls only${mse ? ", block-scale mse" : ""})`;
        await addModelRow(name, async () => toMatMulNBits(await quantized(recipe)).model);
      }
    }
  }
}
// Hadamard rotation (bench/transformer-rotate.ts): none, folded pairs, folded + online, at int4 / u8 and fp4 / fp8.
await addRotationRows(float, addModelRow);
// The synthetic outlier ViT (bench/transformer-outliers.ts): where smoothing and rotation have outlier channels to move.
const outlier = outlierViT(float);
const OUTLIER_PATH = join(tmp, "vit_outliers.onnx");
saveModel(outlier, OUTLIER_PATH);
await addOutlierRows(float, outlier, addModelRow);

log("fixq integer-only (emulator)");
const program = integerizeModel(w8a8);
/** The emulator's top-1 predictions of `p` on the images. */
function emulatorPreds(p: Program): Int32Array {
  const emu = Emulator.compile(p, 256);
  const preds = new Int32Array(n);
  for (let start = 0; start < n; start += 256) {
    const count = Math.min(256, n - start);
    const x = new Float32Array(256 * 784);
    x.set(X.subarray(start * 784, (start + count) * 784));
    const out = emu.run(new Map([["input", x]])).outputs.get(p.outputs[0]!.name)!;
    argmaxRows(out.subarray(0, count * 10), count, preds, start);
  }
  return preds;
}
if (ACCURACY) rows.push({ name: "fixq integer-only (emulator)", preds: emulatorPreds(program) });
// W8A8 with --rotate online (the inserted Hadamard MatMuls lower as dense layers), and its fake-quant model in ORT
const ROTATED_INTEGER = "fixq W8A8 --rotate online";
if (ACCURACY && ROWS.test(ROTATED_INTEGER)) {
  log(`${ROTATED_INTEGER}: fake-quant and integer-only`);
  const rotated = await rotatedOnlineW8A8(float);
  rows.push({ name: `${ROTATED_INTEGER} (QDQ)`, preds: (await predict(rotated)).predictions, bytes: fileSize(rotated, "w8a8_rotate_online") });
  rows.push({ name: `${ROTATED_INTEGER}, integer-only (emulator)`, preds: emulatorPreds(integerizeModel(rotated)) });
}

// --- anchors ---
const python = process.env["FIXQ_BENCH_PYTHON"] || "python3";
const anchorSkip = (() => {
  if (process.env["FIXQ_BENCH_ANCHOR"] === "0") return "FIXQ_BENCH_ANCHOR=0";
  const r = spawnSync(python, ["-c", "import onnxruntime.quantization"], { encoding: "utf8" });
  if (r.error) return `${python} not found`;
  return r.status === 0 ? undefined : `${python} cannot import onnxruntime.quantization`;
})();
const scripts = join(packageRoot(), "scripts");
const anchors: [string, string[]][] = [
  ["anchor ORT quantize_dynamic", [join(scripts, "ort_transformer_anchor.py"), FLOAT_PATH, "OUT", "dynamic"]],
  ["anchor ORT quantize_static (per-channel, u8 acts)", [join(scripts, "ort_quantize_anchor.py"), FLOAT_PATH, join(MODELS_DIR, "data/calib.npy"), "OUT", "per-channel-u8"]],
  [`anchor ORT quantize_static, ${OUTLIER_PREFIX} (per-channel, u8 acts)`, [join(scripts, "ort_quantize_anchor.py"), OUTLIER_PATH, join(MODELS_DIR, "data/calib.npy"), "OUT", "per-channel-u8"]],
  ["anchor ORT MatMulNBits int4 b32 (RTN)", [join(scripts, "ort_transformer_anchor.py"), FLOAT_PATH, "OUT", "nbits:32"]],
  ["anchor ORT MatMulNBits int4 b128 (RTN)", [join(scripts, "ort_transformer_anchor.py"), FLOAT_PATH, "OUT", "nbits:128"]],
  ["anchor ORT MatMulNBits int4 b32 (GPTQ)", [join(scripts, "ort_transformer_anchor.py"), FLOAT_PATH, "OUT", "nbits-gptq:32", join(MODELS_DIR, "data/calib.npy")]],
  ["anchor ORT MatMulNBits int4 b128 (GPTQ)", [join(scripts, "ort_transformer_anchor.py"), FLOAT_PATH, "OUT", "nbits-gptq:128", join(MODELS_DIR, "data/calib.npy")]],
  ["anchor ORT MatMulNBits int4 b32 (RTN, asymmetric)", [join(scripts, "ort_transformer_anchor.py"), FLOAT_PATH, "OUT", "nbits-asym:32"]],
  ["anchor ORT MatMulNBits int4 b128 (RTN, asymmetric)", [join(scripts, "ort_transformer_anchor.py"), FLOAT_PATH, "OUT", "nbits-asym:128"]],
];
/** Runs one anchor script into `out`; the reason when it cannot (skipped or failed). */
function runAnchor(args: readonly string[], out: string): string | undefined {
  if (anchorSkip) return `skipped: ${anchorSkip}`;
  const r = spawnSync(python, args.map((a) => (a === "OUT" ? out : a)), { encoding: "utf8", maxBuffer: 64 << 20 });
  return r.status === 0 ? undefined : `failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`;
}
for (const [name, args] of anchors) {
  if (!ROWS.test(name)) continue;
  const out = join(tmp, `${name.replace(/\W+/g, "_")}.onnx`);
  log(`${name}: the Python anchor`);
  const failed = runAnchor(args, out);
  if (failed) rows.push({ name, skipped: failed });
  else await addModelRow(name, () => loadModel(out));
}

// --- throughput (ORT at 1 and 2 threads, the emulator) ---
if (THROUGHPUT) {
  log("throughput");
  const env = (k: string, d: number) => Number(process.env[k] ?? d);
  const batch = Math.min(env("FIXQ_BENCH_BATCH", 64), n);
  await printThroughput(variants, program, { batch, reps: env("FIXQ_BENCH_REPS", 15), emulatorReps: env("FIXQ_BENCH_EMU_REPS", 5), images: X });
}
if (!ACCURACY) {
  rmSync(tmp, { recursive: true, force: true });
  log("done");
  process.exit(0);
}

// --- the table ---
const floatRow = rows[0]!;
const pct = (v: number) => `${(100 * v).toFixed(2)}`;
console.log(`\nViT on ${setName}`);
console.log(`${"row".padEnd(50)} ${"top-1".padStart(6)} ${"agree".padStart(6)} ${"drop".padStart(6)} ${"±SE".padStart(5)} ${"bytes".padStart(8)} ${"KL vs float".padStart(11)}`);
for (const r of rows) {
  if (!r.preds) {
    console.log(`${r.name.padEnd(50)} ${r.skipped}`);
    continue;
  }
  let right = 0;
  let agree = 0;
  for (let i = 0; i < n; i++) {
    if (r.preds[i] === labels[i]) right++;
    if (r.preds[i] === floatRow.preds![i]) agree++;
  }
  const d = pairedDrop(floatRow.preds!, r.preds, labels);
  console.log(`${r.name.padEnd(50)} ${pct(right / n).padStart(6)} ${pct(agree / n).padStart(6)} ${pct(d.drop).padStart(6)} ${pct(d.se).padStart(5)} ${String(r.bytes ?? "-").padStart(8)} ${(r.kl === undefined ? "-" : r.kl.toExponential(2)).padStart(11)}`);
}
console.log("(integer-only row: its size column is not a file)");
printRotationGains(rows, labels);
printOutlierGains(rows, labels);
printAnchorComparison(rows, labels);
if (ROWS.test(OUTLIER_PREFIX)) {
  const [before, after] = [await outlierRatios(float), await outlierRatios(outlier)];
  console.log(`\nOutlier statistic max_j max|X_j| / median_j max|X_j| per norm output (calibration data), bundled ViT → ${OUTLIER_PREFIX}:`);
  for (const [i, b] of before.entries()) console.log(`  ${b.norm.padEnd(44)} ${b.ratio.toFixed(2).padStart(6)} → ${after[i]!.ratio.toFixed(2)}`);
}

// --- each integer approximation alone ---
function approximationErrors(p: Program): void {
  let seed = 12345;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  const sm = p.ops.find((o): o is SoftmaxOp => o.kind === "softmax")!;
  const ln = p.ops.find((o): o is LayerNormOp => o.kind === "layernorm")!;
  for (const [label, op] of [
    ["Softmax (exp table, integer division)", sm],
    ["LayerNorm (integer mean/variance, floor isqrt)", ln],
  ] as const) {
    const xv = p.values.get(op.input)!;
    const yv = p.values.get(op.output)!;
    const L = xv.shape[xv.shape.length - 1]!;
    const rowsN = 2000;
    const x = Int32Array.from({ length: rowsN * L }, () => rnd(256));
    const y = new Int32Array(x.length);
    if (op.kind === "softmax") softmaxKernel(x, y, L, op.exp, op.numerator, op.shift, op.outZero, op.clampLo, op.clampHi);
    else layerNormKernel(x, y, L, op.gamma, op.beta, op.varShift, op.fracBits, op.epsilon, op.outZero, op.clampLo, op.clampHi);
    let max = 0;
    let sum = 0;
    let count = 0;
    for (let r = 0; r < rowsN; r++) {
      const v = Array.from(x.subarray(r * L, (r + 1) * L), (q) => (q - xv.zeroPoint!) * xv.scale!);
      const ref = refRow(op, v, L);
      for (let i = 0; i < L; i++) {
        const want = yv.zeroPoint! + ref[i]! / yv.scale!;
        if (want < op.clampLo || want > op.clampHi) continue;
        const e = Math.abs(y[r * L + i]! - want);
        max = Math.max(max, e);
        sum += e;
        count++;
      }
    }
    console.log(`  ${label.padEnd(48)} max ${max.toFixed(3)} LSB, mean ${(sum / count).toFixed(3)} LSB`);
  }
}

/**
 * I-BERT's integer exp (Kim et al. 2021), for comparison with the exact table
 * (bench only, not in fixq): for d = max − x ≥ 0 at scale S, z = ⌊d / q_ln2⌋
 * with q_ln2 = ⌊ln 2 / S⌋, r = z·q_ln2 − d ∈ (−q_ln2, 0], the second-order
 * polynomial L(r) = (r + q_b)² + q_c with q_b = ⌊1.353 / S⌋ and
 * q_c = ⌊0.344 / (0.3585·S²)⌋, then exp ≈ L >> z at scale 0.3585·S². The
 * softmax then divides exactly as fixq's does.
 */
function ibertComparison(p: Program): void {
  const op = p.ops.find((o): o is SoftmaxOp => o.kind === "softmax")!;
  const xv = p.values.get(op.input)!;
  const yv = p.values.get(op.output)!;
  const L = xv.shape[xv.shape.length - 1]!;
  const S = xv.scale!;
  const qln2 = Math.floor(Math.LN2 / S);
  const qb = Math.floor(1.353 / S);
  const qc = Math.floor(0.344 / (0.3585 * S * S));
  const iexp = (d: number) => {
    const z = Math.floor(d / qln2);
    const r = z * qln2 - d;
    return Math.floor(((r + qb) ** 2 + qc) / 2 ** z);
  };
  let seed = 777;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % 256;
  };
  let tMax = 0;
  let tSum = 0;
  let pMax = 0;
  let pSum = 0;
  let count = 0;
  for (let r = 0; r < 2000; r++) {
    const x = Array.from({ length: L }, rnd);
    const m = Math.max(...x);
    const ref = x.map((q) => Math.exp((q - m) * S));
    const refSum = ref.reduce((a, b) => a + b, 0);
    const poly = x.map((q) => iexp(m - q));
    const polySum = poly.reduce((a, b) => a + b, 0);
    const table = x.map((q) => op.exp[m - q]!);
    const tableSum = table.reduce((a, b) => a + b, 0);
    for (let i = 0; i < L; i++) {
      const want = ref[i]! / refSum / yv.scale!;
      if (want > op.clampHi - yv.zeroPoint!) continue;
      const round = (e: number, sum: number) => Math.min(op.clampHi, yv.zeroPoint! + Math.floor((e * op.numerator + sum * 2 ** (op.shift - 1)) / (sum * 2 ** op.shift)));
      const et = Math.abs(round(table[i]!, tableSum) - yv.zeroPoint! - want);
      const ep = Math.abs(round(poly[i]!, polySum) - yv.zeroPoint! - want);
      [tMax, tSum, pMax, pSum] = [Math.max(tMax, et), tSum + et, Math.max(pMax, ep), pSum + ep];
      count++;
    }
  }
  console.log(`  Softmax exp: exact table   max ${tMax.toFixed(3)} LSB, mean ${(tSum / count).toFixed(3)} LSB`);
  console.log(`  Softmax exp: I-BERT poly   max ${pMax.toFixed(3)} LSB, mean ${(pSum / count).toFixed(3)} LSB  (not used by fixq; same rows, same division)`);
}

function refRow(op: SoftmaxOp | LayerNormOp, v: number[], L: number): number[] {
  if (op.kind === "softmax") {
    const m = Math.max(...v);
    const e = v.map((t) => Math.exp(t - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((t) => t / s);
  }
  const source = float.graph!.nodes.find((nd) => `LayerNormalization '${nd.name}'` === op.source)!;
  const consts = constantTensors(float.graph!);
  const g = tensorToFloat64(consts.get(source.inputs[1]!)!);
  const b = tensorToFloat64(consts.get(source.inputs[2]!)!);
  const eps = attrFloat(source, "epsilon") ?? 1e-5;
  const mean = v.reduce((a, t) => a + t, 0) / L;
  const variance = v.reduce((a, t) => a + (t - mean) ** 2, 0) / L;
  return v.map((t, i) => g[i]! * ((t - mean) / Math.sqrt(variance + eps)) + b[i]!);
}

console.log("\nInteger approximations alone (first Softmax and first LayerNorm of the integer-only ViT, 2,000 rows of uniformly random 8-bit inputs; clamped outputs left out):");
approximationErrors(program);
console.log("  GELU/Erf, attention scale: exact 256-entry tables, error = the output rounding (≤ 0.5 LSB)");
ibertComparison(program);

// --- the torch pre-norm encoder layers: --smooth through a Transpose, and the integer RMSNorm alone (bench/transformer-prenorm.ts) ---
await prenormSection();

// --- the BERT-style fixture: SQNR and top-1 agreement with float on generated inputs ---
const bert = CORPUS.find((c) => c.name.startsWith("BERT"))!;
const BERT_EVAL = 256;
const bertEval = corpusInputs(bert, BERT_EVAL, 2);
const bertFeeds = Object.fromEntries([...bertEval].map(([k, a]) => [k, { dtype: DataType.INT64, dims: a.shape, data: a.data as BigInt64Array }]));
/** The first output of the model at `path` on the BERT eval inputs (ORT, optimizations on). */
async function bertRun(path: string): Promise<HostTensor> {
  const session = await OrtSession.create(loadModel(path), { threads: 1 });
  try {
    return (await session.run(bertFeeds))[session.outputNames[0]!]!;
  } finally {
    await session.release();
  }
}
const bertFloat = await bertRun(bert.path);
const bertLine = (name: string, fig: string) => console.log(`  ${name.padEnd(52)} ${fig}`);
const compared = (out: HostTensor, bytes?: number) => {
  const c = compareOutputs(bertFloat, out);
  return `SQNR ${c.sqnrDb.toFixed(2)} dB, agreement ${(c.agreement * 100).toFixed(2)}%${bytes === undefined ? "" : `, ${statSync(bert.path).size} → ${bytes} bytes`}`;
};
console.log(`\nBERT-style fixture (random weights, 2 classes), ${BERT_EVAL} generated inputs, calibrated on 64: output SQNR and top-1 agreement against float`);
const bertDir = mkdtempSync(join(tmp, "bert-"));
let bertQdq: string | undefined;
for (const [name, args] of [
  ["fixq static W8A8 (QDQ)", []],
  ["fixq dynamic-uint8", ["--acts", "dynamic-uint8"]],
  ["fixq MatMulNBits int4 b32 (nearest)", ["--weights", "int4", "--granularity", "per-block:32", "--acts", "float", "--weight-only-op", "matmulnbits"]],
  ["fixq MatMulNBits int4 b32 (GPTQ)", ["--weights", "int4", "--granularity", "per-block:32", "--acts", "float", "--weight-only-op", "matmulnbits", "--weight-rounding", "gptq"]],
  // equal format with ORT's MatMulNBitsQuantizer: MatMuls only, the embeddings (Gather) and the pooler/classifier Gemms float
  ...[32, 128].flatMap((b) =>
    (["nearest", "gptq"] as const).map(
      (r) =>
        [
          `fixq MatMulNBits int4 b${b} (${r === "gptq" ? "GPTQ" : "nearest"}, MatMuls only)`,
          ["--weights", "int4", "--granularity", `per-block:${b}`, "--acts", "float", "--weight-only-op", "matmulnbits", "--weight-rounding", r, "--exclude", "Gather", "Gemm"],
        ] as const,
    ),
  ),
] as const) {
  log(`BERT ${name}`);
  const dir = mkdtempSync(join(tmp, "bert-"));
  const row = await runCorpusCase(bert, dir, { calibSamples: 64, evalSamples: BERT_EVAL, extraArgs: [...args] });
  if (name.includes("QDQ") && row.written) bertQdq = join(dir, readdirSync(dir).find((f) => f.endsWith(".q.onnx"))!);
  bertLine(name, row.status === 0 ? `SQNR ${row.sqnrDb?.toFixed(2)} dB, agreement ${((row.agreement ?? 0) * 100).toFixed(2)}%, ${row.bytesBefore} → ${row.bytesAfter} bytes` : row.stderr.trim());
}
if (bertQdq) {
  // the static QDQ model lowered to integers (sequence length pinned), run in the emulator; against float, and against its fake-quant model
  log("BERT integer-only");
  const p = integerizeModel(pinSampleShapes(loadModel(bertQdq), new Map([["input_ids", [1, 16]]])));
  const feeds = new Map([...bertEval].map(([k, a]) => [k, Float32Array.from(a.data as BigInt64Array, Number)]));
  const t = performance.now();
  const emu = Emulator.compile(p, BERT_EVAL).run(feeds).outputs.get(p.outputs[0]!.name)!;
  const seconds = (performance.now() - t) / 1000;
  const out: HostTensor = { dtype: DataType.FLOAT, dims: bertFloat.dims, data: emu };
  const session = await OrtSession.create(loadModel(bertQdq), { threads: 1, optimization: "disabled" });
  const fq = (await session.run(bertFeeds).finally(() => session.release()))[session.outputNames[0]!]!;
  const vsFq = compareOutputs(fq, out);
  bertLine("fixq integer-only (emulator)", `${compared(out)}; vs fake-quant: SQNR ${vsFq.sqnrDb.toFixed(2)} dB, agreement ${(vsFq.agreement * 100).toFixed(2)}%; ${p.ops.length} integer ops, ${(BERT_EVAL / seconds).toFixed(0)} samples/s`);
}
const bertCalib = writeInputs(bertDir, "bert.calib", corpusInputs(bert, 64, 1));
for (const [name, mode] of [
  ["anchor ORT quantize_dynamic", "dynamic"],
  ["anchor ORT quantize_static (per-channel, u8)", "static"],
  ["anchor ORT MatMulNBits int4 b32 (RTN)", "nbits:32"],
  ["anchor ORT MatMulNBits int4 b32 (GPTQ)", "nbits-gptq:32"],
  ["anchor ORT MatMulNBits int4 b128 (RTN)", "nbits:128"],
  ["anchor ORT MatMulNBits int4 b128 (GPTQ)", "nbits-gptq:128"],
] as const) {
  log(`BERT ${name}`);
  const out = join(bertDir, `${mode.replace(/\W+/g, "_")}.onnx`);
  const failed = runAnchor([join(scripts, "ort_transformer_anchor.py"), bert.path, "OUT", mode, bertCalib], out);
  bertLine(name, failed ?? compared(await bertRun(out), statSync(out).size));
}
rmSync(tmp, { recursive: true, force: true });
log("done");
