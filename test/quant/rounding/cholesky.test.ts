/**
 * The tiled (WebAssembly SIMD) Cholesky and inverse against the textbook loops
 * (naive-dense.ts): equal bit for bit, on sizes around the 4×4 tiles, on
 * well-conditioned, rank-deficient-then-damped (as GPTQ damps) and badly
 * scaled SPD matrices. Then the error bounds they must meet whatever the
 * order of the sums: Cholesky's backward error |L·Lᵀ − H| ≤ γ_{K+1}·|L|·|Lᵀ|
 * entrywise (Higham, Accuracy and Stability of Numerical Algorithms, Thm
 * 10.3; γ_n = n·u/(1 − n·u), u = 2⁻⁵³), and the inverse's residual
 * ‖H·X − I‖₁ ≤ c·K·u·‖H‖₁·‖X‖₁ with c = 4.
 */
import { describe, expect, it } from "vitest";
import { cholesky, gramOfUpperRows, inverseFromCholesky, transposedInverseOfLower } from "../../../src/quant/rounding/cholesky.js";
import { dampedInverse } from "../../../src/quant/rounding/dense.js";
import { seededRandom } from "../../../src/util/random.js";
import { naiveCholesky, naiveInverse, naiveLowerInverse } from "./naive-dense.js";

const U = 2 ** -53;

/** X·Xᵀ for X K×N with entries uniform in [−0.5, 0.5), then `scale[i]·scale[j]` per entry and `diag` added to the diagonal. */
function spd(k: number, n: number, seed: number, diag = 0, scale?: (i: number) => number): Float64Array {
  const rnd = seededRandom(seed);
  const x = Float64Array.from({ length: k * n }, () => rnd() - 0.5);
  const h = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += x[i * n + t]! * x[j * n + t]!;
      h[i * k + j] = s * (scale ? scale(i) * scale(j) : 1);
    }
    h[i * k + i] += diag;
  }
  return h;
}

/** H + λI with λ = 0.01·mean(diag H), GPTQ's default damping. */
function damped(h: Float64Array, k: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < k; i++) mean += h[i * k + i]! / k;
  const out = Float64Array.from(h);
  for (let i = 0; i < k; i++) out[i * k + i] += 0.01 * mean;
  return out;
}

const sameBits = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

const cases: [string, number, () => Float64Array][] = [];
for (const k of [1, 2, 3, 4, 5, 7, 8, 9, 17, 33, 70]) {
  cases.push([`well-conditioned, K = ${k}`, k, () => spd(k, 2 * k + 3, k, 0.1)]);
  cases.push([`rank K/3 + damping, K = ${k}`, k, () => damped(spd(k, Math.ceil(k / 3), 100 + k), k)]);
  cases.push([`rows scaled 10⁻⁴…10⁴, K = ${k}`, k, () => spd(k, 2 * k, 200 + k, 0.01, (i) => 10 ** (8 * (i / Math.max(1, k - 1)) - 4))]);
}

describe("tiled Cholesky and inverse", () => {
  it.each(cases)("equal the textbook loops bit for bit: %s", (_name, k, make) => {
    const h = make();
    const l = cholesky(h, k)!;
    const want = naiveCholesky(h, k)!;
    expect(want).toBeDefined();
    expect(sameBits(l, want)).toBe(true);
    const mt = transposedInverseOfLower(l, k);
    const m = naiveLowerInverse(want, k);
    expect(sameBits(mt, Float64Array.from({ length: k * k }, (_, at) => m[(at % k) * k + Math.floor(at / k)]!))).toBe(true);
    expect(sameBits(gramOfUpperRows(mt, k), naiveInverse(want, k))).toBe(true);
  });

  it("equal them at K = 850 too, where the inverse's workspace (3·K² doubles, 17 MB) is a fresh WebAssembly memory, not the kept one", () => {
    const k = 850;
    const h = damped(spd(k, 40, 850), k);
    const l = cholesky(h, k)!;
    const want = naiveCholesky(h, k)!;
    expect(sameBits(l, want)).toBe(true);
    const mt = transposedInverseOfLower(l, k);
    const m = naiveLowerInverse(want, k);
    expect(sameBits(mt, Float64Array.from({ length: k * k }, (_, at) => m[(at % k) * k + Math.floor(at / k)]!))).toBe(true);
  });

  it.each([5, 33, 70])("meet Cholesky's backward-error bound and the inverse's residual bound (K = %i, rank K/3 + damping)", (k) => {
    const h = damped(spd(k, Math.ceil(k / 3), 300 + k), k);
    const l = cholesky(h, k)!;
    const gamma = ((k + 1) * U) / (1 - (k + 1) * U);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j <= i; j++) {
        let llt = 0;
        let bound = 0;
        for (let t = 0; t < k; t++) {
          llt += l[i * k + t]! * l[j * k + t]!;
          bound += Math.abs(l[i * k + t]!) * Math.abs(l[j * k + t]!);
        }
        // The product above is itself rounded: allow its own γ_K on the same magnitudes.
        expect(Math.abs(llt - h[i * k + j]!)).toBeLessThanOrEqual(2 * gamma * bound);
      }
    }
    const x = inverseFromCholesky(l, k);
    const norm1 = (a: (i: number, j: number) => number) => Math.max(...Array.from({ length: k }, (_, j) => Array.from({ length: k }, (_, i) => Math.abs(a(i, j))).reduce((s, v) => s + v, 0)));
    const hx = (i: number, j: number) => {
      let s = 0;
      for (let t = 0; t < k; t++) s += h[i * k + t]! * x[t * k + j]!;
      return s - (i === j ? 1 : 0);
    };
    const residual = norm1(hx);
    const kappaBound = 4 * k * U * norm1((i, j) => h[i * k + j]!) * norm1((i, j) => x[i * k + j]!);
    expect(residual).toBeLessThanOrEqual(kappaBound);
    // Not vacuous: the damped matrix is far from the identity's conditioning.
    expect(kappaBound).toBeLessThan(1e-6);
  });

  it("refuses an indefinite matrix at any tile position, as the textbook loop does", () => {
    for (const k of [6, 13]) {
      const h = spd(k, 2 * k, 9, 0.1);
      // Make the leading 10×10 (or 5×5) minor indefinite: a negative pivot at column 9 (or 4).
      const at = Math.min(9, k - 2);
      h[at * k + at] = -1;
      expect(naiveCholesky(h, k)).toBeUndefined();
      expect(cholesky(h, k)).toBeUndefined();
    }
  });

  it("dampedInverse inverts a rank-deficient Gram once damped (H·X ≈ I)", () => {
    const k = 21;
    const h = spd(k, 5, 4);
    const x = dampedInverse(h, k, 0.01)!;
    const hd = damped(h, k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += hd[i * k + t]! * x[t * k + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 8);
      }
    }
  });
});
