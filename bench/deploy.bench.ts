/**
 * `npm run bench:deploy`: is the quantized model smaller and faster where it
 * runs? For every bundled model: file size, and ONNX Runtime latency (batch 1)
 * and throughput (batch 256) with 1 and 2 threads, float vs fixq's default
 * QDQ model, measured in the same run. Ratios are quantized ÷ float.
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { bundledModels, MODELS_DIR } from "../src/data/manifest.js";
import { readNpy } from "../src/io/npy.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { encodeModel } from "../src/ir/onnx/save.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("deploy");

ort.env.logLevel = "error";
const x = readNpy(join(MODELS_DIR, "data/eval.npy")).data as Float32Array;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(bytes: Uint8Array, threads: number): Promise<{ latencyMs: number; imgPerS: number }> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const name = s.inputNames[0]!;
  const one = new ort.Tensor("float32", x.subarray(0, 784), [1, 1, 28, 28]);
  const batch = new ort.Tensor("float32", x.subarray(0, 256 * 784), [256, 1, 28, 28]);
  for (let i = 0; i < 20; i++) await s.run({ [name]: one });
  const lat: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await s.run({ [name]: one });
    lat.push(performance.now() - t);
  }
  await s.run({ [name]: batch });
  const thr: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    await s.run({ [name]: batch });
    thr.push(256 / ((performance.now() - t) / 1000));
  }
  await s.release();
  return { latencyMs: median(lat), imgPerS: median(thr) };
}

const rows: Record<string, unknown>[] = [];
console.log(`${"model".padEnd(16)} ${"size KB f/q".padEnd(16)} ${"thr".padEnd(3)} ${"latency ms f/q".padEnd(20)} ${"img/s f/q".padEnd(20)} q÷f latency  q÷f throughput`);
for (const m of bundledModels()) {
  const float = loadModel(join(MODELS_DIR, m.file));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, m.data.calibration));
  const q = (await quantizeModel(float, source, buildRecipe({}))).model;
  source.close();
  const fb = encodeModel(float);
  const qb = encodeModel(q);
  for (const threads of [1, 2]) {
    const f = await measure(fb, threads);
    const r = await measure(qb, threads);
    rows.push({ model: m.key, threads, floatKB: fb.length / 1024, quantKB: qb.length / 1024, float: f, quant: r });
    console.log(
      `${m.key.padEnd(16)} ${`${(fb.length / 1024).toFixed(0)}/${(qb.length / 1024).toFixed(0)}`.padEnd(16)} ${String(threads).padEnd(3)} ${`${f.latencyMs.toFixed(3)}/${r.latencyMs.toFixed(3)}`.padEnd(20)} ${`${f.imgPerS.toFixed(0)}/${r.imgPerS.toFixed(0)}`.padEnd(20)} ${(r.latencyMs / f.latencyMs).toFixed(2).padStart(11)}  ${(r.imgPerS / f.imgPerS).toFixed(2).padStart(14)}`,
    );
  }
}
console.log(`BENCH_DEPLOY ${JSON.stringify(rows)}`);
