/**
 * AdaRound's discrete problem solved exactly for groups with few inputs
 * (K ≤ EXHAUSTIVE_MAX_COLS: a 3×3 kernel on one channel, depthwise 3×3).
 * AdaRound chooses, per weight, the grid value below or above its start
 * (w, or w* where weights are clipped: clip-compensation.ts) to minimise
 *
 *   loss = Σ_r e_rᵀ·H·e_r / N,   e_r = ŵ_r − w_r
 *
 * and the relaxation with its annealed regularizer only approximates that
 * minimum; on ill-conditioned H (the overlapping pixel patches of a first
 * layer) it can stop far from it (resnet's stem under NVFP4: 0.227 where the
 * minimum is 0.042). The loss is a sum over rows, so each row's 2^K choices
 * are enumerated on their own, in Gray-code order: consecutive choices differ
 * in one weight c, moved by δ = ±(hi_c − lo_c), and with g = H·e
 *
 *   eᵀHe ← eᵀHe + 2δ·g_c + δ²·H_cc,   g ← g + δ·H_:,c
 *
 * so a row costs 2^K·K multiply-adds (K = 9: 4,608). Ties keep the first
 * choice met (all down first), so the result is deterministic. The lower
 * layer loss does not always mean a better model, so the exact codes are
 * taken only where the relaxation is far from them (exactWhereFarBetter).
 */
import { clipCompensated } from "./clip-compensation.js";
import { type GroupProblem, reconstructionLoss } from "./problem.js";

/** Inputs per group up to which AdaRound's up/down choice is also enumerated. */
export const EXHAUSTIVE_MAX_COLS = 12;

/**
 * The exact codes replace the relaxation's only where the relaxation's loss
 * is at least this multiple of the exact minimum. Measured (bench:rounding,
 * layer sums): where the ratio was 1.10–1.12 (resnet's stem and mobilenetv2's
 * first layers at W4) the exact codes did not help top-1 (resnet W4: 0.39 ±
 * 0.12 points worse); where it was 1.28–5.4 (resnet's stem at W3 and NVFP4,
 * mobilenetv2's stem and first depthwise layer at W3 and MXFP4) they did.
 * Between those the choice is a judgement, not a measurement.
 */
export const EXACT_GAIN = 1.25;

/** The relaxation's codes, or the exact minimum's where their loss is EXACT_GAIN times lower. */
export function exactWhereFarBetter(p: GroupProblem, relaxed: Int32Array, compensate = true): Int32Array {
  const exact = exhaustiveRounding(p, compensate);
  return reconstructionLoss(p, relaxed) >= EXACT_GAIN * reconstructionLoss(p, exact) ? exact : relaxed;
}

/** The codes minimising the loss over every up/down choice around each weight's start (`compensate`: w* rather than w). */
export function exhaustiveRounding(p: GroupProblem, compensate = true): Int32Array {
  const { rows: R, cols: K } = p;
  const start = compensate ? clipCompensated(p) : p.w;
  const codes = new Int32Array(R * K);
  const lo = new Int32Array(K);
  const hi = new Int32Array(K);
  const step = new Float64Array(K);
  const e = new Float64Array(K);
  const g = new Float64Array(K);
  const up = new Uint8Array(K);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < K; c++) {
      const at = r * K + c;
      const flat = p.index[at]!;
      lo[c] = p.grid.below(flat, start[at]!);
      hi[c] = p.grid.above(flat, start[at]!);
      const vlo = p.grid.value(flat, lo[c]!);
      step[c] = p.grid.value(flat, hi[c]!) - vlo;
      e[c] = vlo - p.w[at]!;
      up[c] = 0;
    }
    let loss = 0;
    for (let i = 0; i < K; i++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += p.h[i * K + j]! * e[j]!;
      g[i] = s;
      loss += e[i]! * s;
    }
    let best = loss;
    let bestGray = 0;
    for (let n = 1; n < 1 << K; n++) {
      const c = 31 - Math.clz32(n & -n); // the bit that changes from gray(n − 1) to gray(n)
      const d = up[c] ? -step[c]! : step[c]!;
      up[c] ^= 1;
      if (d === 0) continue;
      loss += 2 * d * g[c]! + d * d * p.h[c * K + c]!;
      for (let i = 0; i < K; i++) g[i] += d * p.h[i * K + c]!;
      if (loss < best) {
        best = loss;
        bestGray = n ^ (n >> 1);
      }
    }
    for (let c = 0; c < K; c++) codes[r * K + c] = (bestGray >> c) & 1 ? hi[c]! : lo[c]!;
  }
  return codes;
}
