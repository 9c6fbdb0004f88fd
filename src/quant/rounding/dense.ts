/**
 * Dense float64 kernels of the layer-reconstruction engine: the Gram matrix
 * of a layer's inputs, its Cholesky factor and inverse, and the product H·e.
 *
 *   H += Σ_b p_b · p_bᵀ        (accumulateGram: p_b the b-th patch of a block)
 *   H  = L · Lᵀ                (cholesky, L lower triangular)
 *   H⁻¹ = L⁻ᵀ · L⁻¹            (inverseFromCholesky; dampedInverse: of H + λI)
 *
 * Matrices are row-major Float64Array of K×K. A patch block is stored
 * transposed, `pt[i·B + b]` = element i of patch b, so every entry of H is a
 * dot product of two contiguous rows of length B; the Gram kernel computes a
 * 2×2 tile of H per pass over those rows (four accumulators, four loads per
 * four multiply-adds) and only the lower triangle; `symmetrize` mirrors it.
 * Accumulation is float64 throughout (inputs arrive as float32 from ONNX
 * Runtime and are widened exactly). The Cholesky factor and the inverse are
 * cholesky.ts's tiled kernels (WebAssembly SIMD, simd-kernels.ts).
 */
import { cholesky, inverseFromCholesky } from "./cholesky.js";
import { TILE, SimdArena } from "./simd-kernels.js";

export { cholesky, inverseFromCholesky };

/** H (K×K, lower triangle) += Pᵀ·P for the `b` patches of `pt` (K rows of length `stride` ≥ b, patch-major within a row). */
export function accumulateGram(h: Float64Array, k: number, pt: Float64Array, b: number, stride = b): void {
  let i = 0;
  for (; i + 1 < k; i += 2) {
    const ri = i * stride;
    const ri1 = ri + stride;
    let j = 0;
    for (; j + 1 <= i; j += 2) {
      const rj = j * stride;
      const rj1 = rj + stride;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < b; t++) {
        const a0 = pt[ri + t]!;
        const a1 = pt[ri1 + t]!;
        const c0 = pt[rj + t]!;
        const c1 = pt[rj1 + t]!;
        s00 += a0 * c0;
        s01 += a0 * c1;
        s10 += a1 * c0;
        s11 += a1 * c1;
      }
      h[i * k + j] += s00;
      h[i * k + j + 1] += s01;
      h[(i + 1) * k + j] += s10;
      h[(i + 1) * k + j + 1] += s11;
    }
    // The diagonal tile: (i, i), (i+1, i), (i+1, i+1).
    let d00 = 0;
    let d10 = 0;
    let d11 = 0;
    for (let t = 0; t < b; t++) {
      const a0 = pt[ri + t]!;
      const a1 = pt[ri1 + t]!;
      d00 += a0 * a0;
      d10 += a1 * a0;
      d11 += a1 * a1;
    }
    h[i * k + i] += d00;
    h[(i + 1) * k + i] += d10;
    h[(i + 1) * k + i + 1] += d11;
  }
  if (i < k) {
    // The last row when K is odd.
    const ri = i * stride;
    for (let j = 0; j <= i; j++) {
      const rj = j * stride;
      let s = 0;
      for (let t = 0; t < b; t++) s += pt[ri + t]! * pt[rj + t]!;
      h[i * k + j] += s;
    }
  }
}

/** Copies the lower triangle of H onto the upper one. */
export function symmetrize(h: Float64Array, k: number): void {
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) h[j * k + i] = h[i * k + j]!;
}

/** The dampings tried in turn when H is singular: `damp`, then tenfold from at least 10⁻⁴, four times. */
export function dampings(damp: number): number[] {
  const out = [damp];
  for (let t = 1; t <= 4; t++) out.push(Math.max(out[t - 1]!, 1e-4) * 10);
  return out;
}

/**
 * (H + λI)⁻¹ with λ = damp · mean(diag H), after giving dead inputs (H_ii = 0)
 * H_ii = 1; undefined when that is still not positive definite. H is not changed.
 */
export function dampedInverse(h: Float64Array, k: number, damp: number): Float64Array | undefined {
  const hd = Float64Array.from(h);
  let mean = 0;
  for (let i = 0; i < k; i++) {
    if (hd[i * k + i] === 0) hd[i * k + i] = 1;
    mean += hd[i * k + i]!;
  }
  mean = mean / k || 1;
  for (let i = 0; i < k; i++) hd[i * k + i] += damp * mean;
  const l = cholesky(hd, k);
  return l && inverseFromCholesky(l, k);
}

/** y = H·e (H K×K row-major). */
export function symMatVec(h: Float64Array, k: number, e: Float64Array, y: Float64Array): void {
  for (let i = 0; i < k; i++) {
    const ri = i * k;
    let s = 0;
    for (let j = 0; j < k; j++) s += h[ri + j]! * e[j]!;
    y[i] = s;
  }
}

/** eᵀ·H·e. */
export function quadraticForm(h: Float64Array, k: number, e: Float64Array): number {
  let total = 0;
  for (let i = 0; i < k; i++) {
    const ei = e[i]!;
    if (ei === 0) continue;
    const ri = i * k;
    let s = 0;
    for (let j = 0; j < k; j++) s += h[ri + j]! * e[j]!;
    total += ei * s;
  }
  return total;
}

/**
 * Σ_r e_rᵀ·H·e_r over R rows e_r (E row-major R×K): G = E·H by
 * rowsTimesSymTiled, then Σ_r Σ_i e_ri·g_ri. g_ri is quadraticForm's inner
 * sum in the same order, and rows are added in row order, so the result
 * equals the row-by-row sum of quadraticForm bit for bit (a zero e_ri adds ±0
 * where quadraticForm skips it).
 */
export function sumOfQuadraticForms(h: Float64Array, k: number, e: Float64Array, rows: number): number {
  const g = new Float64Array(rows * k);
  rowsTimesSymTiled(e, h, g, rows, k);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let t = 0;
    for (let i = r * k; i < (r + 1) * k; i++) t += e[i]! * g[i]!;
    total += t;
  }
  return total;
}

/**
 * G = E·H for R rows e_r (E, G row-major R×K; H symmetric K×K): g_r = H·e_r,
 * four rows per pass over H, so each row of H is read once per four rows.
 */
export function rowsTimesSym(e: Float64Array, h: Float64Array, g: Float64Array, rows: number, k: number): void {
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const [o0, o1, o2, o3] = [r * k, (r + 1) * k, (r + 2) * k, (r + 3) * k];
    for (let i = 0; i < k; i++) {
      const hi = i * k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < k; j++) {
        const x = h[hi + j]!;
        s0 += x * e[o0 + j]!;
        s1 += x * e[o1 + j]!;
        s2 += x * e[o2 + j]!;
        s3 += x * e[o3 + j]!;
      }
      g[o0 + i] = s0;
      g[o1 + i] = s1;
      g[o2 + i] = s2;
      g[o3 + i] = s3;
    }
  }
  for (; r < rows; r++) symMatVec(h, k, e.subarray(r * k, (r + 1) * k), g.subarray(r * k, (r + 1) * k));
}

/**
 * rowsTimesSym by 4×4 tiles in WebAssembly SIMD (simd-kernels.ts): four rows of
 * H against four rows of E per pass over j, each g_ri still summed from 0 in
 * ascending j, as s − h_ij·(−e_rj), which IEEE 754 defines to be
 * s + h_ij·e_rj, so G equals rowsTimesSym's bit for bit. For products done
 * once per group (the loss, R·K² multiply-adds: 157 M at R = 256, K = 784);
 * AdaRound's per-step products stay on rowsTimesSym, whose small groups
 * would pay more to fill the workspace (a copy of H) than to multiply.
 */
export function rowsTimesSymTiled(e: Float64Array, h: Float64Array, g: Float64Array, rows: number, k: number): void {
  const arena = SimdArena.open([k * k, Math.ceil(rows / TILE) * TILE * k]);
  const [hw, negated] = arena.arrays as [Float64Array, Float64Array];
  hw.set(h.subarray(0, k * k));
  for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) negated[(r - (r % TILE)) * k + TILE * j + (r % TILE)] = -e[r * k + j]!;
  const acc = arena.acc;
  const last = k - 1;
  for (let i0 = 0; i0 < k; i0 += TILE) {
    const [a0, a1, a2, a3] = [i0, i0 + 1, i0 + 2, i0 + 3].map((i) => Math.min(i, last) * k) as [number, number, number, number];
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      acc.fill(0);
      arena.tile(hw, a0, a1, a2, a3, negated, r0 * k, 0, k);
      for (let a = 0; a < Math.min(TILE, k - i0); a++) for (let c = 0; c < Math.min(TILE, rows - r0); c++) g[(r0 + c) * k + i0 + a] = acc[a * TILE + c]!;
    }
  }
}
