/**
 * A 4×4 tile of running dot products, the inner loop of the O(K³) kernels
 * (cholesky.ts) and of GPTQ's lazy block update (gptq.ts):
 *
 *   acc[4r + c] ← acc[4r + c] − Σ_{t0 ≤ t < t1} a_r[t] · b_c[t]
 *
 * over four rows a_r of one matrix and four rows b_c of another, each entry
 * taking its terms one at a time in ascending t (one rounded multiply and
 * one rounded subtract per term, which JavaScript never fuses), exactly as a
 * loop over one entry would. Sixteen accumulators take eight loads per
 * sixteen multiply-subtracts, where one entry at a time takes two per one.
 */

/** Entries per side of a tile. */
export const TILE = 4;

/**
 * acc[4r + c] −= a[ar + t]·b[bc + t] for t = t0, t0 + 1, …, t1 − 1 in turn
 * (r, c in 0..3; ar = a0..a3 and bc = b0..b3 are row offsets).
 */
export function tileDots(acc: Float64Array, a: Float64Array, a0: number, a1: number, a2: number, a3: number, b: Float64Array, b0: number, b1: number, b2: number, b3: number, t0: number, t1: number): void {
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
export function tileAt(acc: Float64Array, a: Float64Array, i0: number, b: Float64Array, j0: number, k: number, t0: number, t1: number): void {
  const last = k - 1;
  tileDots(acc, a, Math.min(i0, last) * k, Math.min(i0 + 1, last) * k, Math.min(i0 + 2, last) * k, Math.min(i0 + 3, last) * k, b, Math.min(j0, last) * k, Math.min(j0 + 1, last) * k, Math.min(j0 + 2, last) * k, Math.min(j0 + 3, last) * k, t0, t1);
}
