/**
 * The pre-norm part of `npm run bench:transformer` (also on its own:
 * `npx tsx bench/transformer-prenorm.ts`): --smooth where the norm's output
 * reaches its linear layers through a layout op, and the integer RMSNorm.
 *
 * On the two torch pre-norm encoder layers of the tests
 * (test/fixtures/transformer, scripts/make_prenorm_fixtures.py: d 16, 2
 * heads, γ with two outlier channels per norm; batch-first, where the
 * attention's norm output passes a Transpose before the in-projection, and
 * seq-first), with N(0, 1) inputs (256 sequences of 5 tokens to calibrate,
 * 512 others to evaluate):
 *   - the outlier statistic max_j max|X_j| / median_j max|X_j| of each norm
 *     output on the calibration data, before and after smoothing at α 0.5 and
 *     searched (measured again in ONNX Runtime on the smoothed float model);
 *   - the output SQNR against float of the default W8A8 QDQ model without and
 *     with --smooth (0.5, searched), run in ONNX Runtime.
 * Then the integer RMSNorm alone (the layernorm kernel without the mean):
 * its error in output steps against float RMSNorm on 2,000 rows of 64
 * uniformly random uint8 codes at zero point 128, γ random in ±2.
 */
import { join } from "node:path";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { layerNormKernel } from "../src/numerics/transformer.js";
import { layerNormParams } from "../src/numerics/transformer-params.js";
import { smoothTargets } from "../src/passes/smooth.js";
import { arraySource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { smoothModel } from "../src/quant/smooth.js";
import { type HostTensor, OrtSession } from "../src/runtime/ort-session.js";
import { compareOutputs } from "../test/helpers/corpus.js";
import { Rng } from "../test/helpers/prng.js";

const FIXTURES = join(import.meta.dirname, "../test/fixtures/transformer");
const [CALIB, EVAL, TOKENS, D] = [256, 512, 5, 16];

function normals(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng.float()));
    const t = 2 * Math.PI * rng.float();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

async function runWith(model: Model, x: HostTensor, extra: readonly string[] = []): Promise<Record<string, HostTensor>> {
  const s = await OrtSession.create(model, { threads: 1, optimization: "disabled", extraOutputs: extra });
  try {
    return await s.run({ x });
  } finally {
    await s.release();
  }
}

/** max_j / median_j of the per-channel max |x| (channels on the last axis of D). */
function outlierRatio(v: HostTensor): number {
  const x = v.data as Float32Array;
  const m = new Float64Array(D);
  for (let i = 0; i < x.length; i++) m[i % D] = Math.max(m[i % D]!, Math.abs(x[i]!));
  const s = [...m].sort((a, b) => a - b);
  return s[D - 1]! / ((s[(D - 1) >> 1]! + s[D >> 1]!) / 2);
}

async function encoderRows(file: string, seqFirst: boolean): Promise<void> {
  const float = loadModel(join(FIXTURES, file));
  const rng = new Rng(seqFirst ? 2 : 1);
  const dims = (n: number) => (seqFirst ? [TOKENS, n, D] : [n, TOKENS, D]);
  const calib: HostTensor = { dtype: 1, dims: dims(CALIB), data: normals(rng, CALIB * TOKENS * D) };
  const evalX: HostTensor = { dtype: 1, dims: dims(EVAL), data: normals(rng, EVAL * TOKENS * D) };
  // seq-first: the batch is axis 1, so the calibration set is one batch of all its sequences (axis 0 is the 5 tokens)
  const source = () => arraySource({ x: calib });
  const batchSize = seqFirst ? TOKENS : 64;
  const targets = smoothTargets(float.graph!);
  const values = targets.map((t) => t.value);
  const ref = (await runWith(float, evalX))["y"]!;
  const before = await runWith(float, calib, values);
  console.log(`\n  ${file} (${seqFirst ? "seq-first" : "batch-first"}): ${targets.length} norms, via ${targets.map((t) => t.via.map((n) => n.opType).join("→") || "direct").join(", ")}`);
  const line = (name: string, fig: string) => console.log(`    ${name.padEnd(40)} ${fig}`);
  const sqnr = async (m: Model) => {
    const q = (await quantizeModel(m, source(), buildRecipe({ batchSize }), { threads: 1 })).model;
    return compareOutputs(ref, (await runWith(q, evalX))["y"]!).sqnrDb.toFixed(2);
  };
  line("W8A8 (no smoothing)", `SQNR ${await sqnr(float)} dB; outlier max/median ${values.map((v) => outlierRatio(before[v]!).toFixed(2)).join(", ")}`);
  for (const alpha of [0.5, "search"] as const) {
    const { model, report } = await smoothModel(float, source(), alpha, { batchSize, threads: 1 });
    const after = await runWith(model, calib, values);
    const kept = compareOutputs((await runWith(model, evalX))["y"]!, ref).sqnrDb;
    line(
      `W8A8 --smooth ${alpha === "search" ? "(α searched)" : alpha}`,
      `SQNR ${await sqnr(model)} dB; outlier max/median ${values.map((v) => outlierRatio(after[v]!).toFixed(2)).join(", ")}; α ${report.layers.map((l) => l.alpha).join(", ")}; smoothed float vs float ${kept.toFixed(1)} dB`,
    );
  }
}

/** Error of the integer RMSNorm against float, in output steps (unclamped: int16-wide output). */
function rmsNormError(): { max: number; mean: number } {
  const rng = new Rng(3);
  const C = 64;
  const rows = 2000;
  const [sx, sy, z, eps] = [0.02, 0.01, 128, 1e-6];
  const gamma = Array.from({ length: C }, () => rng.float() * 4 - 2);
  const p = layerNormParams(gamma, new Array(C).fill(0), eps, sx, 255, sy, true)!;
  const x = Int32Array.from({ length: rows * C }, () => Math.floor(rng.float() * 256));
  const y = new Int32Array(x.length);
  layerNormKernel(x, y, C, p.gamma, p.beta, p.varShift, p.fracBits, p.epsilon, 0, -(2 ** 31), 2 ** 31 - 1, z);
  let max = 0;
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    let ms = 0;
    for (let i = 0; i < C; i++) ms += ((x[r * C + i]! - z) * sx) ** 2;
    const rms = Math.sqrt(ms / C + eps);
    for (let i = 0; i < C; i++) {
      const e = Math.abs(y[r * C + i]! - (gamma[i]! * (x[r * C + i]! - z) * sx) / rms / sy);
      max = Math.max(max, e);
      sum += e;
    }
  }
  return { max, mean: sum / (rows * C) };
}

export async function prenormSection(): Promise<void> {
  console.log(`\nPre-norm encoder layers (torch, random weights, γ outliers; ${CALIB} calibration / ${EVAL} evaluation sequences of N(0, 1)): output SQNR against float in ORT, and the outlier statistic of each norm output`);
  await encoderRows("prenorm-encoder.onnx", false);
  await encoderRows("prenorm-encoder-seqfirst.onnx", true);
  const e = rmsNormError();
  console.log(`\n  integer RMSNorm alone (64 channels, 2,000 rows of random uint8 at zero point 128): max ${e.max.toFixed(3)}, mean ${e.mean.toFixed(3)} output steps from float`);
}

if (process.argv[1]?.endsWith("transformer-prenorm.ts")) await prenormSection();
