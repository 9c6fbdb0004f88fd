/**
 * AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for
 * Post-Training Quantization") on one group of a layer (problem.ts). Every
 * weight w lies between two adjacent grid values lo ≤ w ≤ hi (fixed scales;
 * on the non-uniform FP4/FP6/FP8 grids too); it takes
 *
 *   ŵ = lo + h(V)·(hi − lo),  h(V) = clip(σ(V)·(ζ − γ) + γ, 0, 1),  ζ = 1.1, γ = −0.1
 *
 * with V initialised so that h equals w's fractional position (w − lo)/(hi − lo);
 * lo and hi bracket w itself, or, where weights lie past the grid's ends, the
 * loss's minimum w* with those pinned at the ends (clip-compensation.ts).
 * V minimises, by Adam (lr 10⁻², β₁ 0.9, β₂ 0.999), the pre-activation
 * reconstruction loss in its Gram form plus the rounding regularizer:
 *
 *   tr((Ŵ − W)·H·(Ŵ − W)ᵀ)/N + λ·Σ (1 − |2h − 1|^β),  λ = 0.01
 *
 * The regularizer is off for the first 20% of the iterations, then β falls
 * linearly from 20 to 2. The gradient of the first term is 2·(Ŵ − W)·H/N, so
 * an iteration costs R·K² multiply-adds whatever the number of samples.
 * Finally every weight rounds up where h ≥ 0.5 and down elsewhere. All rows step
 * together, so E·H is one product. Two engines take the same steps: JS in
 * float64 (`adaround`, E·H by dense.ts rowsTimesSym; small groups and the
 * reference), and one ONNX Runtime Loop in float32 (`adaroundInOrt`,
 * adaround-loop.ts; as PyTorch's AdaRound computes in float32). With
 * `--adaround-chunks M` (chunk-grams.ts) step t takes 2·(Ŵ − W)·H_c/N_c of
 * one chunk c of the samples instead (a minibatch's gradient at the same
 * cost), except in the last EXACT_TAIL of the steps, which take 2·(Ŵ − W)·H/N.
 */
import type { AdaroundLoop, AdaroundLoopInput } from "./adaround-loop.js";
import { chunkSchedule } from "./chunk-grams.js";
import { clipCompensated } from "./clip-compensation.js";
import { rowsTimesSym } from "./dense.js";
import type { GroupProblem } from "./problem.js";

export interface AdaroundOptions {
  readonly iters: number;
  readonly lambda: number;
  readonly lr: number;
  readonly warmup: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  /** Input columns per Adam step (adaround-batch.ts); 0: the Gram form over every column. */
  readonly batch: number;
  /** Where the reconstruction loss is taken: before the layer's activation, or after it (needs a batch). */
  readonly loss: "pre" | "post";
  /** Chunks of the samples, one per step (chunk-grams.ts); 1: the Gram form over every column. */
  readonly chunks: number;
  /** Centre the relaxation on w* (clip-compensation.ts) rather than on W where weights lie past the grid's ends. */
  readonly clipCompensation: boolean;
  /** Groups of at most EXHAUSTIVE_MAX_COLS inputs take the exact minimum (exhaustive.ts) rather than the relaxation. */
  readonly exhaustive: boolean;
  /** With minibatch steps and the pre loss: this share of the steps, the last ones, take the whole H/N instead (0: none). */
  readonly exactTail: number;
  /** Samples per step on wide fully connected layers (wide-layers.ts) when wideRank is 0; 0: the Gram form there. */
  readonly wideBatch: number;
  /** Rank of H's approximation for the steps on wide fully connected layers (wide-layers.ts, low-rank-gram.ts); 0: minibatches of wideBatch samples. */
  readonly wideRank: number;
  /** Samples per step on token MatMuls (token-layers.ts); 0: the Gram form there. */
  readonly tokenBatch: number;
}

/**
 * 1000 iterations at lr 10⁻² rather than AIMET's 10,000 at 10⁻³: the same
 * total distance V can travel (lr × iterations = 10), at a tenth of the cost.
 * Measured on resnet at W3 (bench:rounding): lr 10⁻³ for 1000 iterations
 * leaves a 4.5-point drop, lr 10⁻² about 1.8 (loss 10.1 → 9.3).
 * wideBatch 64 (wide-layers.ts: the MLP's 784- and 256-input layers, the
 * CNN's 576-input Gemm): on the MLP (bench:rounding, round 8) it took the
 * CPU time against the PyTorch anchor from 0.66× to 0.45–0.46× (W4, W3),
 * top-1 within one paired SE of the Gram form (−0.07 ± 0.08, −0.04 ± 0.14)
 * and at or above the anchor, at 1.2–1.6× the Gram form's layer loss and
 * 1.1–1.2× its output KL (still below the anchor's on both).
 * wideRank 64 (the same layers take steps on H's rank-64 plus diagonal
 * approximation, low-rank-gram.ts, and no exact tail, instead of those
 * minibatches): on the MLP (bench/README round 11) 0.76–0.87× the
 * minibatches' layer loss on its two wide layers at W4, W4A8, W3 and
 * per-block:32, the 784-input layer's 1000 steps 0.75× their time.
 * tokenBatch 32 (token-layers.ts: the ViT's q/k/v, projection and MLP
 * MatMuls; the anchor's own step, minibatches of 32 whole samples, then a
 * 30% exact tail): on the ViT at W3 it gained +0.16 ± 0.11 top-1 over four
 * calibration sets of 512 images and is at or above the PyTorch anchor on
 * every set and anchor seed (the Gram form: −0.31 to +0.25, mean +0.03), at
 * 1.04–1.13× the Gram form's output KL on three sets of four, 2.2× its CPU
 * time (0.20–0.23× the anchor's); W4, W4A8 and per-block:32 within one
 * paired SE of the Gram form (bench/README, rounds 9 and 10).
 */
export const ADAROUND_DEFAULTS: AdaroundOptions = { iters: 1000, lambda: 0.01, lr: 1e-2, warmup: 0.2, betaStart: 20, betaEnd: 2, batch: 0, loss: "pre", chunks: 1, clipCompensation: true, exhaustive: true, exactTail: 0, wideBatch: 64, wideRank: 64, tokenBatch: 32 };

const ZETA = 1.1;
const GAMMA = -0.1;
const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-8;

/**
 * With chunks, the last 20% of the steps take the whole H/N: the final up/down
 * choices are made on every sample, not fitted to the last chunks' noise.
 * Measured on resnet W3 (16 chunks): without this tail the stem (K = 9, a
 * large input mean) always ends with one weight on the wrong side (loss
 * 0.62 against the Gram form's 0.37, whatever the seed) and top-1 drops
 * 5.3 points; with a 10% tail 3 seeds of 4 still do; with 20% or 40% none
 * (0.37), and the whole model drops 0.74 against the Gram form's 1.27
 * (both before the exact small groups of exhaustive.ts).
 */
export const EXACT_TAIL = 0.2;

/** The first step of the exact tail of chunked steps (EXACT_TAIL), or of minibatch steps (o.exactTail; `iters` when there is none). */
export function exactFrom(o: AdaroundOptions, tail = EXACT_TAIL): number {
  return Math.round((1 - tail) * o.iters);
}

/** β at iteration t, or 0 while the regularizer is off. */
export function annealedBeta(t: number, o: AdaroundOptions): number {
  const start = o.warmup * o.iters;
  if (t < start) return 0;
  const rel = (t - start) / Math.max(1, o.iters - start);
  return o.betaEnd + (o.betaStart - o.betaEnd) * (1 - rel);
}

/** Per weight: the grid values either side (lo, lo + span) of its start w* (clip-compensation.ts: W unless weights are clipped), their codes, and V where h(V) is w*'s fractional position. */
interface Start {
  readonly lo: Float64Array;
  readonly span: Float64Array;
  readonly loCode: Int32Array;
  readonly hiCode: Int32Array;
  readonly v0: Float64Array;
}

function start(p: GroupProblem, compensate: boolean): Start {
  const n = p.rows * p.cols;
  const target = compensate ? clipCompensated(p) : p.w;
  const lo = new Float64Array(n);
  const span = new Float64Array(n);
  const loCode = new Int32Array(n);
  const hiCode = new Int32Array(n);
  const v0 = new Float64Array(n);
  for (let at = 0; at < n; at++) {
    const flat = p.index[at]!;
    const w = target[at]!;
    loCode[at] = p.grid.below(flat, w);
    hiCode[at] = p.grid.above(flat, w);
    lo[at] = p.grid.value(flat, loCode[at]!);
    span[at] = p.grid.value(flat, hiCode[at]!) - lo[at]!;
    const frac = span[at]! > 0 ? Math.min(1, Math.max(0, (w - lo[at]!) / span[at]!)) : 0;
    const s = Math.min(1 - 1e-6, Math.max(1e-6, (frac - GAMMA) / (ZETA - GAMMA)));
    v0[at] = Math.log(s / (1 - s));
  }
  return { lo, span, loCode, hiCode, v0 };
}

/** Up where h(V) ≥ 0.5, down elsewhere. */
function finalCodes(st: Start, v: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: st.v0.length }, (_, at) => (rectified(v[at]!) >= 0.5 ? st.hiCode[at]! : st.loCode[at]!));
}

/** AdaRound codes for one group, the whole optimisation in one ONNX Runtime Loop (adaround-loop.ts, float32); `batch`: minibatch steps (adaround-batch.ts). */
export async function adaroundInOrt(p: GroupProblem, loop: AdaroundLoop, opts: AdaroundOptions = ADAROUND_DEFAULTS, batch?: AdaroundLoopInput["batch"], lowRank?: AdaroundLoopInput["lowRank"]): Promise<Int32Array> {
  const st = start(p, opts.clipCompensation);
  if (opts.iters === 0) return finalCodes(st, st.v0);
  const chunks = p.chunks && !batch ? { h: p.chunks.h, count: p.chunks.count + 1, schedule: chunkSchedule(p.chunks.count, opts.iters, p.chunks.seed, exactFrom(opts)) } : undefined;
  const v = await loop.run({ rows: p.rows, cols: p.cols, v0: st.v0, lo: st.lo, span: st.span, w: p.w, h: p.h, columns: p.columns, ...(chunks ? { chunks } : {}), ...(batch ? { batch } : {}), ...(lowRank ? { lowRank } : {}) }, opts);
  return finalCodes(st, v);
}

/** AdaRound codes for one group (R×K, in the problem's layout), stepping in JS (float64). */
export function adaround(p: GroupProblem, opts: AdaroundOptions = ADAROUND_DEFAULTS): Int32Array {
  const { rows: R, cols: K } = p;
  if (p.chunks) {
    const kk = K * K;
    const hs = Array.from({ length: p.chunks.count + 1 }, (_, c) => Float64Array.from(p.chunks!.h.subarray(c * kk, (c + 1) * kk)));
    const schedule = chunkSchedule(p.chunks.count, opts.iters, p.chunks.seed, exactFrom(opts));
    return adaroundWith(p, opts, (e, g, t) => {
      rowsTimesSym(e, hs[schedule[t]!]!, g, R, K);
      for (let at = 0; at < g.length; at++) g[at] = 2 * g[at]!;
    });
  }
  const scale = 2 / Math.max(1, p.columns);
  return adaroundWith(p, opts, (e, g) => {
    rowsTimesSym(e, p.h, g, R, K);
    for (let at = 0; at < g.length; at++) g[at] = scale * g[at]!;
  });
}

/**
 * The reconstruction term's gradient at one step: given E = Ŵ − W (R×K), it
 * fills g with ∂loss/∂Ŵ. The step counter t lets a minibatch gradient draw
 * its batch.
 */
export type ReconstructionGradient = (e: Float64Array, g: Float64Array, t: number) => void;

/** AdaRound codes for one group with the reconstruction gradient `grad` (Gram form: `adaround`; minibatch: adaround-batch.ts), Adam in JS float64. */
export function adaroundWith(p: GroupProblem, opts: AdaroundOptions, grad: ReconstructionGradient): Int32Array {
  const n = p.rows * p.cols;
  const st = start(p, opts.clipCompensation);
  const { lo, span } = st;
  const v = Float64Array.from(st.v0);
  const m1 = new Float64Array(n);
  const m2 = new Float64Array(n);
  const e = new Float64Array(n);
  const g = new Float64Array(n);
  const w = p.w;
  // σ(V) of every weight, computed once per iteration and shared by ŵ and the gradient.
  const sig = new Float64Array(n);
  const { lambda, lr } = opts;
  for (let t = 0; t < opts.iters; t++) {
    for (let at = 0; at < n; at++) {
      const sv = 1 / (1 + Math.exp(-v[at]!));
      sig[at] = sv;
      const raw = sv * (ZETA - GAMMA) + GAMMA;
      e[at] = lo[at]! + (raw < 0 ? 0 : raw > 1 ? 1 : raw) * span[at]! - w[at]!;
    }
    grad(e, g, t);
    const beta = annealedBeta(t, opts);
    const b1t = 1 - ADAM_B1 ** (t + 1);
    const b2t = 1 - ADAM_B2 ** (t + 1);
    const stepSize = lr / b1t;
    const rootB2t = Math.sqrt(b2t);
    const reg = lambda * 2 * beta;
    for (let at = 0; at < n; at++) {
      const sp = span[at]!;
      if (sp === 0) continue;
      const sv = sig[at]!;
      const raw = sv * (ZETA - GAMMA) + GAMMA;
      let gv = 0; // clipped: no gradient reaches V, Adam's moments still decay (as in PyTorch)
      if (raw > 0 && raw < 1) {
        let dh = g[at]! * sp;
        if (beta > 0) {
          const u = 2 * raw - 1;
          const au = u < 0 ? -u : u;
          // d/dh of λ(1 − |2h − 1|^β) = −2λβ·sign(u)·|u|^(β−1)
          if (au > 0) dh -= (u < 0 ? -reg : reg) * Math.exp((beta - 1) * Math.log(au));
        }
        gv = dh * (ZETA - GAMMA) * sv * (1 - sv);
      }
      const a = ADAM_B1 * m1[at]! + (1 - ADAM_B1) * gv;
      const b = ADAM_B2 * m2[at]! + (1 - ADAM_B2) * gv * gv;
      m1[at] = a;
      m2[at] = b;
      // lr·m̂/(√v̂ + ε) with m̂ = a/b1t, v̂ = b/b2t
      v[at] -= (stepSize * a) / (Math.sqrt(b) / rootB2t + ADAM_EPS);
    }
  }
  return finalCodes(st, v);
}

/** h(V) = clip(σ(V)·(ζ − γ) + γ, 0, 1). */
function rectified(v: number): number {
  const x = (1 / (1 + Math.exp(-v))) * (ZETA - GAMMA) + GAMMA;
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
