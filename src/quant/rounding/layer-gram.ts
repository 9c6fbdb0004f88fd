/**
 * Streaming Gram matrices of a layer's inputs: H_g = Σ x̃_g · x̃_gᵀ over every
 * input column (im2col patch, ConvTranspose's transposed patch, or row) of every sample seen, one K×K float64
 * matrix per group (layer-matrix.ts). Columns are gathered, across samples
 * and batches, into a block of 1024 per group ([K, 1024] float32, exact
 * copies of ONNX Runtime's float32 values); a full block is multiplied out by
 * the Gram kernel (gram-kernel.ts: ORT's MatMul, float32 within the block)
 * and added into H in float64. Batches are dropped once added, so a layer
 * keeps G·K² doubles plus G blocks of K·1024 floats whatever the number of
 * samples: O(K²), not O(samples). With `chunks` set (chunk-grams.ts) a block
 * never spans two chunks of samples, and each block's product goes into its
 * chunk's Gram matrix too (M·K² more floats per group).
 */
import { FixqError } from "../../ir/errors.js";
import type { Node } from "../../ir/graph.js";
import type { HostTensor } from "../../runtime/ort-session.js";
import type { Layer } from "../../passes/layers.js";
import { symmetrize } from "./dense.js";
import type { ChunkGrams } from "./chunk-grams.js";
import type { ColumnPool } from "./column-pool.js";
import type { GramKernel } from "./gram-kernel.js";
import { convGeometry } from "../../ir/conv-geometry.js";
import { convTransposeGeometry, type LayerMatrix, writePatches, writeTransposedPatches } from "./layer-matrix.js";

/** Input columns per Gram product. */
export const GRAM_BLOCK = 1024;

export class LayerGram {
  /** H_g, row-major K×K, by group. */
  readonly h: Float64Array[];
  /** Input columns added (per group). */
  columns = 0;
  private readonly blocks: Float32Array[];
  /** Columns filled in every group's block. */
  private fill = 0;
  /** Set for minibatch AdaRound: a uniform sample of the columns (column-pool.ts). */
  pool?: ColumnPool;
  /** Set for stochastic-Gram AdaRound: the Gram matrix of each chunk of samples (chunk-grams.ts). */
  chunks?: ChunkGrams;
  /** The chunk the filled columns belong to. */
  private chunk = 0;

  constructor(
    readonly layer: Layer,
    readonly node: Node,
    readonly m: LayerMatrix,
    private readonly kernel: GramKernel,
  ) {
    this.h = Array.from({ length: m.groups }, () => new Float64Array(m.cols * m.cols));
    this.blocks = Array.from({ length: m.groups }, () => new Float32Array(m.cols * GRAM_BLOCK));
  }

  /** Adds one batch of the layer's input: samples start … start + samples − 1 of the calibration data. */
  async add(t: HostTensor, start = 0, samples = t.dims[0] ?? 1): Promise<void> {
    const x = t.data as Float32Array;
    if (!(x instanceof Float32Array)) throw new FixqError("runtime", `learned rounding reads float32 layer inputs, '${this.layer.input}' is not`);
    const k = this.m.cols;
    if (this.layer.kind === "Conv" || this.layer.kind === "ConvTranspose") {
      const [n, c, ...spatial] = t.dims;
      const transposed = this.layer.kind === "ConvTranspose";
      const geo = (transposed ? convTransposeGeometry : convGeometry)(this.node, spatial, this.layer.weightDims.slice(2));
      const write = transposed ? writeTransposedPatches : writePatches;
      const positions = geo.outSize.reduce((a, b) => a * b, 1);
      const cg = c! / this.m.groups;
      const sample = c! * spatial.reduce((a, b) => a * b, 1);
      for (let s = 0; s < n!; s++) {
        await this.enter(start + s);
        for (let p0 = 0; p0 < positions; ) {
          const count = Math.min(positions - p0, GRAM_BLOCK - this.fill);
          for (let g = 0; g < this.m.groups; g++) write(x, s * sample, geo, g, cg, this.blocks[g]!, GRAM_BLOCK, this.fill, p0, count);
          p0 += count;
          await this.advance(count);
        }
      }
      return;
    }
    // Rows of X [rows, K]; with transA, columns of A [K, rows].
    const transA = this.m.transA === true;
    const features = transA ? t.dims[0] : t.dims[t.dims.length - 1];
    if (features !== k) throw new FixqError("runtime", `layer input '${this.layer.input}' has ${features} features, the weight reads ${k}`);
    const rows = x.length / k;
    const perSample = Math.max(1, Math.floor(rows / Math.max(1, samples)));
    const pt = this.blocks[0]!;
    for (let r0 = 0; r0 < rows; ) {
      // Rows r0 … up to the end of the chunk of r0's sample.
      const sample = start + Math.floor(r0 / perSample);
      await this.enter(sample);
      const chunkEnd = this.chunks ? (this.chunks.endOf(this.chunk) - start) * perSample : rows;
      const count = Math.min(rows - r0, chunkEnd - r0, GRAM_BLOCK - this.fill);
      for (let b = 0; b < count; b++) {
        const r = r0 + b;
        for (let c = 0; c < k; c++) pt[c * GRAM_BLOCK + this.fill + b] = transA ? x[c * rows + r]! : x[r * k + c]!;
      }
      r0 += count;
      await this.advance(count);
    }
  }

  /** Before columns of sample s: the filled block is flushed if s starts another chunk. */
  private async enter(sample: number): Promise<void> {
    if (!this.chunks) return;
    const c = this.chunks.chunkOf(sample);
    if (c === this.chunk) return;
    await this.flush();
    this.chunk = c;
  }

  private async advance(count: number): Promise<void> {
    this.fill += count;
    this.columns += count;
    if (this.fill === GRAM_BLOCK) await this.flush();
  }

  /** Multiplies out the filled columns of every group's block. */
  private async flush(): Promise<void> {
    const k = this.m.cols;
    const b = this.fill;
    if (b === 0) return;
    this.pool?.offer(this.blocks, GRAM_BLOCK, b);
    for (let g = 0; g < this.m.groups; g++) {
      let p = this.blocks[g]!;
      if (b < GRAM_BLOCK) {
        // A partial block: its columns, compacted to [K, b].
        const full = p;
        p = new Float32Array(k * b);
        for (let i = 0; i < k; i++) p.set(full.subarray(i * GRAM_BLOCK, i * GRAM_BLOCK + b), i * b);
      }
      await this.kernel.add(this.h[g]!, p, k, b, this.chunks?.slice(g, this.chunk));
    }
    if (this.chunks) this.chunks.columns[this.chunk] += b;
    this.fill = 0;
  }

  /** Completes the matrices once every batch is in. */
  async finish(): Promise<void> {
    await this.flush();
    for (const h of this.h) symmetrize(h, this.m.cols);
    this.blocks.length = 0;
  }
}
