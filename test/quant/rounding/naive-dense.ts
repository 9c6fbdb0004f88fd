/**
 * The textbook loops of the O(K³) dense kernels, one entry at a time, each
 * entry's sum in ascending t (cholesky.ts must equal them bit for bit):
 *
 *   L_ij = (H_ij − Σ_{t<j} L_it·L_jt) / L_jj,   L_jj = √(H_jj − Σ_{t<j} L_jt²)
 *   M = L⁻¹:  M_jj = 1/L_jj,  M_ij = (0 − Σ_{j≤t<i} L_it·M_tj) / L_ii
 *   H⁻¹ = Mᵀ·M:  (H⁻¹)_ij = 0 + Σ_{t≥max(i,j)} M_ti·M_tj
 *
 * Shared by the kernel tests and bench/rounding-kernels.ts (the naive rows).
 */

/** L with H = L·Lᵀ, or undefined when a pivot is not positive. */
export function naiveCholesky(h: Float64Array, k: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    let d = h[j * k + j]!;
    for (let t = 0; t < j; t++) d -= l[j * k + t]! * l[j * k + t]!;
    if (!(d > 0)) return undefined;
    l[j * k + j] = Math.sqrt(d);
    for (let i = j + 1; i < k; i++) {
      let s = h[i * k + j]!;
      for (let t = 0; t < j; t++) s -= l[i * k + t]! * l[j * k + t]!;
      l[i * k + j] = s / l[j * k + j]!;
    }
  }
  return l;
}

/** M = L⁻¹ (lower, row-major) by forward substitution, column by column. */
export function naiveLowerInverse(l: Float64Array, k: number): Float64Array {
  const m = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    m[j * k + j] = 1 / l[j * k + j]!;
    for (let i = j + 1; i < k; i++) {
      let s = 0;
      for (let t = j; t < i; t++) s -= l[i * k + t]! * m[t * k + j]!;
      m[i * k + j] = s / l[i * k + i]!;
    }
  }
  return m;
}

/** H⁻¹ = Mᵀ·M for M = L⁻¹ (lower): both triangles. */
export function naiveInverse(l: Float64Array, k: number): Float64Array {
  const m = naiveLowerInverse(l, k);
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = i; t < k; t++) s += m[t * k + i]! * m[t * k + j]!;
      inv[i * k + j] = s;
      inv[j * k + i] = s;
    }
  }
  return inv;
}
