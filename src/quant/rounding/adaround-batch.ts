/**
 * Minibatch AdaRound (`--adaround-batch N`, `--adaround-loss pre|post`): the
 * same relaxation, regularizer and Adam as adaround.ts, but each step's
 * reconstruction gradient comes from N input columns x_j drawn (without
 * replacement, seeded) from the layer's column pool (column-pool.ts) instead
 * of the Gram matrix. With Ŵ = W + E, for the batch B:
 *
 *   pre:   loss = Σ_r mean_{j∈B} (e_r·x_j)²                      ∂/∂ŵ_r = 2/|B| Σ_j (e_r·x_j) x_jᵀ
 *   post:  loss = Σ_r mean_{j∈B} (f(ŵ_r·x_j + b_r) − f(w_r·x_j + b_r))²
 *          ∂/∂ŵ_r = 2/|B| Σ_j (f(ẑ) − t) · 1[lo < ẑ < hi] · x_jᵀ,   f = clip(·, lo, hi)
 *
 * The post-activation target t = f(W·x̃ + b) takes the float weights on the
 * same inputs x̃ (from the model with the earlier layers already rounded),
 * as the Gram form's W·x̃ does: the layer is asked to reproduce what its float
 * weights would give on what it will actually see; a float-input target
 * would need a second capture of every layer's input from the float model.
 * When N ≥ the pool, every step reads the whole pool and the pre loss's
 * gradient is 2·E·H/N exactly, the Gram form's step (up to summation order).
 * A step costs about 4·R·K·N multiply-adds (the post loss skips columns the
 * activation clips). Two engines take the same steps on the same seeded
 * picks: JS float64 (`adaroundBatch`) and the ONNX Runtime Loop in float32
 * (`adaroundBatchInOrt`, adaround-loop.ts), the one the pipeline uses for
 * groups with R·K·N ≥ 16384.
 */
import { Rng } from "../../util/random.js";
import { type AdaroundOptions, adaroundInOrt, adaroundWith, exactFrom } from "./adaround.js";
import type { AdaroundLoop } from "./adaround-loop.js";
import { rowsTimesSym } from "./dense.js";
import type { GroupProblem } from "./problem.js";

/** The clip after the layer, and the bias of the group's rows. */
export interface RowActivation {
  readonly lo: number;
  readonly hi: number;
  /** b_r for the group's R rows. */
  readonly bias: Float64Array;
}

/** A group's input columns: row-major [n, K] float32. */
export interface PoolColumns {
  readonly x: Float32Array;
  readonly n: number;
}

function clip(z: number, a: RowActivation): number {
  return z < a.lo ? a.lo : z > a.hi ? a.hi : z;
}

/** t[r·n + j] = f(w_r·x_j + b_r). */
function targets(p: GroupProblem, pool: PoolColumns, act: RowActivation): Float64Array {
  const { rows: R, cols: K } = p;
  const t = new Float64Array(R * pool.n);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < pool.n; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += p.w[r * K + k]! * pool.x[j * K + k]!;
      t[r * pool.n + j] = clip(s + act.bias[r]!, act);
    }
  }
  return t;
}

/**
 * The pool columns of each of `iters` steps, `min(batch, n)` per step
 * (iters·b, row-major): the first b entries of a partial Fisher–Yates
 * shuffle, continued from the previous step's order (b distinct columns per
 * step); with b = n every step reads the pool in order.
 */
export function batchPicks(n: number, batch: number, iters: number, seed: number): Int32Array {
  const b = Math.min(batch, n);
  const rng = new Rng(seed);
  const perm = Int32Array.from({ length: n }, (_, j) => j);
  const out = new Int32Array(iters * b);
  for (let t = 0; t < iters; t++) {
    if (b < n) {
      for (let i = 0; i < b; i++) {
        const j = i + rng.int(n - i);
        const s = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = s;
      }
    }
    out.set(perm.subarray(0, b), t * b);
  }
  return out;
}

/** AdaRound codes for one group from minibatches of `batch` pool columns, stepping in JS float64; `act` set: loss after the activation. */
export function adaroundBatch(p: GroupProblem, pool: PoolColumns, batch: number, opts: AdaroundOptions, seed: number, act?: RowActivation): Int32Array {
  const { rows: R, cols: K } = p;
  const n = pool.n;
  const b = Math.min(batch, n);
  const picks = batchPicks(n, batch, opts.iters, seed);
  const xb = new Float64Array(b * K);
  const d = new Float64Array(R * b);
  const wHat = new Float64Array(R * K);
  const t = act ? targets(p, pool, act) : undefined;
  const exact = act ? opts.iters : exactFrom(opts, opts.exactTail);
  const hScale = 2 / Math.max(1, p.columns);
  return adaroundWith(p, opts, (e, g, step) => {
    if (step >= exact) {
      rowsTimesSym(e, p.h, g, R, K);
      for (let at = 0; at < g.length; at++) g[at] = hScale * g[at]!;
      return;
    }
    const pick = picks.subarray(step * b, (step + 1) * b);
    for (let i = 0; i < b; i++) {
      const src = pick[i]! * K;
      for (let k = 0; k < K; k++) xb[i * K + k] = pool.x[src + k]!;
    }
    const m = act ? wHat : e;
    if (act) for (let at = 0; at < R * K; at++) wHat[at] = p.w[at]! + e[at]!;
    for (let r = 0; r < R; r++) {
      for (let i = 0; i < b; i++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += m[r * K + k]! * xb[i * K + k]!;
        if (act) {
          const z = s + act.bias[r]!;
          s = z > act.lo && z < act.hi ? z - t![r * n + pick[i]!]! : 0;
        }
        d[r * b + i] = s;
      }
    }
    g.fill(0);
    const scale = 2 / b;
    for (let r = 0; r < R; r++) {
      for (let i = 0; i < b; i++) {
        const di = d[r * b + i]!;
        if (di === 0) continue;
        const c = scale * di;
        for (let k = 0; k < K; k++) g[r * K + k] += c * xb[i * K + k]!;
      }
    }
  });
}

/** The same steps as `adaroundBatch` (the same picks), as one ONNX Runtime Loop in float32 (adaround-loop.ts). */
export function adaroundBatchInOrt(p: GroupProblem, pool: PoolColumns, batch: number, opts: AdaroundOptions, seed: number, loop: AdaroundLoop, act?: RowActivation): Promise<Int32Array> {
  const b = Math.min(batch, pool.n);
  const picks = batchPicks(pool.n, batch, opts.iters, seed);
  const post = act ? { lo: act.lo, hi: act.hi, bias: act.bias, targets: targets(p, pool, act) } : undefined;
  return adaroundInOrt(p, loop, opts, { pool: pool.x, n: pool.n, batch: b, picks, ...(post ? { post } : {}) });
}

/** The loss of codes over the whole pool: post-activation when `act` is set, else pre-activation. */
export function poolLoss(p: GroupProblem, pool: PoolColumns, codes: Int32Array, act?: RowActivation): number {
  const { rows: R, cols: K } = p;
  const q = Float64Array.from(codes, (c, at) => p.grid.value(p.index[at]!, c));
  let total = 0;
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < pool.n; j++) {
      let zq = 0;
      let zw = 0;
      for (let k = 0; k < K; k++) {
        const x = pool.x[j * K + k]!;
        zq += q[r * K + k]! * x;
        zw += p.w[r * K + k]! * x;
      }
      const diff = act ? clip(zq + act.bias[r]!, act) - clip(zw + act.bias[r]!, act) : zq - zw;
      total += diff * diff;
    }
  }
  return total / Math.max(1, pool.n);
}
