/**
 * Minibatch steps with an exact tail on wide fully connected layers. A
 * Gram-form AdaRound step costs R·K² multiply-adds (E·H) whatever the number
 * of samples; a minibatch step of b input columns costs 2·R·K·b
 * (adaround-batch.ts). A layer with one input column per sample (Gemm, or
 * MatMul on a 2-D input) and K ≥ 4·b is one where the Gram product is at
 * least twice the minibatch's work: the MLP's 784-input layer with b = 64
 * does 6× less per step. Convolutions and token MatMuls see b samples as
 * b·positions columns, so their Gram form is already the cheaper one.
 *
 * Such a layer takes minibatch steps of b samples for the first
 * (1 − WIDE_EXACT_TAIL) of its iterations and the whole H/N for the rest, in
 * two Loop phases that carry V and Adam's moments (adaround-loop.ts): the
 * final up/down choices are made on every sample, as chunk-grams.ts's exact
 * tail does for the same reason.
 */
import type { Layer } from "../../passes/layers.js";
import type { AdaroundOptions } from "./adaround.js";
import type { LayerMatrix } from "./layer-matrix.js";

/** The share of a wide layer's steps, the last ones, on the whole H/N. */
export const WIDE_EXACT_TAIL = 0.3;

/** A wide layer's options (minibatch steps, exact tail), or undefined where the Gram form stays: not asked, another step form asked for, or not a wide one-column-per-sample layer. */
export function wideLayerOptions(o: AdaroundOptions, l: Layer, m: LayerMatrix): AdaroundOptions | undefined {
  if (o.wideBatch <= 0 || o.batch > 0 || o.loss !== "pre" || o.chunks > 1) return undefined;
  if (l.rank !== 2 || m.groups !== 1 || m.cols < 4 * o.wideBatch) return undefined;
  return { ...o, batch: o.wideBatch, exactTail: o.exactTail > 0 ? o.exactTail : WIDE_EXACT_TAIL };
}
