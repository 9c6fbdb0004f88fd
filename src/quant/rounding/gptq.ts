/**
 * GPTQ (Frantar et al. 2022, after Optimal Brain Quantization) on one group
 * of a layer (problem.ts). With H the inputs' Gram matrix, damped,
 *
 *   H ← H + λ·I,  λ = damp · mean(diag H)
 *   U = upper Cholesky factor of H⁻¹ (H⁻¹ = Uᵀ·U)
 *
 * columns are quantized one at a time, in order (or by descending diag H
 * with act-order), and the error of column i feeds into the columns after it:
 *
 *   q_i = nearest(w_i),  e = (w_i − q_i) / U_ii,  w_j ← w_j − e · U_ij  (j > i)
 *
 * The updates are lazy: inside a block of `lazyBatch` columns they apply to
 * the block only, and to the columns after it once per block as one product.
 * Dead inputs (H_ii = 0, never nonzero in the data) get H_ii = 1: their
 * columns round to nearest and feed no error. When H stays singular after
 * damping, λ grows tenfold (from at least 10⁻⁴, up to 4 times) and the result
 * says so (dense.ts dampedInverse).
 *
 * Scales are the recipe's, fixed before rounding ("static groups"), so with
 * act-order every `per-block:N` block keeps its scale on its original,
 * contiguous columns, as DequantizeLinear needs; the permutation is undone on
 * output.
 */
import { cholesky, dampedInverse, dampings } from "./dense.js";
import type { GroupProblem } from "./problem.js";
import { TILE, SimdArena } from "./simd-kernels.js";

const T = TILE;

export interface GptqOptions {
  readonly damp: number;
  readonly lazyBatch: number;
  readonly actOrder: boolean;
}

/**
 * Act-order on by default: measured in bench:rounding (full test set, 1
 * thread, drop in points), without → with: resnet W4 0.39 → 0.35, W3
 * 0.84 → 0.80, int4 per-block:32 0.33 → 0.21, MXFP4 4.01 → 1.95;
 * mobilenetv2 W4 0.61 → 0.39, per-block:32 0.66 → 0.48, MXFP4 2.84 → 1.94,
 * W3 2.01 → 2.10 (the one row not better, within one standard error).
 */
export const GPTQ_DEFAULTS: GptqOptions = { damp: 0.01, lazyBatch: 128, actOrder: true };

export interface GptqResult {
  /** Codes, R×K in the problem's layout. */
  readonly codes: Int32Array;
  /** The damping factor used (larger than asked when H was singular). */
  readonly damp: number;
}

/**
 * The upper Cholesky factor U of (H + λI)⁻¹ for the first damping of
 * `dampings(damp)` that makes H positive definite, and Uᵀ (the lower factor).
 */
function inverseFactor(h: Float64Array, k: number, damp: number): { u: Float64Array; ut: Float64Array; damp: number } | undefined {
  for (const d of dampings(damp)) {
    const inv = dampedInverse(h, k, d);
    const ut = inv && cholesky(inv, k);
    if (!ut) continue;
    const u = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = i; j < k; j++) u[i * k + j] = ut[j * k + i]!;
    return { u, ut, damp: d };
  }
  return undefined;
}

/**
 * A block's errors fed to every later column at once: W[:, i2:] −= E·U[i1:i2, i2:]
 * (E row-major R×B in the arena, its column t the error of column i1 + t;
 * U[i, j] read as Uᵀ[j, i]). Four rows by four columns at a time
 * (simd-kernels.ts, Uᵀ's rows packed side by side for the block), each weight
 * taking the block's terms in column order, as a loop over one row does.
 * Rows and columns past the end read the last one, whose results are dropped.
 */
function feedBlock(w: Float64Array, rows: number, k: number, arena: SimdArena, b: number, ut: Float64Array, i1: number, i2: number): void {
  const [err, packed] = arena.arrays as [Float64Array, Float64Array];
  const n = i2 - i1;
  for (let j0 = i2; j0 < k; j0 += T) {
    for (let c = 0; c < T; c++) {
      const row = Math.min(j0 + c, k - 1) * k + i1;
      for (let t = 0; t < n; t++) packed[(j0 - i2) * n + T * t + c] = ut[row + t]!;
    }
  }
  const acc = arena.acc;
  const row = (r: number) => Math.min(r, rows - 1);
  const col = (j: number) => Math.min(j, k - 1);
  for (let r0 = 0; r0 < rows; r0 += T) {
    for (let j0 = i2; j0 < k; j0 += T) {
      for (let r = 0; r < T; r++) for (let c = 0; c < T; c++) acc[r * T + c] = w[row(r0 + r) * k + col(j0 + c)]!;
      arena.tile(err, row(r0) * b, row(r0 + 1) * b, row(r0 + 2) * b, row(r0 + 3) * b, packed, (j0 - i2) * n, 0, n);
      for (let r = 0; r < Math.min(T, rows - r0); r++) for (let c = 0; c < Math.min(T, k - j0); c++) w[(r0 + r) * k + j0 + c] = acc[r * T + c]!;
    }
  }
}

/** GPTQ codes for one group; undefined when H cannot be made positive definite. */
export function gptq(p: GroupProblem, opts: GptqOptions = GPTQ_DEFAULTS): GptqResult | undefined {
  const { rows: R, cols: K } = p;
  // Column order: descending diag H with act-order (ties by index), else as is.
  const perm = Int32Array.from({ length: K }, (_, i) => i);
  if (opts.actOrder) perm.sort((a, b) => p.h[b * K + b]! - p.h[a * K + a]! || a - b);
  const h = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) h[i * K + j] = p.h[perm[i]! * K + perm[j]!]!;
  const f = inverseFactor(h, K, opts.damp);
  if (!f) return undefined;
  const { u, ut } = f;
  const codes = new Int32Array(R * K);
  const B = Math.max(1, opts.lazyBatch);
  // The errors of a block, Uᵀ's rows packed for feedBlock, W (permuted), one row of U.
  const arena = SimdArena.open([R * B, Math.ceil(K / T) * T * B, R * K, B]);
  const [err, , w, uRow] = arena.arrays as [Float64Array, Float64Array, Float64Array, Float64Array];
  for (let r = 0; r < R; r++) for (let i = 0; i < K; i++) w[r * K + i] = p.w[r * K + perm[i]!]!;
  for (let i1 = 0; i1 < K; i1 += B) {
    const i2 = Math.min(i1 + B, K);
    for (let i = i1; i < i2; i++) {
      const d = u[i * K + i]!;
      const col = perm[i]!;
      for (let r = 0; r < R; r++) {
        const x = w[r * K + i]!;
        const flat = p.index[r * K + col]!;
        const q = p.grid.nearest(flat, x);
        codes[r * K + col] = q;
        err[r * B + (i - i1)] = (x - p.grid.value(flat, q)) / d;
      }
      // Inside the block: W[:, i+1:i2] −= e·U[i, i+1:i2], two columns per f64x2, an odd last one here.
      const ui = i * K;
      const pairs = (i2 - i - 1) >> 1;
      uRow.set(u.subarray(ui + i + 1, ui + i + 1 + 2 * pairs));
      arena.rank1(w, i + 1, K, err, i - i1, B, uRow, R, pairs);
      const j = i + 1 + 2 * pairs;
      if (j < i2) for (let r = 0; r < R; r++) w[r * K + j] -= err[r * B + (i - i1)]! * u[ui + j]!;
    }
    feedBlock(w, R, K, arena, B, ut, i1, i2);
  }
  return { codes, damp: f.damp };
}
