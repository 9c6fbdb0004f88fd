/**
 * One group of a layer as a reconstruction problem: float weights W (R×K),
 * the Gram matrix H of the inputs seen (K×K, over N input columns) and the
 * grid of every weight. For codes Q with values Ŵ, the layer's mean squared
 * output error per input column, summed over output channels, is
 *
 *   loss(Q) = tr((Ŵ − W) · H · (Ŵ − W)ᵀ) / N
 *
 * which is what both GPTQ and AdaRound minimise and what the report shows.
 */
import type { ChunkedGram } from "./chunk-grams.js";
import { sumOfQuadraticForms } from "./dense.js";
import type { WeightGrid } from "./weight-grid.js";

export interface GroupProblem {
  readonly rows: number;
  readonly cols: number;
  /** W, row-major R×K. */
  readonly w: Float64Array;
  /** H, row-major K×K. */
  readonly h: Float64Array;
  /** Input columns H was accumulated over. */
  readonly columns: number;
  /** The grid, by flat weight index. */
  readonly grid: WeightGrid;
  /** Flat weight index of W[r, c] is index[r·K + c]. */
  readonly index: Int32Array;
  /** Set for stochastic-Gram AdaRound (chunk-grams.ts): the chunks' H_c/N_c, and the seed of their schedule. */
  readonly chunks?: ChunkedGram & { readonly seed: number };
}

/** loss(Q) for codes Q (R×K, row-major, in the problem's layout). */
export function reconstructionLoss(p: GroupProblem, codes: Int32Array): number {
  const e = new Float64Array(p.rows * p.cols);
  for (let at = 0; at < e.length; at++) e[at] = p.grid.value(p.index[at]!, codes[at]!) - p.w[at]!;
  const total = sumOfQuadraticForms(p.h, p.cols, e, p.rows);
  return total / Math.max(1, p.columns);
}
