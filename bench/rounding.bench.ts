/**
 * `npm run bench:rounding`: learned weight rounding (GPTQ, AdaRound) against
 * nearest rounding on the bundled CNNs, and the dense kernels it rests on.
 *
 * Part 1, kernels (rounding-kernels.ts): Gram accumulation XᵀX, the AdaRound
 * step E·H and Cholesky, in GFLOP/s, against a naive loop and ONNX Runtime's
 * float32 MatMul on the same shapes, one thread, same run. Goal: Gram ≥ 25%
 * of ORT's MatMul throughput.
 *
 * Part 2, accuracy: per bundled model (resnet, mobilenetv2, cnn, mlp, vit)
 * and format row, top-1 on the full 10k test set
 * (the 2,000 bundled images when dataset-fashion-mnist is absent) of float,
 * nearest, GPTQ and AdaRound, calibrated on the 512 bundled images, with the
 * quantize wall time. drop: float minus the row, points ± one paired standard
 * error; recovered: (nearest's drop − the method's) / nearest's drop, printed
 * where nearest's drop exceeds three standard errors (goal ≥ 0.5); KL: mean
 * KL divergence of the row's softmax from float's over the test set, in nats
 * (output-kl.ts), which resolves what top-1 cannot. Rows:
 *   W4 (int4 per-channel, float activations), W4A8 (int4 + uint8
 *   activations), W3 (3-bit per-channel, float activations), int4
 *   per-block:32, MXFP4, NVFP4 (float activations).
 * Anchor (rows with integer weights, when AdaRound is among the methods): a
 * straightforward layer-wise AdaRound in PyTorch (bench/adaround_anchor.py)
 * of every Conv, Gemm and MatMul with a constant weight (the ViT's too) on
 * fixq's nearest grid and fixq's float weights after its float passes, with fixq's hyperparameters, the same 512 samples
 * (FIXQ_ANCHOR_BATCH per Adam step, default 32) and thread count, in the same
 * run; printed: its top-1 and drop, fixq's AdaRound minus the anchor in
 * points ± one paired SE, and the time ratio fixq / anchor (anchor time:
 * fixq's nearest quantize, which fixes the grid, plus the script's own time
 * after its imports), in wall time and in CPU time (user + system, every
 * thread: fixq's from process.cpuUsage around the quantize call, the
 * anchor's from Python's process_time); on a shared machine the CPU ratio
 * is the one other jobs do not skew. Goal: not below the anchor by more than one SE, in at
 * most 0.5× its time. Skipped with a notice where Python, torch, onnx or
 * onnxruntime is missing (FIXQ_BENCH_PYTHON, FIXQ_BENCH_ANCHOR=0).
 * Part 3: AdaRound's loss and top-1 against its iteration count (resnet W4).
 * Peak RSS of the whole run is printed at the end.
 *
 * Knobs: FIXQ_BENCH_MODELS=resnet,mlp (manifest keys; default all five),
 * FIXQ_BENCH_ROWS=W4,W3 (row names), FIXQ_BENCH_METHODS=nearest,gptq,
 * FIXQ_ADAROUND_ITERS=N (default: fixq's), FIXQ_BENCH_GPTQ='{"gptqActOrder":true}'
 * (extra recipe keys for the GPTQ rows), FIXQ_BENCH_ADAROUND='{"post":{"adaroundLoss":"post"}}'
 * (AdaRound variants: name → extra recipe keys, each a method row after
 * AdaRound's, with its top-1 minus AdaRound's ± one paired SE), FIXQ_BENCH_ITERS=100,300,1000
 * (part 3; empty skips it), FIXQ_BENCH_PARTS=kernels,accuracy,iters,
 * FIXQ_THREADS (default 1), FIXQ_BENCH_SAVE=DIR (writes every model there), FIXQ_ANCHOR_SEED (the anchor's sample order, default 0),
 * FIXQ_BENCH_CALIB=FILE.npy (calibration samples for fixq and the anchor; default the 512 bundled images).
 *
 * Not here yet: ORT's MatMulNBits GPTQ on the ViT (see bench/README.md).
 */
import { join } from "node:path";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { MODELS_DIR } from "../src/data/manifest.js";
import type { Model } from "../src/ir/graph.js";
import { readNpy } from "../src/io/npy.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { saveModel } from "../src/ir/onnx/save.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../src/quant/recipe.js";
import { findReport } from "../src/quant/stage.js";
import { printBenchHeader } from "./cpu-header.js";
import { pairedDrop } from "./paired.js";
import { adaroundAnchorUnavailable, anchorBatch, runAdaroundAnchor } from "./adaround-anchor.js";
import { classifierLogits, meanKl } from "./output-kl.js";
import { measureKernels } from "./rounding-kernels.js";

printBenchHeader("rounding");
const env = (k: string) => process.env[k]?.split(",").filter(Boolean);
const parts = env("FIXQ_BENCH_PARTS") ?? ["kernels", "accuracy", "iters"];
const threads = Number(process.env["FIXQ_THREADS"] ?? 1);
const log = (s: string) => process.stderr.write(`${s}\n`);
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 200);

if (parts.includes("kernels")) {
  console.log("\nkernels (one thread; GFLOP/s, Gram counted as 2·K²·N; fixq float64, ORT float32):");
  console.log("  kernel               shape           fixq    naive   ORT MatMul   fixq/ORT   fixq/naive");
  for (const r of await measureKernels()) {
    const ratio = r.ortGflops ? `${((100 * r.fixqGflops) / r.ortGflops).toFixed(0)}%` : "";
    console.log(`  ${r.kernel.padEnd(20)} ${r.shape.padEnd(15)} ${r.fixqGflops.toFixed(2).padStart(5)}  ${Number.isNaN(r.naiveGflops) ? "    -" : r.naiveGflops.toFixed(2).padStart(6)}  ${r.ortGflops ? r.ortGflops.toFixed(2).padStart(10) : "         -"}   ${ratio.padStart(8)}   ${Number.isNaN(r.naiveGflops) ? "" : `${(r.fixqGflops / r.naiveGflops).toFixed(1)}×`.padStart(10)}`);
  }
}

const full = findFashionMnistDir() ? loadFashionMnistTest() : undefined;
const small = full ? undefined : { x: readNpy(join(MODELS_DIR, "data/eval.npy")), y: readNpy(join(MODELS_DIR, "data/eval_labels.npy")) };
const images = full ? { dtype: 1, dims: full.shape, data: full.images } : { dtype: 1, dims: small!.x.shape, data: small!.x.data as Float32Array };
const labels: ArrayLike<number> = full ? full.labels : Int32Array.from(small!.y.data as BigInt64Array, Number);
const setName = full ? "full 10k test set" : "2,000 bundled evaluation images (dataset-fashion-mnist not installed)";
const predict = (m: Model) => classifierLogits(m, images, labels, threads);

const ROWS: { name: string; recipe: RecipeInput }[] = [
  { name: "W4", recipe: { weights: "int4", acts: "float" } },
  { name: "W4A8", recipe: { weights: "int4", acts: "uint8" } },
  { name: "W3", recipe: { weights: "int4", weightBits: 3, acts: "float" } },
  { name: "int4 per-block:32", recipe: { weights: "int4", granularity: "per-block:32", acts: "float" } },
  { name: "MXFP4", recipe: { weights: "mxfp4", acts: "float", fp4Storage: "dequantized" } },
  { name: "NVFP4", recipe: { weights: "nvfp4", acts: "float", fp4Storage: "dequantized" } },
];
const METHODS = env("FIXQ_BENCH_METHODS") ?? ["nearest", "gptq", "adaround"];
const adaroundIters = process.env["FIXQ_ADAROUND_ITERS"];
/** FIXQ_BENCH_SAVE=DIR: every quantized model of the accuracy part (and the anchor's) is written there, for offline comparison. */
const saveDir = process.env["FIXQ_BENCH_SAVE"];
/** FIXQ_BENCH_CALIB=FILE.npy: the calibration samples of every row and of the anchor (default the 512 bundled images). */
const calibPath = process.env["FIXQ_BENCH_CALIB"] || join(MODELS_DIR, "data/calib.npy");
const gptqExtra = JSON.parse(process.env["FIXQ_BENCH_GPTQ"] || "{}") as RecipeInput;
const adaroundVariants = Object.entries(JSON.parse(process.env["FIXQ_BENCH_ADAROUND"] || "{}") as Record<string, RecipeInput>);
/** The method rows: the methods asked for, then the AdaRound variants (when AdaRound is among them). */
const methodRows: { name: string; extra: RecipeInput }[] = [
  ...METHODS.map((m) => ({ name: m, extra: { weightRounding: m, ...(m === "adaround" && adaroundIters ? { adaroundIters } : {}), ...(m === "gptq" ? gptqExtra : {}) } as RecipeInput })),
  ...(METHODS.includes("adaround") ? adaroundVariants.map(([name, keys]) => ({ name, extra: { weightRounding: "adaround", ...(adaroundIters ? { adaroundIters } : {}), ...keys } as RecipeInput })) : []),
];

async function quantized(model: Model, recipe: RecipeInput) {
  const source = npyFileSource(model.graph!, calibPath);
  const q0 = performance.now();
  const c0 = process.cpuUsage();
  const q = await quantizeModel(model, source, buildRecipe(recipe), { threads }).finally(() => source.close());
  const ms = performance.now() - q0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  const r = findReport(q.passes, "weight-rounding");
  const loss = r ? r.layers.reduce((s, l) => [s[0]! + l.lossBefore, s[1]! + l.lossAfter], [0, 0]) : undefined;
  return { model: q.model, ms, cpuMs, loss };
}

const pts = (x: number) => (100 * x).toFixed(2);
if (parts.includes("accuracy")) {
  console.log(`\naccuracy: top-1 on the ${setName}; calibration: ${process.env["FIXQ_BENCH_CALIB"] ? calibPath : "the 512 bundled images"}; ${threads} thread(s)`);
  const anchorOff = METHODS.includes("adaround") ? adaroundAnchorUnavailable() : "AdaRound not among the methods";
  console.log(anchorOff ? `PyTorch AdaRound anchor skipped: ${anchorOff}` : `PyTorch AdaRound anchor: ${anchorBatch} samples per step, rows with integer weights`);
  for (const key of env("FIXQ_BENCH_MODELS") ?? ["resnet", "mobilenetv2", "cnn", "mlp", "vit"]) {
    const model = loadModel(join(MODELS_DIR, `${key}.onnx`));
    const float = await predict(model);
    console.log(`\n${key}: float ${pts(float.top1)}%`);
    console.log("  row                 method     top-1    drop ± se        recovered  loss nearest→method   quantize s (wall, CPU)   KL(float‖row)");
    for (const row of ROWS.filter((r) => !env("FIXQ_BENCH_ROWS") || env("FIXQ_BENCH_ROWS")!.includes(r.name))) {
      let nearestDrop: { drop: number; se: number } | undefined;
      let nearest: { model: Model; ms: number; cpuMs: number } | undefined;
      let fixqAda: { predictions: Int32Array; ms: number; cpuMs: number } | undefined;
      const variants: { name: string; predictions: Int32Array; ms: number; cpuMs: number }[] = [];
      for (const { name: method, extra } of methodRows) {
        log(`[${elapsed()}] ${key} ${row.name} ${method}`);
        const q = await quantized(model, { ...row.recipe, ...extra });
        const p = await predict(q.model);
        const d = pairedDrop(float.predictions, p.predictions, labels);
        if (method === "nearest") {
          nearestDrop = d;
          nearest = q;
        }
        if (method === "adaround") fixqAda = { predictions: p.predictions, ms: q.ms, cpuMs: q.cpuMs };
        if (saveDir) saveModel(q.model, join(saveDir, `${key}-${row.name.replace(/\W+/g, "_")}-${method}.onnx`));
        const rec = method !== "nearest" && nearestDrop && nearestDrop.drop > 3 * nearestDrop.se ? ((nearestDrop.drop - d.drop) / nearestDrop.drop).toFixed(2) : "";
        const loss = q.loss ? `${q.loss[0]!.toExponential(2)}→${q.loss[1]!.toExponential(2)}` : "";
        console.log(`  ${row.name.padEnd(19)} ${method.padEnd(9)} ${pts(p.top1).padStart(6)}%  ${pts(d.drop).padStart(6)} ± ${pts(d.se).padEnd(6)}  ${rec.padStart(9)}  ${loss.padEnd(20)} ${(q.ms / 1000).toFixed(1).padStart(8)} ${(q.cpuMs / 1000).toFixed(1).padStart(6)} CPU   ${meanKl(float, p).toExponential(2)}`);
        if (fixqAda && method !== "adaround" && extra.weightRounding === "adaround") {
          variants.push({ name: method, predictions: p.predictions, ms: q.ms, cpuMs: q.cpuMs });
          const vs = pairedDrop(fixqAda.predictions, p.predictions, labels);
          console.log(`  ${"".padEnd(19)} ${method} − AdaRound: ${pts(-vs.drop)} ± ${pts(vs.se)} points`);
        }
      }
      if (!anchorOff && nearest && fixqAda && row.recipe.weights === "int4") {
        log(`[${elapsed()}] ${key} ${row.name} PyTorch anchor`);
        const a = runAdaroundAnchor(model, nearest.model, calibPath, threads, adaroundIters ? Number(adaroundIters) : undefined);
        if ("error" in a) console.log(`  ${row.name.padEnd(19)} anchor    ${a.error}`);
        else {
          const p = await predict(a.model);
          if (saveDir) saveModel(a.model, join(saveDir, `${key}-${row.name.replace(/\W+/g, "_")}-anchor.onnx`));
          const d = pairedDrop(float.predictions, p.predictions, labels);
          const vs = pairedDrop(p.predictions, fixqAda.predictions, labels);
          const anchorMs = nearest.ms + 1000 * a.seconds;
          const anchorCpuMs = nearest.cpuMs + 1000 * a.cpuSeconds;
          const loss = `${a.lossBefore.toExponential(2)}→${a.lossAfter.toExponential(2)}`;
          console.log(`  ${row.name.padEnd(19)} ${"torch".padEnd(9)} ${pts(p.top1).padStart(6)}%  ${pts(d.drop).padStart(6)} ± ${pts(d.se).padEnd(6)}  ${"".padStart(9)}  ${loss.padEnd(20)} ${(anchorMs / 1000).toFixed(1).padStart(8)}   ${meanKl(float, p).toExponential(2)}`);
          console.log(`  ${"".padEnd(19)} fixq AdaRound − anchor: ${pts(-vs.drop)} ± ${pts(vs.se)} points; time fixq / anchor ${(fixqAda.ms / anchorMs).toFixed(2)} wall, ${(fixqAda.cpuMs / anchorCpuMs).toFixed(2)} CPU (${(fixqAda.cpuMs / 1000).toFixed(1)} s / ${(anchorCpuMs / 1000).toFixed(1)} s)${a.keptNearest ? `; anchor kept nearest on ${a.keptNearest} layer(s)` : ""}`);
          for (const v of variants) {
            const vv = pairedDrop(p.predictions, v.predictions, labels);
            console.log(`  ${"".padEnd(19)} ${v.name} − anchor: ${pts(-vv.drop)} ± ${pts(vv.se)} points; time ${v.name} / anchor ${(v.ms / anchorMs).toFixed(2)} wall, ${(v.cpuMs / anchorCpuMs).toFixed(2)} CPU`);
          }
        }
      }
    }
  }
}

const iterList = env("FIXQ_BENCH_ITERS") ?? ["100", "300", "1000"];
if (parts.includes("iters") && iterList.length) {
  const model = loadModel(join(MODELS_DIR, "resnet.onnx"));
  const float = await predict(model);
  console.log(`\nAdaRound iterations (resnet, W4 per-channel, float activations; float ${pts(float.top1)}%):`);
  console.log("  iters   loss nearest→adaround   top-1    drop ± se       quantize s");
  for (const it of iterList) {
    log(`[${elapsed()}] iterations ${it}`);
    const q = await quantized(model, { weights: "int4", acts: "float", weightRounding: "adaround", adaroundIters: it });
    const p = await predict(q.model);
    const d = pairedDrop(float.predictions, p.predictions, labels);
    console.log(`  ${it.padStart(5)}   ${q.loss![0]!.toExponential(2)}→${q.loss![1]!.toExponential(2).padEnd(10)}  ${pts(p.top1).padStart(6)}%  ${pts(d.drop).padStart(6)} ± ${pts(d.se).padEnd(6)} ${(q.ms / 1000).toFixed(1).padStart(8)}`);
  }
}

clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(`\npeak RSS of the run: ${(peakRss / 2 ** 20).toFixed(0)} MB; load average now ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}; ${elapsed()} in all`);
