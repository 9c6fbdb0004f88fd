/**
 * The dense kernels against definitions written out here: H = Σ p·pᵀ entry by
 * entry, L·Lᵀ = H, H·H⁻¹ = I, E·H row by row.
 */
import { describe, expect, it } from "vitest";
import { accumulateGram, cholesky, inverseFromCholesky, quadraticForm, rowsTimesSym, rowsTimesSymTiled, sumOfQuadraticForms, symmetrize } from "../../../src/quant/rounding/dense.js";
import { seededRandom } from "../../../src/util/random.js";

/** K×K Gram of `count` random patches (stored transposed, row stride `stride`), by the definition. */
function naiveGram(pt: Float64Array, k: number, count: number, stride: number): Float64Array {
  const h = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let b = 0; b < count; b++) h[i * k + j] += pt[i * stride + b]! * pt[j * stride + b]!;
  return h;
}

function randomSpd(k: number, rnd: () => number): Float64Array {
  const n = 3 * k;
  const pt = Float64Array.from({ length: k * n }, () => rnd() - 0.5);
  const h = naiveGram(pt, k, n, n);
  for (let i = 0; i < k; i++) h[i * k + i] += 0.1;
  return h;
}

describe("dense kernels", () => {
  it.each([1, 2, 5, 8, 13])("accumulateGram equals Σ p·pᵀ (K = %i, partial blocks, two calls)", (k) => {
    const rnd = seededRandom(k);
    const stride = 7;
    const pt = Float64Array.from({ length: k * stride }, () => rnd() * 2 - 1);
    const h = new Float64Array(k * k);
    accumulateGram(h, k, pt, 5, stride);
    accumulateGram(h, k, pt, 5, stride);
    symmetrize(h, k);
    const want = naiveGram(pt, k, 5, stride).map((x) => 2 * x);
    for (let i = 0; i < k * k; i++) expect(h[i]).toBeCloseTo(want[i]!, 12);
  });

  it("cholesky gives L·Lᵀ = H, and the inverse gives H·H⁻¹ = I", () => {
    const k = 9;
    const h = randomSpd(k, seededRandom(3));
    const l = cholesky(h, k)!;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += l[i * k + t]! * l[j * k + t]!;
        expect(s).toBeCloseTo(h[i * k + j]!, 10);
        if (j > i) expect(l[i * k + j]).toBe(0);
      }
    }
    const inv = inverseFromCholesky(l, k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += h[i * k + t]! * inv[t * k + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
  });

  it("cholesky refuses a singular matrix", () => {
    // Rank 1: [[1, 1], [1, 1]].
    expect(cholesky(Float64Array.of(1, 1, 1, 1), 2)).toBeUndefined();
  });

  it("rowsTimesSym and quadraticForm match the row-by-row definition (R not a multiple of 4)", () => {
    const [r, k] = [6, 5];
    const rnd = seededRandom(9);
    const h = randomSpd(k, rnd);
    const e = Float64Array.from({ length: r * k }, () => rnd() - 0.5);
    const g = new Float64Array(r * k);
    rowsTimesSym(e, h, g, r, k);
    for (let row = 0; row < r; row++) {
      let q = 0;
      for (let i = 0; i < k; i++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += h[i * k + j]! * e[row * k + j]!;
        expect(g[row * k + i]).toBeCloseTo(s, 12);
        q += e[row * k + i]! * s;
      }
      expect(quadraticForm(h, k, e.subarray(row * k, (row + 1) * k))).toBeCloseTo(q, 12);
    }
  });

  it("rowsTimesSymTiled equals rowsTimesSym bit for bit (R, K around the 4×4 tiles; zeros of both signs in E and H)", () => {
    const rnd = seededRandom(12);
    for (const [r, k] of [
      [1, 1],
      [3, 5],
      [4, 4],
      [9, 13],
      [17, 70],
    ] as const) {
      const pick = () => (rnd() < 0.2 ? (rnd() < 0.5 ? 0 : -0) : rnd() - 0.5);
      const h = Float64Array.from({ length: k * k }, pick);
      const e = Float64Array.from({ length: r * k }, pick);
      // A row of zeros: each g_ri a sum of signed zeros, +0 from s = 0 on.
      for (let j = 0; j < k; j++) e[j] = j % 2 ? -0 : 0;
      const want = new Float64Array(r * k);
      rowsTimesSym(e, h, want, r, k);
      const got = new Float64Array(r * k);
      rowsTimesSymTiled(e, h, got, r, k);
      expect(got.every((x, i) => Object.is(x, want[i]))).toBe(true);
    }
  });

  it("sumOfQuadraticForms equals the row-by-row sum of quadraticForm bit for bit (zeros in E, R not a multiple of 4)", () => {
    const rnd = seededRandom(10);
    for (const [r, k] of [
      [7, 9],
      [4, 3],
      [1, 6],
      [0, 4],
    ] as const) {
      const h = randomSpd(k, rnd);
      const e = Float64Array.from({ length: r * k }, () => (rnd() < 0.3 ? 0 : rnd() - 0.5));
      let rowByRow = 0;
      for (let row = 0; row < r; row++) rowByRow += quadraticForm(h, k, e.subarray(row * k, (row + 1) * k));
      expect(Object.is(sumOfQuadraticForms(h, k, e, r), rowByRow)).toBe(true);
      // and the definition itself, to rounding
      let direct = 0;
      for (let row = 0; row < r; row++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) direct += e[row * k + i]! * h[i * k + j]! * e[row * k + j]!;
      expect(sumOfQuadraticForms(h, k, e, r)).toBeCloseTo(direct, 12);
    }
  });
});
