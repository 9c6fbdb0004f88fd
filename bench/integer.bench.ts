/**
 * `npm run bench:integer`: the integer-only models against their QDQ
 * originals, and the bit-exactness count across every integer back end.
 *
 * For each bundled model, quantized with the default recipe (512 bundled
 * calibration images) and lowered by `integerize`:
 * - accuracy: top-1 of the integer-only model (fixq's emulator) against the
 *   fake-quant QDQ model's (ONNX Runtime, graph optimizations disabled, so no
 *   saturating integer kernel is involved), on the full 10k test set when
 *   Debian's dataset-fashion-mnist is installed, else the 2,000 bundled
 *   images; `Δ` is fake-quant minus integer-only, in points, ± one paired
 *   standard error, and `agree` the fraction of images where the two predict
 *   the same class;
 * - bit-exactness: the raw integer outputs and the float outputs of the
 *   emulator, the generated JS module and the integer-only ONNX run by ONNX
 *   Runtime, compared element by element over the same images plus 256
 *   random and 320 extreme inputs (all 0, all 1, a checkerboard, +5, −5:
 *   the last two saturate the input quantizer, all-1 drives the int16
 *   pair-sum pattern). Every mismatching sample is counted; the goal is 0.
 * The ViT is refused by `integerize` (Softmax, LayerNormalization, GELU)
 * and listed as excluded. FIXQ_BENCH_MODELS=a,b runs only those keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { runProgram } from "../src/backends/emulator/run.js";
import { emitJsModule } from "../src/backends/js/emit.js";
import { integerOnnxRunner } from "../src/backends/onnx-int/run.js";
import { findFashionMnistDir, loadFashionMnistTest } from "../src/data/fashion-mnist.js";
import { MODELS_DIR } from "../src/data/manifest.js";
import { integerizeModel } from "../src/integer/integerize.js";
import { type Program, sampleSize } from "../src/integer/program.js";
import { readNpy } from "../src/io/npy.js";
import { isFixqError } from "../src/ir/errors.js";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { OrtSession } from "../src/runtime/ort-session.js";
import { pairedDrop } from "./paired.js";
import { printBenchHeader } from "./cpu-header.js";

printBenchHeader("integer");

const ALL = ["mlp", "cnn", "resnet", "resnet.bn", "mobilenetv2", "mobilenetv2.bn", "mobilenetv2.nowd.bn", "vit"];
const MODELS = process.env.FIXQ_BENCH_MODELS?.split(",") ?? ALL;
const BATCH = 250;
const log = (s: string) => process.stderr.write(`${s}\n`);

const full = findFashionMnistDir() ? loadFashionMnistTest() : undefined;
const small = readNpy(join(MODELS_DIR, "data/eval.npy"));
const images = full ? full.images : (small.data as Float32Array);
const labels = full ? Int32Array.from(full.labels, Number) : Int32Array.from(readNpy(join(MODELS_DIR, "data/eval_labels.npy")).data as BigInt64Array, Number);
const setName = full ? "10k test set" : "2,000 bundled images";
const PIXELS = 784;

/** Random [0,1] images and extreme patterns, for the bit-exactness count only. */
function stressInputs(): Float32Array {
  const n = 256 + 5 * 64;
  const out = new Float32Array(n * PIXELS);
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < 256 * PIXELS; i++) out[i] = rand();
  const patterns = [() => 0, () => 1, (i: number) => ((i + Math.floor(i / 28)) % 2 === 0 ? 1 : 0), () => 5, () => -5];
  patterns.forEach((f, k) => {
    for (let s = 0; s < 64; s++) for (let i = 0; i < PIXELS; i++) out[(256 + k * 64 + s) * PIXELS + i] = f(i);
  });
  return out;
}

function argmax(row: Float32Array, classes: number, s: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (row[s * classes + c]! > row[s * classes + best]!) best = c;
  return best;
}

async function quantized(key: string): Promise<Model> {
  const float = loadModel(join(MODELS_DIR, `${key}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 512);
  try {
    return (await quantizeModel(float, source, buildRecipe({}), { threads: 1 })).model;
  } finally {
    source.close();
  }
}

type Engine = (x: Float32Array, batch: number) => Promise<{ floats: Float32Array; ints: Int32Array }>;

async function engines(p: Program, tmp: string): Promise<{ emulator: Engine; js: Engine; onnx: Engine; release: () => Promise<void> }> {
  const out = p.outputs[0]!.name;
  const input = p.inputs[0]!.name;
  const dir = mkdtempSync(join(tmp, "js-"));
  for (const [rel, text] of emitJsModule(p)) writeFileSync(join(dir, rel), text);
  const mod = (await import(pathToFileURL(join(dir, "model.mjs")).href)) as {
    runAll(inputs: Record<string, Float32Array>, batch: number): { outputs: Record<string, Float32Array>; ints: Record<string, Int32Array> };
  };
  const ort = await integerOnnxRunner(p, { threads: 1 });
  return {
    emulator: async (x, b) => {
      const r = runProgram(p, new Map([[input, x]]), b);
      return { floats: r.outputs.get(out)!, ints: r.ints.get(out)! };
    },
    js: async (x, b) => {
      const r = mod.runAll({ [input]: x }, b);
      return { floats: r.outputs[out]!, ints: r.ints[out]! };
    },
    onnx: async (x, b) => {
      const r = await ort.run(new Map([[input, x]]), b);
      return { floats: r.outputs.get(out)!, ints: r.ints.get(out)! };
    },
    release: () => ort.release(),
  };
}

/** Samples (of `n`) whose outputs differ between two engines, in floats (bitwise) or ints. */
function mismatches(a: { floats: Float32Array; ints: Int32Array }, b: { floats: Float32Array; ints: Int32Array }, n: number): number {
  const per = a.ints.length / n;
  const fa = new Uint32Array(a.floats.buffer, a.floats.byteOffset, a.floats.length);
  const fb = new Uint32Array(b.floats.buffer, b.floats.byteOffset, b.floats.length);
  let bad = 0;
  for (let s = 0; s < n; s++) {
    for (let i = s * per; i < (s + 1) * per; i++) {
      if (a.ints[i] !== b.ints[i] || fa[i] !== fb[i]) {
        bad++;
        break;
      }
    }
  }
  return bad;
}

interface Row {
  model: string;
  fake?: number;
  integer?: number;
  delta?: number;
  se?: number;
  agree?: number;
  samples?: number;
  jsMismatch?: number;
  onnxMismatch?: number;
  note?: string;
}

async function benchModel(key: string, tmp: string): Promise<Row> {
  const q = await quantized(key);
  let p: Program;
  try {
    p = integerizeModel(q);
  } catch (e) {
    if (isFixqError(e)) return { model: key, note: `excluded: ${e.message.slice(0, 140)}…` };
    throw e;
  }
  const n = labels.length;
  const classes = sampleSize(p.outputs[0]!.shape);
  const fakeSession = await OrtSession.create(q, { threads: 1, optimization: "disabled" });
  const eng = await engines(p, tmp);
  const fakePred = new Int32Array(n);
  const intPred = new Int32Array(n);
  let jsBad = 0;
  let onnxBad = 0;
  try {
    const stress = stressInputs();
    const sets: [Float32Array, boolean][] = [
      [images, true],
      [stress, false],
    ];
    for (const [data, scored] of sets) {
      const total = data.length / PIXELS;
      for (let start = 0; start < total; start += BATCH) {
        const b = Math.min(BATCH, total - start);
        const x = data.subarray(start * PIXELS, (start + b) * PIXELS);
        const emu = await eng.emulator(x, b);
        jsBad += mismatches(emu, await eng.js(x, b), b);
        onnxBad += mismatches(emu, await eng.onnx(x, b), b);
        if (!scored) continue;
        const fq = (await fakeSession.run({ [fakeSession.inputNames[0]!]: { dtype: 1, dims: [b, 1, 28, 28], data: x } }))[fakeSession.outputNames[0]!]!.data as Float32Array;
        for (let s = 0; s < b; s++) {
          fakePred[start + s] = argmax(fq, classes, s);
          intPred[start + s] = argmax(emu.floats, classes, s);
        }
      }
    }
  } finally {
    await fakeSession.release();
    await eng.release();
  }
  const hits = (pred: Int32Array) => pred.reduce((a, c, i) => a + (c === labels[i] ? 1 : 0), 0) / n;
  const d = pairedDrop(fakePred, intPred, labels);
  const agree = fakePred.reduce((a, c, i) => a + (c === intPred[i] ? 1 : 0), 0) / n;
  return { model: key, fake: hits(fakePred) * 100, integer: hits(intPred) * 100, delta: d.drop * 100, se: d.se * 100, agree, samples: n + 576, jsMismatch: jsBad, onnxMismatch: onnxBad };
}

const tmp = mkdtempSync(join(tmpdir(), "fixq-bench-integer-"));
const rows: Row[] = [];
try {
  for (const key of MODELS) {
    const t = performance.now();
    rows.push(await benchModel(key, tmp));
    log(`${key}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const fmt = (x: number | undefined, d = 2) => (x === undefined ? "-" : x.toFixed(d));
console.log(`\nInteger-only (emulator) vs fake-quant QDQ (ORT, optimizations disabled), top-1 on the ${setName}; default recipe`);
console.log(["model", "fake-quant", "integer-only", "Δ (fq−int) pts", "agree", "samples", "JS≠emu", "ONNX-int≠emu"].map((h, i) => (i === 0 ? h.padEnd(20) : h.padStart(15))).join(""));
let total = 0;
for (const r of rows) {
  if (r.note) {
    console.log(`${r.model.padEnd(20)}${r.note}`);
    continue;
  }
  total += r.jsMismatch! + r.onnxMismatch!;
  const cells = [fmt(r.fake), fmt(r.integer), `${fmt(r.delta)} ± ${fmt(r.se)}`, fmt(r.agree, 4), String(r.samples), String(r.jsMismatch), String(r.onnxMismatch)];
  const flag = Math.abs(r.delta!) > 0.1 ? "  (|Δ| > 0.1)" : "";
  console.log(`${r.model.padEnd(20)}${cells.map((c) => c.padStart(15)).join("")}${flag}`);
}
console.log(`\nbit-exactness count (mismatching samples across emulator, generated JS and ORT-run integer ONNX, all models): ${total}${total === 0 ? "" : "  MISS: must be 0"}`);
