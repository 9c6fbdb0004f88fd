/**
 * Where AdaRound's relaxation should be centred when some weights lie outside
 * their grid. AdaRound rounds each weight up or down from a starting point
 * whose loss is the relaxed problem's minimum: the float weights W, since
 * tr((Ŵ − W)·H·(Ŵ − W)ᵀ) is 0 there. A weight beyond the grid's end cannot
 * get there: it is pinned at the end value q. That happens where the grid is
 * fixed from the block maximum but does not reach it: MX's power-of-two block
 * scale X = 2^(⌊log2 amax⌋ − 2) puts amax/X in [4, 8) while E2M1 ends at 6, so
 * about 40% of MXFP4 blocks clip their largest weight by up to 25%; NVFP4's
 * FP8 block scale clips slightly; an int scale set below amax (MSE, percentile)
 * clips too. With the pinned set C fixed, the minimum over the other weights
 * is (Optimal Brain Surgeon's update, per output row w, with H⁻¹ of the
 * damped H):
 *
 *   w* = w − (w_C − q_C)ᵀ · (H⁻¹_CC)⁻¹ · H⁻¹_C,:     (so w*_C = q_C)
 *
 * which moves the free weights to absorb the clipping error. AdaRound then
 * rounds w* up or down (its loss still against W). Weights that w* pushes
 * past a grid end join C and w* is recomputed from w, up to ROUNDS times.
 * Rows with nothing clipped keep w* = w, so grids that hold every weight
 * (min-max int scales) are unaffected. Cost: one K×K inverse per group and,
 * per row, a |C|×|C| solve and |C|·K multiply-adds.
 */
import { cholesky, dampedInverse, dampings } from "./dense.js";
import type { GroupProblem } from "./problem.js";

/** Times the pinned set may grow (weights w* pushes past an end). */
const ROUNDS = 4;
/** A weight is past an end when beyond it by more than this share of the grid's range (not by float32 rounding of a min-max scale). */
const PAST_END = 1e-6;

/** w*, R×K in the problem's layout: the loss's minimum with the weights outside the grid pinned at its ends (p.w itself when none is). */
export function clipCompensated(p: GroupProblem, damp = 0.01): Float64Array {
  const { rows: R, cols: K } = p;
  const out = Float64Array.from(p.w);
  // Grid ends of every weight.
  const lo = new Float64Array(R * K);
  const hi = new Float64Array(R * K);
  let any = false;
  for (let at = 0; at < R * K; at++) {
    const flat = p.index[at]!;
    lo[at] = p.grid.value(flat, p.grid.below(flat, Number.NEGATIVE_INFINITY));
    hi[at] = p.grid.value(flat, p.grid.above(flat, Number.POSITIVE_INFINITY));
    const w = p.w[at]!;
    if (w < lo[at]! - PAST_END * (hi[at]! - lo[at]!) || w > hi[at]! + PAST_END * (hi[at]! - lo[at]!)) any = true;
  }
  if (!any) return out;
  const inv = dampings(damp).reduce<Float64Array | undefined>((found, d) => found ?? dampedInverse(p.h, K, d), undefined);
  if (!inv) return out;
  for (let r = 0; r < R; r++) compensateRow(p.w.subarray(r * K, (r + 1) * K), lo.subarray(r * K), hi.subarray(r * K), inv, K, out.subarray(r * K, (r + 1) * K));
  return out;
}

/** One row of clipCompensated: `out` (holding w) receives w*. */
function compensateRow(w: Float64Array, lo: Float64Array, hi: Float64Array, inv: Float64Array, k: number, out: Float64Array): void {
  const clip = (i: number, v: number) => (v < lo[i]! ? lo[i]! : v > hi[i]! ? hi[i]! : v);
  const past = (i: number, v: number) => Math.abs(v - clip(i, v)) > PAST_END * (hi[i]! - lo[i]!);
  const pinned: number[] = [];
  const held: number[] = [];
  const pin = (i: number, v: number) => {
    pinned.push(i);
    held.push(clip(i, v));
  };
  for (let i = 0; i < k; i++) if (past(i, w[i]!)) pin(i, w[i]!);
  for (let round = 0; round < ROUNDS && pinned.length > 0; round++) {
    const m = pinned.length;
    // Solve H⁻¹_CC · y = w_C − q_C.
    const a = new Float64Array(m * m);
    for (let s = 0; s < m; s++) for (let t = 0; t < m; t++) a[s * m + t] = inv[pinned[s]! * k + pinned[t]!]!;
    const y = Float64Array.from(pinned, (i, t) => w[i]! - held[t]!);
    const l = cholesky(a, m);
    if (!l) break;
    solveWithCholesky(l, m, y);
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < m; t++) s += y[t]! * inv[pinned[t]! * k + j]!;
      out[j] = w[j]! - s;
    }
    // w*_C = q_C up to the solve's rounding error: exactly.
    pinned.forEach((i, t) => {
      out[i] = held[t]!;
    });
    const isPinned = new Set(pinned);
    for (let i = 0; i < k; i++) if (!isPinned.has(i) && past(i, out[i]!)) pin(i, out[i]!);
    if (pinned.length === m) return;
  }
  // Pinned past the last round (or the solve failed): held at the end.
  for (let i = 0; i < k; i++) out[i] = clip(i, out[i]!);
}

/** y ← (L·Lᵀ)⁻¹·y (forward then back substitution). */
function solveWithCholesky(l: Float64Array, m: number, y: Float64Array): void {
  for (let i = 0; i < m; i++) {
    let s = y[i]!;
    for (let t = 0; t < i; t++) s -= l[i * m + t]! * y[t]!;
    y[i] = s / l[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let t = i + 1; t < m; t++) s -= l[t * m + i]! * y[t]!;
    y[i] = s / l[i * m + i]!;
  }
}
