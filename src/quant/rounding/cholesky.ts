/**
 * The O(K³) kernels of GPTQ and clip compensation, register-blocked:
 *
 *   H = L·Lᵀ                        (cholesky, L lower triangular)
 *   L_ij = (H_ij − Σ_{t<j} L_it·L_jt) / L_jj,   L_jj = √(H_jj − Σ_{t<j} L_jt²)
 *   M = L⁻¹                         M_jj = 1/L_jj,  M_ij = (0 − Σ_{j≤t<i} L_it·M_tj) / L_ii
 *   H⁻¹ = Mᵀ·M                      (H⁻¹)_ij = 0 + Σ_{t≥max(i,j)} M_ti·M_tj
 *
 * Every entry is a running sum over t, and the textbook loops add its terms
 * one by one in ascending t. The kernels here keep that: each entry's sum is
 * still one accumulator taking its terms in ascending t, one rounded multiply
 * and one rounded add or subtract per term (JavaScript never fuses them), so
 * the results equal the textbook loops' bit for bit; only which entries are
 * computed side by side changes. The speed comes from a 4×4 tile of entries
 * per pass over t (tileDots: sixteen accumulators, eight loads per sixteen
 * multiply-adds instead of two per one) and from keeping M transposed, so
 * every dot product runs over two contiguous rows. The parts of a sum that
 * differ between the entries of a tile (where t starts or ends inside the
 * tile) are added one entry at a time, in their place in the order.
 *
 * Matrices are row-major Float64Array of K×K. Sums that add, like Mᵀ·M, run
 * through the subtracting tile as s − a·(−b), which IEEE 754 defines to be
 * s + a·b, signed zeros included.
 */

/** Entries per side of a tile. */
const T = 4;

/**
 * acc[4r + c] −= a[ar + t]·b[bc + t] for t = t0, t0 + 1, …, t1 − 1 in turn
 * (r, c in 0..3; ar = a0..a3 and bc = b0..b3 are row offsets).
 */
function tileDots(acc: Float64Array, a: Float64Array, a0: number, a1: number, a2: number, a3: number, b: Float64Array, b0: number, b1: number, b2: number, b3: number, t0: number, t1: number): void {
  if (t0 >= t1) return;
  let s00 = acc[0]!;
  let s01 = acc[1]!;
  let s02 = acc[2]!;
  let s03 = acc[3]!;
  let s10 = acc[4]!;
  let s11 = acc[5]!;
  let s12 = acc[6]!;
  let s13 = acc[7]!;
  let s20 = acc[8]!;
  let s21 = acc[9]!;
  let s22 = acc[10]!;
  let s23 = acc[11]!;
  let s30 = acc[12]!;
  let s31 = acc[13]!;
  let s32 = acc[14]!;
  let s33 = acc[15]!;
  for (let t = t0; t < t1; t++) {
    const x0 = a[a0 + t]!;
    const x1 = a[a1 + t]!;
    const x2 = a[a2 + t]!;
    const x3 = a[a3 + t]!;
    const y0 = b[b0 + t]!;
    const y1 = b[b1 + t]!;
    const y2 = b[b2 + t]!;
    const y3 = b[b3 + t]!;
    s00 -= x0 * y0;
    s01 -= x0 * y1;
    s02 -= x0 * y2;
    s03 -= x0 * y3;
    s10 -= x1 * y0;
    s11 -= x1 * y1;
    s12 -= x1 * y2;
    s13 -= x1 * y3;
    s20 -= x2 * y0;
    s21 -= x2 * y1;
    s22 -= x2 * y2;
    s23 -= x2 * y3;
    s30 -= x3 * y0;
    s31 -= x3 * y1;
    s32 -= x3 * y2;
    s33 -= x3 * y3;
  }
  acc.set([s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33]);
}

/** tileDots over rows i0.. of `a` and j0.. of `b` (K columns each); rows past K − 1 read row K − 1, whose results the caller drops. */
function tileAt(acc: Float64Array, a: Float64Array, i0: number, b: Float64Array, j0: number, k: number, t0: number, t1: number): void {
  const row = (i: number) => Math.min(i, k - 1) * k;
  tileDots(acc, a, row(i0), row(i0 + 1), row(i0 + 2), row(i0 + 3), b, row(j0), row(j0 + 1), row(j0 + 2), row(j0 + 3), t0, t1);
}

/**
 * The Cholesky factor L of a symmetric positive-definite H (row-major; only
 * the lower triangle is read; zeros above in L), or undefined when a pivot is
 * not positive (H is singular or indefinite). Left-looking by blocks of four
 * columns: the terms t < j0 of a block's column sums by tiles, then the
 * block's columns one by one.
 */
export function cholesky(h: Float64Array, k: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  const acc = new Float64Array(T * T);
  for (let j0 = 0; j0 < k; j0 += T) {
    const jn = Math.min(T, k - j0);
    for (let i0 = j0; i0 < k; i0 += T) {
      const rows = Math.min(T, k - i0);
      for (let r = 0; r < T; r++) for (let c = 0; c < T; c++) acc[r * T + c] = r < rows && c < jn ? h[(i0 + r) * k + j0 + c]! : 0;
      tileAt(acc, l, i0, l, j0, k, 0, j0);
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
  return l;
}

/**
 * Mᵀ = (L⁻¹)ᵀ, upper triangular, row-major: row j of Mᵀ is column j of L⁻¹.
 * By tiles of four rows of M in order; inside a tile of columns j0.. the
 * terms t < j0 + 4 and t ≥ i0 are added entry by entry, the rest by the tile.
 */
export function transposedInverseOfLower(l: Float64Array, k: number): Float64Array {
  const mt = new Float64Array(k * k);
  const acc = new Float64Array(T * T);
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
      tileAt(acc, l, i0, mt, j0, k, j0 + T, i0);
      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        for (let c = 0; c < T; c++) {
          const j = j0 + c;
          let s = acc[r * T + c]!;
          for (let t = i0; t < i; t++) s -= l[i * k + t]! * mt[j * k + t]!;
          mt[j * k + i] = s / l[i * k + i]!;
        }
      }
    }
    // The diagonal tile, entry by entry.
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      mt[i * k + i] = 1 / l[i * k + i]!;
      for (let j = i0; j < i; j++) {
        let s = 0;
        for (let t = j; t < i; t++) s -= l[i * k + t]! * mt[j * k + t]!;
        mt[j * k + i] = s / l[i * k + i]!;
      }
    }
  }
  return mt;
}

/** H⁻¹ = Mᵀ·M from Mᵀ (upper, row-major): both triangles. Terms i ≤ t < i0 + 4 entry by entry, the rest by the tile. */
export function gramOfUpperRows(mt: Float64Array, k: number): Float64Array {
  const neg = mt.map((x) => -x);
  const inv = new Float64Array(k * k);
  const acc = new Float64Array(T * T);
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
      tileAt(acc, mt, i0, neg, j0, k, end, k);
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
