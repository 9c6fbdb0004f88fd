/**
 * A linear layer as matrices: y_g = W_g · x_g per group g, W_g of R rows
 * (output channels) × K columns (the inputs one output reads), and the input
 * columns x_g that the layer's input tensor provides.
 *
 *   Conv  W[M, C/G, k…]: G groups, R = M/G, K = (C/G)·Πk; x_g is the im2col
 *         patch of input channels [g·C/G, (g+1)·C/G) at one output position,
 *         ordered (c, k…) like the weight (0 where the window reads padding).
 *   Gemm  B[N, K] (transB = 1) or B[K, N]; MatMul B[K, N]: G = 1, R = N; x is
 *         one row of the input (every leading index of a MatMul input is a row),
 *         or one column of A [K, M] for a Gemm with transA = 1 (`transA`).
 *
 * `index[(g·R + r)·K + c]` is the flat weight index of W_g[r, c].
 */
import { attrInt } from "../../ir/attrs.js";
import type { ConvGeometry } from "../../ir/conv-geometry.js";
import type { Node } from "../../ir/graph.js";
import type { Layer } from "../../passes/layers.js";

export interface LayerMatrix {
  readonly groups: number;
  readonly rows: number;
  readonly cols: number;
  readonly index: Int32Array;
  /** Gemm with transA = 1: the input is A [K, M], one input column per column of A. */
  readonly transA?: boolean;
}

/** The matrix view of `layer`'s weight, or why it has none. */
export function layerMatrix(layer: Layer, n: Node): LayerMatrix | { reason: string } {
  const dims = layer.weightDims;
  if (layer.kind === "Conv") {
    const groups = attrInt(n, "group", 1);
    const rows = dims[0]! / groups;
    const cols = dims.slice(1).reduce((a, b) => a * b, 1);
    if (dims.length > 4) return { reason: `a ${dims.length - 2}-D convolution (1-D and 2-D only)` };
    return { groups, rows, cols, index: Int32Array.from({ length: dims[0]! * cols }, (_, k) => k) };
  }
  if (layer.kind === "ConvTranspose") return { reason: "ConvTranspose is not supported by learned rounding yet" };
  const transposed = layer.kind === "Gemm" && attrInt(n, "transB", 0) === 1;
  const [rows, cols] = [layer.outChannels, layer.inChannels];
  const index = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) index[r * cols + c] = transposed ? r * cols + c : c * rows + r;
  return { groups: 1, rows, cols, index, ...(layer.kind === "Gemm" && attrInt(n, "transA", 0) === 1 ? { transA: true } : {}) };
}

/**
 * Writes the im2col patches of output positions [p0, p0 + count) of group g
 * of one sample into columns [col, col + count) of `pt` (`pt[i·stride + c]`:
 * element i of the patch in column c): `x` holds the sample's input
 * [C, spatial…] (C-order) from `offset`, `cg` is the channels per group.
 * 1-D convs are 2-D convs of height 1.
 */
export function writePatches(x: Float32Array, offset: number, geo: ConvGeometry, g: number, cg: number, pt: Float32Array | Float64Array, stride: number, col: number, p0: number, count: number): void {
  const two = geo.kernel.length === 2;
  const [IH, IW] = two ? geo.inSize : [1, geo.inSize[0]!];
  const [KH, KW] = two ? geo.kernel : [1, geo.kernel[0]!];
  const [SH, SW] = two ? geo.stride : [1, geo.stride[0]!];
  const [DH, DW] = two ? geo.dilation : [1, geo.dilation[0]!];
  const [PH, PW] = two ? geo.padBegin : [0, geo.padBegin[0]!];
  const OW = two ? geo.outSize[1]! : geo.outSize[0]!;
  const plane = IH! * IW!;
  for (let c = 0; c < cg; c++) {
    const base = offset + (g * cg + c) * plane;
    for (let kh = 0; kh < KH!; kh++) {
      for (let kw = 0; kw < KW!; kw++) {
        const row = ((c * KH! + kh) * KW! + kw) * stride + col;
        for (let b = 0; b < count; b++) {
          const p = p0 + b;
          const oh = Math.floor(p / OW);
          const ow = p - oh * OW;
          const ih = oh * SH! - PH! + kh * DH!;
          const iw = ow * SW! - PW! + kw * DW!;
          pt[row + b] = ih >= 0 && ih < IH! && iw >= 0 && iw < IW! ? x[base + ih * IW! + iw]! : 0;
        }
      }
    }
  }
}
