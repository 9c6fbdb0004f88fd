/**
 * GPTQ against a straightforward reference written here: Optimal Brain
 * Quantization with a fixed column order, on the explicit inverse H⁻¹
 * (Gauss–Jordan), removing each quantized column from H⁻¹ by the rank-one
 * update H⁻¹ ← H⁻¹ − H⁻¹[:, i]·H⁻¹[i, :]/H⁻¹[i, i]. GPTQ's Cholesky form
 * with lazy blocks must choose the same codes, in natural and act order.
 * Then: on a tiny layer, exhaustive search over every floor/ceil choice gives
 * the optimum; GPTQ lands between it and nearest rounding.
 */
import { describe, expect, it } from "vitest";
import { gptq } from "../../../src/quant/rounding/gptq.js";
import { betterOf } from "../../../src/quant/rounding/learned-rounding.js";
import { type GroupProblem, reconstructionLoss } from "../../../src/quant/rounding/problem.js";
import { nearestOf, randomProblem } from "./problems.js";

function invert(a: Float64Array, k: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) inv[i * k + i] = 1;
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r * k + c]!) > Math.abs(m[piv * k + c]!)) piv = r;
    for (let j = 0; j < k; j++) {
      [m[c * k + j], m[piv * k + j]] = [m[piv * k + j]!, m[c * k + j]!];
      [inv[c * k + j], inv[piv * k + j]] = [inv[piv * k + j]!, inv[c * k + j]!];
    }
    const d = m[c * k + c]!;
    for (let j = 0; j < k; j++) {
      m[c * k + j] = m[c * k + j]! / d;
      inv[c * k + j] = inv[c * k + j]! / d;
    }
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = m[r * k + c]!;
      for (let j = 0; j < k; j++) {
        m[r * k + j] = m[r * k + j]! - f * m[c * k + j]!;
        inv[r * k + j] = inv[r * k + j]! - f * inv[c * k + j]!;
      }
    }
  }
  return inv;
}

/** OBQ in the given column order, one column at a time, on the explicit inverse. */
function referenceGptq(p: GroupProblem, damp: number, order: number[]): Int32Array {
  const k = p.cols;
  const h = Float64Array.from(p.h);
  for (let i = 0; i < k; i++) if (h[i * k + i] === 0) h[i * k + i] = 1;
  let mean = 0;
  for (let i = 0; i < k; i++) mean += h[i * k + i]! / k;
  for (let i = 0; i < k; i++) h[i * k + i] += damp * mean;
  const codes = new Int32Array(p.rows * k);
  for (let r = 0; r < p.rows; r++) {
    const hinv = invert(h, k);
    const w = Float64Array.from(p.w.subarray(r * k, (r + 1) * k));
    const left = new Set(order);
    for (const i of order) {
      const q = p.grid.nearest(r * k + i, w[i]!);
      codes[r * k + i] = q;
      const err = (w[i]! - p.grid.value(r * k + i, q)) / hinv[i * k + i]!;
      left.delete(i);
      for (const j of left) w[j] = w[j]! - err * hinv[i * k + j]!;
      const d = hinv[i * k + i]!;
      const col = Float64Array.from({ length: k }, (_, a) => hinv[a * k + i]!);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) hinv[a * k + b] = hinv[a * k + b]! - (col[a]! * col[b]!) / d;
    }
  }
  return codes;
}

describe("GPTQ", () => {
  it.each([
    { actOrder: false, lazyBatch: 128 },
    { actOrder: false, lazyBatch: 3 },
    { actOrder: true, lazyBatch: 4 },
  ])("chooses the codes of column-by-column OBQ on H⁻¹ (%o)", ({ actOrder, lazyBatch }) => {
    const p = randomProblem(11, 5, 12, 40);
    // A dead input: column 7 never nonzero.
    for (let j = 0; j < 12; j++) p.h[7 * 12 + j] = p.h[j * 12 + 7] = 0;
    const order = Array.from({ length: 12 }, (_, i) => i);
    if (actOrder) order.sort((a, b) => p.h[b * 12 + b]! - p.h[a * 12 + a]! || a - b);
    const got = gptq(p, { damp: 0.01, lazyBatch, actOrder })!;
    expect(Array.from(got.codes)).toEqual(Array.from(referenceGptq(p, 0.01, order)));
    expect(got.damp).toBe(0.01);
  });

  it("lands between the exhaustive optimum and nearest rounding on tiny layers (seeds 1–10), below nearest on most", () => {
    let improved = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const p = randomProblem(seed, 1, 8, 30);
      let best = Number.POSITIVE_INFINITY;
      for (let mask = 0; mask < 256; mask++) {
        const codes = Int32Array.from(p.w, (v, c) => ((mask >> c) & 1 ? p.grid.above(c, v) : p.grid.below(c, v)));
        best = Math.min(best, reconstructionLoss(p, codes));
      }
      const lossNearest = reconstructionLoss(p, nearestOf(p));
      const lossGptq = reconstructionLoss(p, gptq(p)!.codes);
      expect(lossGptq).toBeGreaterThanOrEqual(best - 1e-12);
      expect(best).toBeLessThanOrEqual(lossNearest);
      if (lossGptq < lossNearest) improved++;
    }
    expect(improved).toBeGreaterThanOrEqual(6);
  });

  it("reconstructs better than nearest on random layers (seeds 1–20), by a clear margin on average", () => {
    let ratio = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const p = randomProblem(seed, 4, 16, 64);
      const before = reconstructionLoss(p, nearestOf(p));
      const after = reconstructionLoss(p, gptq(p)!.codes);
      expect(after).toBeLessThanOrEqual(before);
      ratio += after / before / 20;
    }
    expect(ratio).toBeLessThan(0.8);
  });

  it("damps more when H is singular after the damping asked for, and says so", () => {
    const p = randomProblem(2, 2, 6, 10);
    // Rank-deficient and no damping: H + 0·I is singular, so the damping grows.
    for (let j = 0; j < 6; j++) for (let i = 0; i < 6; i++) p.h[i * 6 + j] = (i + 1) * (j + 1);
    const r = gptq(p, { damp: 0, lazyBatch: 128, actOrder: false });
    expect(r).toBeDefined();
    expect(r!.damp).toBeGreaterThan(0);
  });

  it("betterOf keeps nearest for a group whose learned codes reconstruct worse", () => {
    const p = randomProblem(4, 3, 8, 40);
    const near = nearestOf(p);
    const worse = Int32Array.from(near);
    worse[0] = worse[0]! + (worse[0]! < 3 ? 1 : -1);
    expect(reconstructionLoss(p, worse)).toBeGreaterThan(reconstructionLoss(p, near));
    const kept = betterOf(p, near, worse);
    expect(kept.codes).toBe(near);
    expect(kept.lossAfter).toBe(kept.lossBefore);
    expect(betterOf(p, near, undefined).codes).toBe(near);
    const learned = gptq(p)!.codes;
    const took = betterOf(p, near, learned);
    expect(took.codes).toBe(learned);
    expect(took.lossAfter).toBeLessThan(took.lossBefore);
  });
});
