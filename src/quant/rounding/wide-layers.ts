/**
 * Cheaper steps on wide fully connected layers. A Gram-form AdaRound step
 * costs R·K² multiply-adds (E·H) whatever the number of samples. A layer
 * with one input column per sample (Gemm, or MatMul on a 2-D input) and
 * K ≥ 4·q, q = wideRank (or wideBatch when wideRank is 0), takes instead
 *
 * - by default, steps on H's rank-q plus diagonal approximation
 *   (low-rank-gram.ts): G = (E·Uᵀ)·(Λ·U) + E·diag(d), 2·R·K·q multiply-adds,
 *   every step (no exact tail unless `adaroundExactTail` asks for one): the
 *   MLP's 784-input layer with q = 64 does 6× less per step. Deterministic,
 *   without a minibatch's sampling noise: on the MLP it reconstructs better
 *   than minibatches with a 30% exact tail (about 0.8× their layer loss on
 *   its two wide layers at W4 and W3, bench/README round 11) at 0.75× the
 *   layer's time;
 * - with wideRank 0, minibatch steps of wideBatch samples (adaround-batch.ts)
 *   for the first (1 − WIDE_EXACT_TAIL) of its iterations and the whole H/N
 *   for the rest, in two Loop phases that carry V and Adam's moments
 *   (adaround-loop.ts), so the final up/down choices are made on every
 *   sample, as chunk-grams.ts's exact tail does for the same reason.
 *
 * Convolutions and token MatMuls see a batch of b samples as b·positions
 * columns, so their Gram form is already the cheaper one.
 */
import type { Layer } from "../../passes/layers.js";
import type { AdaroundOptions } from "./adaround.js";
import type { LayerMatrix } from "./layer-matrix.js";

/** The share of a wide layer's minibatch steps, the last ones, on the whole H/N. */
export const WIDE_EXACT_TAIL = 0.3;

/**
 * A wide layer's options, or undefined where the Gram form stays: not asked,
 * another step form asked for, or not a wide one-column-per-sample layer.
 * Minibatch steps: `batch` > 0; low-rank steps: `batch` 0 and `wideRank` > 0.
 */
export function wideLayerOptions(o: AdaroundOptions, l: Layer, m: LayerMatrix): AdaroundOptions | undefined {
  if (o.wideBatch <= 0 || o.batch > 0 || o.loss !== "pre" || o.chunks > 1) return undefined;
  const width = o.wideRank > 0 ? o.wideRank : o.wideBatch;
  if (l.rank !== 2 || m.groups !== 1 || m.cols < 4 * width) return undefined;
  if (o.wideRank > 0) return { ...o, batch: 0 };
  return { ...o, batch: o.wideBatch, exactTail: o.exactTail > 0 ? o.exactTail : WIDE_EXACT_TAIL };
}
