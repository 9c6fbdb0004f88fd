/**
 * Stochastic-Gram AdaRound (`--adaround-chunks M`): the calibration samples
 * are cut into M contiguous chunks of ⌈S/M⌉ samples (sample s is in chunk
 * ⌊s/⌈S/M⌉⌋), and besides the layer's whole Gram matrix H each chunk keeps
 * its own, H_c = Σ_{x ∈ chunk c} x·xᵀ over its N_c input columns. Adam step t
 * then takes the reconstruction gradient of one chunk,
 *
 *   ∂/∂Ŵ = 2·(Ŵ − W)·H_c / N_c,   c = schedule[t]
 *
 * the gradient a minibatch of ⌈S/M⌉ samples gives (S = 512, M = 16: the 32
 * samples per step of the PyTorch anchor, bench/adaround_anchor.py) at the
 * Gram form's cost per step (R·K² multiply-adds, not 4·R·K·columns). The
 * schedule visits the non-empty chunks in a fresh seeded random order each
 * epoch, as the anchor reshuffles its samples; the last steps take the whole
 * H/N (adaround.ts EXACT_TAIL). Memory: (M + 1)·K² float32 per group on top
 * of H while the layer is rounded, whatever the number of samples.
 */
import { Rng } from "../../util/random.js";

/** The chunks of a layer's group, as the AdaRound step reads them: H_c / N_c, then H/N, [count + 1, K, K] row-major float32. */
export interface ChunkedGram {
  readonly h: Float32Array;
  /** Non-empty chunks. */
  readonly count: number;
}

export class ChunkGrams {
  /** Σ x·xᵀ by group: [chunks, K, K] float32. */
  readonly sub: Float32Array[];
  /** Input columns per chunk (the same in every group). */
  readonly columns: Float64Array;
  /** Samples per chunk, ⌈S/M⌉. */
  readonly perChunk: number;

  constructor(
    readonly chunks: number,
    samples: number,
    readonly groups: number,
    readonly cols: number,
  ) {
    this.perChunk = Math.max(1, Math.ceil(samples / chunks));
    this.sub = Array.from({ length: groups }, () => new Float32Array(chunks * cols * cols));
    this.columns = new Float64Array(chunks);
  }

  /** The chunk sample s belongs to. */
  chunkOf(sample: number): number {
    return Math.min(this.chunks - 1, Math.floor(sample / this.perChunk));
  }

  /** The first sample after chunk c (∞ for the last). */
  endOf(c: number): number {
    return c === this.chunks - 1 ? Number.POSITIVE_INFINITY : (c + 1) * this.perChunk;
  }

  /** Group g's slice of chunk c. */
  slice(g: number, c: number): Float32Array {
    const kk = this.cols * this.cols;
    return this.sub[g]!.subarray(c * kk, (c + 1) * kk);
  }

  /** Group g's non-empty chunks, each divided by its column count, then the whole H/N (index `count`). */
  normalized(g: number, whole: Float64Array, columns: number): ChunkedGram {
    const kk = this.cols * this.cols;
    const live = [...this.columns.keys()].filter((c) => this.columns[c]! > 0);
    const h = new Float32Array((live.length + 1) * kk);
    live.forEach((c, i) => {
      const src = this.slice(g, c);
      const inv = 1 / this.columns[c]!;
      for (let j = 0; j < kk; j++) h[i * kk + j] = src[j]! * inv;
    });
    const inv = 1 / Math.max(1, columns);
    for (let j = 0; j < kk; j++) h[live.length * kk + j] = whole[j]! * inv;
    return { h, count: live.length };
  }
}

/**
 * The chunk of each of `iters` steps: every epoch of `count` steps a seeded
 * random permutation of the chunks; from step `exactFrom` on, `count` (the
 * whole H/N).
 */
export function chunkSchedule(count: number, iters: number, seed: number, exactFrom = iters): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(iters);
  const perm = Int32Array.from({ length: count }, (_, i) => i);
  for (let t = 0; t < iters; t++) {
    const at = t % count;
    if (at === 0) {
      for (let i = count - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const s = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = s;
      }
    }
    out[t] = t >= exactFrom ? count : perm[at]!;
  }
  return out;
}
