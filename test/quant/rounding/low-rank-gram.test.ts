/**
 * low-rank-gram.ts: Jacobi eigen-decomposition of a small symmetric matrix,
 * and the rank-q plus diagonal approximation of a Gram matrix by subspace
 * iteration, against exact reconstructions and eigenvalue bounds.
 */
import { describe, expect, it } from "vitest";
import { ADAROUND_DEFAULTS, adaroundInOrt } from "../../../src/quant/rounding/adaround.js";
import { AdaroundLoop } from "../../../src/quant/rounding/adaround-loop.js";
import { jacobiEigen, lowRankGram } from "../../../src/quant/rounding/low-rank-gram.js";
import { reconstructionLoss } from "../../../src/quant/rounding/problem.js";
import { seededRandom } from "../../../src/util/random.js";
import { nearestOf, randomProblem } from "./problems.js";

/** m·H in plain float64 (m rows×K). */
const times = (h: Float64Array, k: number) => async (m: Float64Array, rows: number) => {
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) out[r * k + j] += m[r * k + i]! * h[i * k + j]!;
  return out;
};

/** Σ of `terms` outer products x·xᵀ of random non-negative K-vectors with a shared offset (as a layer's Gram matrix is). */
function gram(seed: number, k: number, terms: number): Float64Array {
  const rnd = seededRandom(seed);
  const h = new Float64Array(k * k);
  const x = new Float64Array(k);
  for (let t = 0; t < terms; t++) {
    const c = rnd();
    for (let i = 0; i < k; i++) x[i] = Math.max(0, rnd() - 0.5 + c);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] += x[i]! * x[j]!;
  }
  return h;
}

describe("jacobiEigen", () => {
  it("gives orthonormal eigenvectors that reconstruct the matrix", () => {
    const q = 7;
    const b = gram(1, q, 9);
    const { values, v } = jacobiEigen(b, q);
    for (let i = 0; i < q; i++) {
      for (let j = 0; j < q; j++) {
        let recon = 0;
        let dot = 0;
        for (let m = 0; m < q; m++) {
          recon += v[i * q + m]! * values[m]! * v[j * q + m]!;
          dot += v[m * q + i]! * v[m * q + j]!;
        }
        expect(Math.abs(recon - b[i * q + j]!)).toBeLessThan(1e-10 * values.reduce((a, x) => Math.max(a, Math.abs(x)), 0));
        expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-12);
      }
    }
  });
});

describe("lowRankGram", () => {
  it("recovers a Gram matrix of rank ≤ q exactly, with a zero diagonal rest", async () => {
    const k = 24;
    const h = gram(2, k, 5);
    const lr = await lowRankGram(h, k, 6, times(h, k), 7);
    const scale = Math.max(...h);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let m = 0; m < lr.rank; m++) s += lr.u[m * k + i]! * lr.lambda[m]! * lr.u[m * k + j]!;
        expect(Math.abs(s - h[i * k + j]!)).toBeLessThan(1e-9 * scale);
      }
      expect(lr.d[i]!).toBeLessThan(1e-9 * scale);
    }
  });

  it("on a full-rank Gram matrix: eigenvalues descending and at most the exact ones, the top one found, the rest's diagonal ≥ 0 and diag(H) matched", async () => {
    const k = 30;
    const h = gram(3, k, 200);
    const exact = Array.from(jacobiEigen(h, k).values).sort((a, b) => b - a);
    const lr = await lowRankGram(h, k, 8, times(h, k), 11);
    expect(lr.rank).toBe(8);
    for (let m = 0; m < lr.rank; m++) {
      if (m > 0) expect(lr.lambda[m]!).toBeLessThanOrEqual(lr.lambda[m - 1]!);
      expect(lr.lambda[m]!).toBeLessThanOrEqual(exact[m]! * (1 + 1e-12));
    }
    expect(Math.abs(lr.lambda[0]! - exact[0]!)).toBeLessThan(1e-9 * exact[0]!);
    for (let i = 0; i < k; i++) {
      let s = lr.d[i]!;
      for (let m = 0; m < lr.rank; m++) s += lr.lambda[m]! * lr.u[m * k + i]! ** 2;
      expect(lr.d[i]!).toBeGreaterThanOrEqual(0);
      expect(Math.abs(s - h[i * k + i]!)).toBeLessThan(1e-9 * h[i * k + i]!);
    }
  });

  it("caps the rank at K and is deterministic for a seed", async () => {
    const k = 5;
    const h = gram(4, k, 20);
    const a = await lowRankGram(h, k, 9, times(h, k), 3);
    const b = await lowRankGram(h, k, 9, times(h, k), 3);
    expect(a.rank).toBe(5);
    expect(Array.from(a.u)).toEqual(Array.from(b.u));
  });
});

describe("AdaRound's Loop on the low-rank approximation", () => {
  it("at full rank takes the Gram form's steps (codes equal but for float32 rounding); at rank 2 other codes, still below nearest's loss", async () => {
    const loop = await AdaroundLoop.create(1);
    try {
      const o = { ...ADAROUND_DEFAULTS, iters: 300 };
      for (const seed of [1, 2]) {
        const p = randomProblem(seed, 12, 32, 96);
        const gram = await adaroundInOrt(p, loop, o);
        const full = await adaroundInOrt(p, loop, o, undefined, await lowRankGram(p.h, p.cols, p.cols, times(p.h, p.cols), seed));
        const same = full.reduce((n, c, k) => n + (c === gram[k] ? 1 : 0), 0);
        expect(same).toBeGreaterThanOrEqual(0.98 * gram.length);
        const low = await adaroundInOrt(p, loop, o, undefined, await lowRankGram(p.h, p.cols, 2, times(p.h, p.cols), seed));
        expect(Array.from(low)).not.toEqual(Array.from(gram));
        expect(reconstructionLoss(p, low)).toBeLessThan(reconstructionLoss(p, nearestOf(p)));
      }
    } finally {
      await loop.release();
    }
  });
});
