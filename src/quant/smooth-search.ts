/**
 * `--smooth` without a value: α per norm by a small search on the layer's
 * output error. On rows X of the norm's output sampled from the calibration
 * data, for each α in SMOOTH_ALPHAS:
 *   err(α) = Σ_readers ‖X·W − DQ(Q(X / s))·DQ(Q(s·W))‖²,   s = s(α)
 * with X/s quantized per tensor to uint8 over its min…max (the default
 * activations) and s·W per output channel, symmetric, to [−64, 64] (the
 * default int8 weights). The α of least error is kept; α = 0 (no smoothing
 * at all, s = 1) is not a candidate, since the user asked for smoothing.
 */
import type { Model } from "../ir/graph.js";
import { constantTensors } from "../ir/infer-types.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { readerRowMax, type SmoothTarget, smoothFactors } from "../passes/smooth.js";
import { OrtSession } from "../runtime/ort-session.js";
import type { DataSource } from "./feeds.js";

export const SMOOTH_ALPHAS: readonly number[] = [0.25, 0.4, 0.5, 0.6, 0.75];
const WEIGHT_QMAX = 64;
const MAX_ROWS = 512;

/** Up to MAX_ROWS rows (all leading axes flattened) of each target's value, from the first calibration batch. */
async function sampleRows(model: Model, source: DataSource, targets: readonly SmoothTarget[], threads?: number): Promise<Map<string, Float32Array>> {
  const names = targets.map((t) => t.value);
  const s = await OrtSession.create(model, { optimization: "disabled", threads, extraOutputs: names });
  try {
    const out = await s.run(source.batch(0, Math.min(source.count, 32)), names);
    return new Map(targets.map((t) => [t.value, (out[t.value]!.data as Float32Array).subarray(0, MAX_ROWS * t.channels)]));
  } finally {
    await s.release();
  }
}

/** Per-tensor uint8 fake quantization over min…max. */
function fakeQuantActs(x: Float64Array): Float64Array {
  let lo = 0;
  let hi = 0;
  for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const scale = (hi - lo) / 255 || 1;
  const zero = Math.round(-lo / scale);
  return x.map((v) => (Math.min(255, Math.max(0, Math.round(v / scale) + zero)) - zero) * scale);
}

/** Output error of one reader (weight [C, N] row-major, already scaled) for smoothed rows xs. */
function readerError(x: Float32Array, xq: Float64Array, rows: number, C: number, w: Float64Array, N: number, s: Float64Array): number {
  // per output channel symmetric weights
  const wq = new Float64Array(w.length);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let j = 0; j < C; j++) m = Math.max(m, Math.abs(w[j * N + n]! * s[j]!));
    const scale = m / WEIGHT_QMAX || 1;
    for (let j = 0; j < C; j++) wq[j * N + n] = Math.round((w[j * N + n]! * s[j]!) / scale) * scale;
  }
  let err = 0;
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let ref = 0;
      let got = 0;
      for (let j = 0; j < C; j++) {
        ref += x[r * C + j]! * w[j * N + n]!;
        got += xq[r * C + j]! * wq[j * N + n]!;
      }
      err += (ref - got) ** 2;
    }
  }
  return err;
}

/** The α of least output error for each target, by the target's value name. */
export async function searchAlphas(
  model: Model,
  source: DataSource,
  targets: readonly SmoothTarget[],
  absMax: ReadonlyMap<string, Float64Array>,
  threads?: number,
): Promise<Map<string, number>> {
  const consts = constantTensors(model.graph!);
  const samples = await sampleRows(model, source, targets, threads);
  const chosen = new Map<string, number>();
  for (const t of targets) {
    const C = t.channels;
    const x = samples.get(t.value)!;
    const rows = x.length / C;
    // every reader as a [C, N] weight
    const weights = t.readers.map((r) => {
      const w = tensorToFloat64(consts.get(r.inputs[1]!)!);
      if (r.opType === "MatMul") return { w, N: w.length / C };
      const N = w.length / C;
      const t2 = new Float64Array(w.length);
      for (let n = 0; n < N; n++) for (let j = 0; j < C; j++) t2[j * N + n] = w[n * C + j]!;
      return { w: t2, N };
    });
    const wMax = readerRowMax(t, t.readers.map((r) => tensorToFloat64(consts.get(r.inputs[1]!)!)));
    let best = SMOOTH_ALPHAS[0]!;
    let bestErr = Infinity;
    for (const alpha of SMOOTH_ALPHAS) {
      const s = smoothFactors(absMax.get(t.value)!, wMax, alpha);
      const xq = fakeQuantActs(Float64Array.from(x, (v, i) => v / s[i % C]!));
      const err = weights.reduce((a, { w, N }) => a + readerError(x, xq, rows, C, w, N, s), 0);
      if (err < bestErr) [best, bestErr] = [alpha, err];
    }
    chosen.set(t.value, best);
  }
  return chosen;
}

