/**
 * Streaming Gram matrices of a layer's inputs: H_g = Σ x̃_g · x̃_gᵀ over every
 * input column (im2col patch or row) of every sample seen, one K×K float64
 * matrix per group (layer-matrix.ts). Batches are added as ONNX Runtime
 * returns them and then dropped, so a layer keeps G·K² doubles (plus one
 * K×256 patch block) whatever the number of samples: O(K²), not O(samples).
 */
import { FixqError } from "../../ir/errors.js";
import type { Node } from "../../ir/graph.js";
import type { HostTensor } from "../../runtime/ort-session.js";
import type { Layer } from "../../passes/layers.js";
import { accumulateGram, symmetrize } from "./dense.js";
import { convGeometry, forEachPatchBlock, type LayerMatrix } from "./layer-matrix.js";

/** Patches per Gram update. */
const BLOCK = 256;

export class LayerGram {
  /** H_g, row-major K×K, by group. */
  readonly h: Float64Array[];
  /** Input columns added (per group). */
  columns = 0;
  private readonly pt: Float64Array;

  constructor(
    readonly layer: Layer,
    readonly node: Node,
    readonly m: LayerMatrix,
  ) {
    this.h = Array.from({ length: m.groups }, () => new Float64Array(m.cols * m.cols));
    this.pt = new Float64Array(m.cols * BLOCK);
  }

  /** Adds one batch of the layer's input. */
  add(t: HostTensor): void {
    const x = t.data as Float32Array;
    if (!(x instanceof Float32Array)) throw new FixqError("runtime", `learned rounding reads float32 layer inputs, '${this.layer.input}' is not`);
    const k = this.m.cols;
    if (this.layer.kind === "Conv") {
      const [n, c, ...spatial] = t.dims;
      const kernel = this.layer.weightDims.slice(2);
      const geo = convGeometry(this.node, spatial, kernel);
      const cg = c! / this.m.groups;
      const sample = c! * spatial.reduce((a, b) => a * b, 1);
      for (let s = 0; s < n!; s++) {
        for (let g = 0; g < this.m.groups; g++) {
          const h = this.h[g]!;
          forEachPatchBlock(x, s * sample, geo, g, cg, this.pt, BLOCK, (pt, count) => {
            accumulateGram(h, k, pt, count, BLOCK);
            if (g === 0) this.columns += count;
          });
        }
      }
      return;
    }
    if (t.dims[t.dims.length - 1] !== k) throw new FixqError("runtime", `layer input '${this.layer.input}' has ${t.dims[t.dims.length - 1]} features, the weight reads ${k}`);
    const rows = x.length / k;
    const pt = this.pt;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const count = Math.min(BLOCK, rows - r0);
      for (let b = 0; b < count; b++) {
        const src = (r0 + b) * k;
        for (let c = 0; c < k; c++) pt[c * BLOCK + b] = x[src + c]!;
      }
      accumulateGram(this.h[0]!, k, pt, count, BLOCK);
      this.columns += count;
    }
  }

  /** Completes the matrices (upper triangles) once every batch is in. */
  finish(): void {
    for (const h of this.h) symmetrize(h, this.m.cols);
  }
}
