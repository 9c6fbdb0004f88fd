/**
 * Minibatch steps of whole samples, with an exact tail, on token MatMuls: a
 * MatMul with a constant weight whose input has rank ≥ 3, [N, …, T, K], so
 * that one sample gives P = ∏ of the dims between N and K input columns
 * (the ViT's q, k, v, output and MLP projections: P = 16 tokens). With
 * `adaroundTokenBatch: B` such a layer takes, for the first
 * (1 − TOKEN_EXACT_TAIL) of its steps, the gradient of
 *
 *   Σ_r mean_{j∈batch} (e_r·x_j)²     over B·P columns drawn from the layer's column pool
 *
 * (adaround-batch.ts; the pool holds up to POOL_BATCHES batches, a uniform
 * sample of every column when the data has more) and then the whole
 * 2·E·H/N for the rest, so the final up/down choices are made on every
 * sample. These are the PyTorch anchor's minibatches of B samples, whose
 * noise the Gram form lacks. Default B = 32 (0: the Gram form): on the
 * bundled ViT at W3 (bench:rounding, rounds 9 and 10 in bench/README.md),
 * over four calibration sets of 512 images, B = 32 dropped 0.22 points of
 * top-1 on average against the Gram form's 0.38 (+0.16 ± 0.11, between-set
 * SE; −0.03 to +0.44 per set), at or above the anchor on every set and
 * anchor seed (the Gram form was 1.3–2.1 paired SE below it on the bundled
 * set), at 1.04–1.13× the Gram form's output KL on three sets of four; the
 * Gram form reaches the lower layer loss on held-out images. A step costs 2·R·K·B·P multiply-adds
 * instead of the Gram form's R·K²: 16× on the ViT (B·P = 512, K = 64;
 * 2.2× the quantize CPU time).
 *
 * Kept to the Gram form: convolutions (patches; the CNNs' rows measured in
 * rounds 6–8 use it), fully connected layers with one column per sample
 * (wide-layers.ts), inputs whose per-sample column count is not a known
 * constant, and data of at most B samples (a batch would be all of it).
 */
import type { Dim } from "../../ir/graph.js";
import type { Layer } from "../../passes/layers.js";
import type { AdaroundOptions } from "./adaround.js";
import type { LayerMatrix } from "./layer-matrix.js";

/** The share of a token layer's steps, the last ones, on the whole H/N. */
export const TOKEN_EXACT_TAIL = 0.3;

/** Input columns per sample of a rank ≥ 3 input [N, …, K]: the product of the dims between N and K, or undefined where one is not a known number. */
export function columnsPerSample(shape: readonly Dim[] | undefined): number | undefined {
  if (!shape || shape.length < 3) return undefined;
  let p = 1;
  for (const d of shape.slice(1, -1)) {
    if (typeof d !== "number" || d <= 0) return undefined;
    p *= d;
  }
  return p;
}

/** A token layer's options (minibatch steps of whole samples, exact tail), or undefined where the Gram form stays. `samples`: how many the calibration data holds. */
export function tokenLayerOptions(o: AdaroundOptions, l: Layer, m: LayerMatrix, inputShape: readonly Dim[] | undefined, samples: number): AdaroundOptions | undefined {
  if (o.tokenBatch <= 0 || o.batch > 0 || o.loss !== "pre" || o.chunks > 1) return undefined;
  if (l.kind !== "MatMul" || l.rank < 3 || m.groups !== 1 || samples <= o.tokenBatch) return undefined;
  const p = columnsPerSample(inputShape);
  if (p === undefined) return undefined;
  return { ...o, batch: o.tokenBatch * p, exactTail: o.exactTail > 0 ? o.exactTail : TOKEN_EXACT_TAIL };
}
