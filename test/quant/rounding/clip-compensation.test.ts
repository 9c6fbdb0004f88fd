/**
 * The start of AdaRound's relaxation when weights lie past the grid's ends
 * (clip-compensation.ts): hand-computed cases, the minimum's optimality
 * condition on random layers, and AdaRound from it against AdaRound from W
 * on clipped integer and MXFP4 grids.
 */
import { describe, expect, it } from "vitest";
import { intFormat, type QuantSpec } from "../../../src/ir/quant.js";
import { mxFormat, mxLayout, mxScales } from "../../../src/numerics/mx.js";
import { ADAROUND_DEFAULTS, adaround } from "../../../src/quant/rounding/adaround.js";
import { clipCompensated } from "../../../src/quant/rounding/clip-compensation.js";
import { type GroupProblem, reconstructionLoss } from "../../../src/quant/rounding/problem.js";
import { type WeightGrid, weightGrid } from "../../../src/quant/rounding/weight-grid.js";
import { seededRandom } from "../../../src/util/random.js";
import { nearestOf, randomProblem } from "./problems.js";

/** Codes −4…4 of step 0.25: the grid ends at ±1. */
const quarter = (v: number, f: (x: number) => number) => Math.max(-4, Math.min(4, f(v / 0.25)));
const grid: WeightGrid = { below: (_i, v) => quarter(v, Math.floor), above: (_i, v) => quarter(v, Math.ceil), nearest: (_i, v) => quarter(v, Math.round), value: (_i, c) => c * 0.25 };
const tiny = (w: number[]): GroupProblem => ({ rows: w.length / 2, cols: 2, w: Float64Array.from(w), h: Float64Array.of(2, 1, 1, 2), columns: 1, grid, index: Int32Array.from(w, (_, k) => k) });

/** A random layer whose grid (per row, `bits` bits) is scaled to `shrink` of its max|w|, so the largest weights lie past the ends. */
function clippedProblem(seed: number, rows: number, cols: number, shrink: number, bits = 3): GroupProblem {
  const p = randomProblem(seed, rows, cols, 4 * cols, bits);
  const format = intFormat("int8", { valueBits: bits, symmetric: true });
  const scale = Float32Array.from({ length: rows }, (_, r) => (shrink * Math.max(...Array.from(p.w.subarray(r * cols, (r + 1) * cols), Math.abs))) / format.qmax);
  return { ...p, grid: weightGrid([rows, cols], { kind: "affine", format, scale, zeroPoint: new Int32Array(rows), axis: 0 }) };
}

const ends = (p: GroupProblem, at: number) => [p.grid.value(at, p.grid.below(at, Number.NEGATIVE_INFINITY)), p.grid.value(at, p.grid.above(at, Number.POSITIVE_INFINITY))] as const;

describe("clip compensation", () => {
  it("H = [[2, 1], [1, 2]], w = (1.5, 0.2), ends ±1: w* = (1, 0.45), the free weight absorbing −H₀₁/H₁₁ of the clip error", () => {
    // Minimising 2a² + 2ab + 2b² over b with a = −0.5 fixed: b = −a/2 = 0.25.
    const out = clipCompensated(tiny([1.5, 0.2]), 0);
    expect(out[0]).toBe(1);
    expect(out[1]).toBeCloseTo(0.45, 12);
  });

  it("a weight the update pushes past an end joins the pinned set: w = (1.5, 0.9) gives (1, 1); a row with nothing clipped keeps w", () => {
    const out = clipCompensated(tiny([1.5, 0.9, 0.3, -0.7]), 0);
    expect(Array.from(out)).toEqual([1, 1, 0.3, -0.7]);
  });

  it("returns W itself when every weight fits the grid (min-max scales)", () => {
    const p = randomProblem(4, 6, 12, 40);
    expect(Array.from(clipCompensated(p))).toEqual(Array.from(p.w));
  });

  it("is the constrained minimum on random clipped layers (seeds 1–5): inside the ends, zero gradient on the free weights, loss below clip(W)'s", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const p = clippedProblem(seed, 4, 16, 0.7);
      const out = clipCompensated(p, 0);
      const { rows: R, cols: K } = p;
      let lossStar = 0;
      let lossClip = 0;
      let pinnedSeen = 0;
      for (let r = 0; r < R; r++) {
        const e = Float64Array.from({ length: K }, (_, c) => out[r * K + c]! - p.w[r * K + c]!);
        const ec = Float64Array.from({ length: K }, (_, c) => {
          const [lo, hi] = ends(p, r * K + c);
          return Math.min(hi, Math.max(lo, p.w[r * K + c]!)) - p.w[r * K + c]!;
        });
        for (let i = 0; i < K; i++) {
          const [lo, hi] = ends(p, r * K + i);
          const v = out[r * K + i]!;
          expect(v).toBeGreaterThanOrEqual(lo);
          expect(v).toBeLessThanOrEqual(hi);
          let g = 0;
          let scale = 0;
          for (let j = 0; j < K; j++) {
            g += p.h[i * K + j]! * e[j]!;
            scale += Math.abs(p.h[i * K + j]! * e[j]!);
            lossStar += e[i]! * p.h[i * K + j]! * e[j]!;
            lossClip += ec[i]! * p.h[i * K + j]! * ec[j]!;
          }
          if (v > lo && v < hi) expect(Math.abs(g)).toBeLessThan(1e-9 * Math.max(1, scale));
          else pinnedSeen++;
        }
      }
      expect(pinnedSeen).toBeGreaterThan(0);
      expect(lossStar).toBeLessThan(lossClip);
    }
  });

  it("AdaRound from w* reconstructs better than AdaRound from W on clipped int3 layers (seeds 1–5), each code one of w*'s two neighbours", () => {
    let withComp = 0;
    let without = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const p = clippedProblem(seed, 8, 24, 0.7);
      const o = { ...ADAROUND_DEFAULTS, iters: 400 };
      const codes = adaround(p, o);
      const star = clipCompensated(p);
      for (const [k, q] of codes.entries()) expect([p.grid.below(k, star[k]!), p.grid.above(k, star[k]!)]).toContain(q);
      const a = reconstructionLoss(p, codes);
      const b = reconstructionLoss(p, adaround(p, { ...o, clipCompensation: false }));
      expect(a).toBeLessThan(reconstructionLoss(p, nearestOf(p)));
      withComp += a;
      without += b;
    }
    expect(withComp).toBeLessThan(0.9 * without);
  });

  it("AdaRound from w* reconstructs better than from W on MXFP4 blocks (amax/X in [4, 8), E2M1 ends at 6), seeds 1–4", () => {
    const R = 8;
    const K = 64;
    for (let seed = 1; seed <= 4; seed++) {
      const base = randomProblem(seed, R, K, 4 * K);
      const rnd = seededRandom(100 + seed);
      // Heavy-tailed weights, as trained layers have: most small, a few large.
      const w = Float64Array.from(base.w, (v) => v * (rnd() < 0.1 ? 2 : 1));
      const spec: QuantSpec = { kind: "mx", format: mxFormat("mxfp4"), view: [R, K], axis: 1, blockSize: 32, scales: mxScales(mxFormat("mxfp4"), Float32Array.from(w), mxLayout([R, K], 1)) };
      const p: GroupProblem = { ...base, w, grid: weightGrid([R, K], spec) };
      const o = { ...ADAROUND_DEFAULTS, iters: 400 };
      const a = reconstructionLoss(p, adaround(p, o));
      const b = reconstructionLoss(p, adaround(p, { ...o, clipCompensation: false }));
      expect(a).toBeLessThan(b);
    }
  });
});
