/**
 * AdaRound on small layers: the annealing schedule as the paper gives it,
 * every code one of the two grid points around its weight, and a
 * reconstruction loss below nearest rounding's; stochastic-Gram steps
 * (chunks) take H_c/N_c at scale 2, the same in JS and in the ORT Loop.
 */
import { describe, expect, it } from "vitest";
import { ADAROUND_DEFAULTS, adaround, adaroundInOrt, annealedBeta } from "../../../src/quant/rounding/adaround.js";
import { AdaroundLoop } from "../../../src/quant/rounding/adaround-loop.js";
import { reconstructionLoss } from "../../../src/quant/rounding/problem.js";
import type { GroupProblem } from "../../../src/quant/rounding/problem.js";
import { nearestOf, randomProblem } from "./problems.js";

/** p with `count` chunks: H_c/N_c of other random inputs (or, `same`, every chunk H/N), then H/N. */
function chunked(p: GroupProblem, count: number, same = false): GroupProblem {
  const kk = p.cols * p.cols;
  const h = new Float32Array((count + 1) * kk);
  for (let c = 0; c <= count; c++) {
    const src = same || c === count ? p : randomProblem(100 + c, p.rows, p.cols, p.columns);
    for (let i = 0; i < kk; i++) h[c * kk + i] = src.h[i]! / src.columns;
  }
  return { ...p, chunks: { h, count, seed: 5 } };
}

describe("AdaRound", () => {
  it("keeps the regularizer off for the first 20% of iterations, then anneals β linearly from 20 to 2", () => {
    const o = { ...ADAROUND_DEFAULTS, iters: 100 };
    expect(annealedBeta(0, o)).toBe(0);
    expect(annealedBeta(19, o)).toBe(0);
    expect(annealedBeta(20, o)).toBe(20);
    expect(annealedBeta(60, o)).toBeCloseTo(11, 12);
    expect(annealedBeta(100, o)).toBeCloseTo(2, 12);
  });

  it("rounds every weight up or down, and reconstructs better than nearest on small layers (seeds 1–5)", async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const p = randomProblem(seed, 4, 16, 64);
      const codes = adaround(p, { ...ADAROUND_DEFAULTS, iters: 400, lr: 0.01 });
      for (const [k, q] of codes.entries()) expect([p.grid.below(k, p.w[k]!), p.grid.above(k, p.w[k]!)]).toContain(q);
      expect(reconstructionLoss(p, codes)).toBeLessThan(reconstructionLoss(p, nearestOf(p)));
    }
  });

  it("is nearest rounding when no iteration runs past the start (h equals the fractional part)", async () => {
    const p = randomProblem(3, 3, 10, 20);
    expect(Array.from(adaround(p, { ...ADAROUND_DEFAULTS, iters: 0 }))).toEqual(Array.from(nearestOf(p)));
  });

  it("takes the same steps as one ONNX Runtime Loop (float32) as in JS float64: same codes on a small layer, and nearest at 0 iterations", async () => {
    const loop = await AdaroundLoop.create(1);
    try {
      const p = randomProblem(11, 6, 24, 96);
      const o = { ...ADAROUND_DEFAULTS, iters: 300, lr: 0.01 };
      const js = adaround(p, o);
      const inOrt = await adaroundInOrt(p, loop, o);
      let same = 0;
      for (let k = 0; k < js.length; k++) if (js[k] === inOrt[k]) same++;
      expect(same / js.length).toBeGreaterThan(0.97);
      expect(reconstructionLoss(p, inOrt)).toBeLessThan(reconstructionLoss(p, nearestOf(p)));
      expect(Array.from(await adaroundInOrt(p, loop, { ...o, iters: 0 }))).toEqual(Array.from(nearestOf(p)));
    } finally {
      await loop.release();
    }
  });

  it("with chunks that all equal H/N, takes the Gram form's steps (the chunk scale is 2/N_c folded into H_c)", () => {
    const p = randomProblem(12, 4, 16, 64);
    const o = { ...ADAROUND_DEFAULTS, iters: 300 };
    const gram = adaround(p, o);
    const ch = adaround(chunked(p, 3, true), o);
    let same = 0;
    for (let k = 0; k < gram.length; k++) if (gram[k] === ch[k]) same++;
    expect(same / gram.length).toBeGreaterThan(0.98);
  });

  it("with different chunks: the ORT Loop gathers the scheduled chunk as JS does (same codes), and the codes differ from the Gram form's", async () => {
    const loop = await AdaroundLoop.create(1);
    try {
      const p = chunked(randomProblem(11, 6, 24, 96), 4);
      const o = { ...ADAROUND_DEFAULTS, iters: 300 };
      const js = adaround(p, o);
      const inOrt = await adaroundInOrt(p, loop, o);
      let same = 0;
      for (let k = 0; k < js.length; k++) if (js[k] === inOrt[k]) same++;
      expect(same / js.length).toBeGreaterThan(0.97);
      const { chunks: _, ...plain } = p;
      expect(Array.from(adaround(plain, o))).not.toEqual(Array.from(js));
    } finally {
      await loop.release();
    }
  });
});
