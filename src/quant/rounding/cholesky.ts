/**
 * The O(K³) kernels of GPTQ and clip compensation, in 4×4 tiles:
 *
 *   H = L·Lᵀ                        (cholesky, L lower triangular)
 *   L_ij = (H_ij − Σ_{t<j} L_it·L_jt) / L_jj,   L_jj = √(H_jj − Σ_{t<j} L_jt²)
 *   M = L⁻¹                         M_jj = 1/L_jj,  M_ij = (0 − Σ_{j≤t<i} L_it·M_tj) / L_ii
 *   H⁻¹ = Mᵀ·M                      (H⁻¹)_ij = 0 + Σ_{t≥max(i,j)} M_ti·M_tj
 *
 * Every entry is a running sum over t, and the textbook loops add its terms
 * one by one in ascending t. The kernels here keep that: each entry's sum is
 * still one accumulator taking its terms in ascending t, one rounded multiply
 * and one rounded add or subtract per term (neither JavaScript nor
 * WebAssembly fuses them), so the results equal the textbook loops' bit for
 * bit; only which entries are computed side by side changes. The bulk of
 * every sum runs in a 4×4 tile of entries per pass over t (simd-kernels.ts,
 * WebAssembly SIMD), with M kept transposed so that every dot product runs
 * over contiguous rows; the four rows on the tile's other side are packed
 * side by side (p[4t + c]) as the tile reads them. The parts of a sum that
 * differ between the entries of a tile (where t starts or ends inside the
 * tile) are added one entry at a time, in their place in the order.
 *
 * Matrices are row-major Float64Array of K×K. Sums that add, like Mᵀ·M, run
 * through the subtracting tile as s − a·(−b), which IEEE 754 defines to be
 * s + a·b, signed zeros included.
 */

import { TILE, SimdArena } from "./simd-kernels.js";

const T = TILE;

/** The tile over rows i0 … i0 + 3 of `a` (K columns; rows past K − 1 read row K − 1, whose results the caller drops) against the packed rows at pBase. */
function tileRows(arena: SimdArena, a: Float64Array, i0: number, k: number, p: Float64Array, pBase: number, t0: number, t1: number): void {
  const last = k - 1;
  arena.tile(a, Math.min(i0, last) * k, Math.min(i0 + 1, last) * k, Math.min(i0 + 2, last) * k, Math.min(i0 + 3, last) * k, p, pBase, t0, t1);
}

/**
 * The Cholesky factor L of a symmetric positive-definite H (row-major; only
 * the lower triangle is read; zeros above in L), or undefined when a pivot is
 * not positive (H is singular or indefinite). Left-looking by blocks of four
 * columns: the terms t < j0 of a block's column sums by tiles, then the
 * block's columns one by one.
 */
export function cholesky(h: Float64Array, k: number): Float64Array | undefined {
  const arena = SimdArena.open([k * k, T * k]);
  const [l, packed] = arena.arrays as [Float64Array, Float64Array];
  const acc = arena.acc;
  for (let j0 = 0; j0 < k; j0 += T) {
    const jn = Math.min(T, k - j0);
    for (let t = 0; t < j0; t++) for (let c = 0; c < T; c++) packed[T * t + c] = c < jn ? l[(j0 + c) * k + t]! : 0;
    for (let i0 = j0; i0 < k; i0 += T) {
      const rows = Math.min(T, k - i0);
      for (let r = 0; r < T; r++) for (let c = 0; c < T; c++) acc[r * T + c] = r < rows && c < jn ? h[(i0 + r) * k + j0 + c]! : 0;
      tileRows(arena, l, i0, k, packed, 0, 0, j0);
      // Park the partial sums where L's entries will go.
      for (let r = 0; r < rows; r++) for (let c = 0; c < jn && j0 + c <= i0 + r; c++) l[(i0 + r) * k + j0 + c] = acc[r * T + c]!;
    }
    for (let j = j0; j < j0 + jn; j++) {
      const rj = j * k;
      let d = l[rj + j]!;
      for (let t = j0; t < j; t++) d -= l[rj + t]! * l[rj + t]!;
      if (!(d > 0)) return undefined;
      const ljj = Math.sqrt(d);
      l[rj + j] = ljj;
      for (let i = j + 1; i < k; i++) {
        const ri = i * k;
        let s = l[ri + j]!;
        for (let t = j0; t < j; t++) s -= l[ri + t]! * l[rj + t]!;
        l[ri + j] = s / ljj;
      }
    }
  }
  return l.slice();
}

/**
 * Mᵀ = (L⁻¹)ᵀ, upper triangular, row-major: row j of Mᵀ is column j of L⁻¹.
 * By tiles of four rows of M in order; inside a tile of columns j0.. the
 * terms t < j0 + 4 and t ≥ i0 are added entry by entry, the rest by the tile
 * (Mᵀ's rows j0 … j0 + 3 packed as they fill: packed[j0·K + 4t + c]).
 */
export function transposedInverseOfLower(lower: Float64Array, k: number): Float64Array {
  const kp = Math.ceil(k / T) * T;
  const arena = SimdArena.open([k * k, k * k, kp * k]);
  const [l, mt, packed] = arena.arrays as [Float64Array, Float64Array, Float64Array];
  l.set(lower);
  const acc = arena.acc;
  const put = (j: number, i: number, v: number) => {
    mt[j * k + i] = v;
    packed[(j - (j % T)) * k + T * i + (j % T)] = v;
  };
  for (let i0 = 0; i0 < k; i0 += T) {
    const rows = Math.min(T, k - i0);
    for (let j0 = 0; j0 < i0; j0 += T) {
      // Terms j ≤ t < j0 + 4, then j0 + 4 ≤ t < i0 by the tile, then i0 ≤ t < i (rows of M just finished).
      for (let r = 0; r < T; r++) {
        const ri = Math.min(i0 + r, k - 1) * k;
        for (let c = 0; c < T; c++) {
          const j = j0 + c;
          let s = 0;
          for (let t = j; t < j0 + T; t++) s -= l[ri + t]! * mt[j * k + t]!;
          acc[r * T + c] = s;
        }
      }
      tileRows(arena, l, i0, k, packed, j0 * k, j0 + T, i0);
      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        for (let c = 0; c < T; c++) {
          const j = j0 + c;
          let s = acc[r * T + c]!;
          for (let t = i0; t < i; t++) s -= l[i * k + t]! * mt[j * k + t]!;
          put(j, i, s / l[i * k + i]!);
        }
      }
    }
    // The diagonal tile, entry by entry.
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      put(i, i, 1 / l[i * k + i]!);
      for (let j = i0; j < i; j++) {
        let s = 0;
        for (let t = j; t < i; t++) s -= l[i * k + t]! * mt[j * k + t]!;
        put(j, i, s / l[i * k + i]!);
      }
    }
  }
  return mt.slice();
}

/**
 * H⁻¹ = Mᵀ·M from Mᵀ (upper, row-major): both triangles. Terms
 * i ≤ t < i0 + 4 entry by entry, the rest by the tile against −Mᵀ's rows
 * packed (negated[j0·K + 4t + c] = −Mᵀ[j0 + c, t]).
 */
export function gramOfUpperRows(upper: Float64Array, k: number): Float64Array {
  const kp = Math.ceil(k / T) * T;
  const arena = SimdArena.open([k * k, kp * k]);
  const [mt, negated] = arena.arrays as [Float64Array, Float64Array];
  mt.set(upper);
  for (let j = 0; j < k; j++) for (let t = 0; t < k; t++) negated[(j - (j % T)) * k + T * t + (j % T)] = -mt[j * k + t]!;
  const acc = arena.acc;
  const inv = new Float64Array(k * k);
  for (let i0 = 0; i0 < k; i0 += T) {
    const rows = Math.min(T, k - i0);
    const end = Math.min(i0 + T, k);
    for (let j0 = 0; j0 <= i0; j0 += T) {
      for (let r = 0; r < T; r++) {
        const i = Math.min(i0 + r, k - 1);
        for (let c = 0; c < T; c++) {
          const j = Math.min(j0 + c, k - 1);
          let s = 0;
          for (let t = i; t < end; t++) s += mt[i * k + t]! * mt[j * k + t]!;
          acc[r * T + c] = s;
        }
      }
      tileRows(arena, mt, i0, k, negated, j0 * k, end, k);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < T && j0 + c <= i0 + r; c++) {
          const [i, j] = [i0 + r, j0 + c];
          inv[i * k + j] = acc[r * T + c]!;
          inv[j * k + i] = acc[r * T + c]!;
        }
      }
    }
  }
  return inv;
}

/** H⁻¹ from H's Cholesky factor L: L⁻¹ by forward substitution, then (L⁻¹)ᵀ·L⁻¹. */
export function inverseFromCholesky(l: Float64Array, k: number): Float64Array {
  return gramOfUpperRows(transposedInverseOfLower(l, k), k);
}
