/**
 * A linear layer as matrices: y_g = W_g · x_g per group g, W_g of R rows
 * (output channels) × K columns (the inputs one output reads), and the input
 * columns x_g that the layer's input tensor provides.
 *
 *   Conv  W[M, C/G, k…]: G groups, R = M/G, K = (C/G)·Πk; x_g is the im2col
 *         patch of input channels [g·C/G, (g+1)·C/G) at one output position,
 *         ordered (c, k…) like the weight (0 where the window reads padding).
 *   ConvTranspose W[C, M/G, k…]: G groups, R = M/G, K = (C/G)·Πk; x_g is the
 *         transposed patch of output position o: element (c, k…) is the input
 *         x[g·C/G + c, i] with o = i·s − pb + k·d, i.e. i = (o + pb − k·d)/s
 *         when that is a whole number inside the input, else 0. Explicit pads
 *         (and output_padding) only: no auto_pad, no output_shape.
 *   Gemm  B[N, K] (transB = 1) or B[K, N]; MatMul B[K, N]: G = 1, R = N; x is
 *         one row of the input (every leading index of a MatMul input is a row),
 *         or one column of A [K, M] for a Gemm with transA = 1 (`transA`).
 *
 * `index[(g·R + r)·K + c]` is the flat weight index of W_g[r, c].
 */
import { attrInt, attrInts, attrString } from "../../ir/attrs.js";
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
  if (layer.kind === "ConvTranspose") {
    const groups = attrInt(n, "group", 1);
    const [c, rows] = [dims[0]!, dims[1]!];
    const taps = dims.slice(2).reduce((a, b) => a * b, 1);
    const cg = c / groups;
    if (dims.length > 4) return { reason: `a ${dims.length - 2}-D transposed convolution (1-D and 2-D only)` };
    if ((attrString(n, "auto_pad") ?? "NOTSET") !== "NOTSET" || attrInts(n, "output_shape")) return { reason: "a ConvTranspose with auto_pad or output_shape (explicit pads only)" };
    const index = new Int32Array(groups * rows * cg * taps);
    for (let g = 0; g < groups; g++) for (let r = 0; r < rows; r++) for (let ci = 0; ci < cg; ci++) for (let t = 0; t < taps; t++) index[((g * rows + r) * cg + ci) * taps + t] = ((g * cg + ci) * rows + r) * taps + t;
    return { groups, rows, cols: cg * taps, index };
  }
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
  writeWindows(x, offset, geo, g, cg, pt, stride, col, p0, count, false);
}

/** As writePatches, for ConvTranspose: the transposed patches of output positions [p0, p0 + count) (geometry from convTransposeGeometry). */
export function writeTransposedPatches(x: Float32Array, offset: number, geo: ConvGeometry, g: number, cg: number, pt: Float32Array | Float64Array, stride: number, col: number, p0: number, count: number): void {
  writeWindows(x, offset, geo, g, cg, pt, stride, col, p0, count, true);
}

/**
 * Input (ih, iw) read by tap (kh, kw) at output (oh, ow): Conv's
 * ih = oh·s − pb + kh·d, or ConvTranspose's ih = (oh + pb − kh·d)/s where a
 * whole number (0 where outside the input or not whole).
 */
function writeWindows(x: Float32Array, offset: number, geo: ConvGeometry, g: number, cg: number, pt: Float32Array | Float64Array, stride: number, col: number, p0: number, count: number, transposed: boolean): void {
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
          let ih: number;
          let iw: number;
          if (transposed) {
            const th = oh + PH! - kh * DH!;
            const tw = ow + PW! - kw * DW!;
            ih = th % SH! === 0 ? th / SH! : -1;
            iw = tw % SW! === 0 ? tw / SW! : -1;
          } else {
            ih = oh * SH! - PH! + kh * DH!;
            iw = ow * SW! - PW! + kw * DW!;
          }
          pt[row + b] = ih >= 0 && ih < IH! && iw >= 0 && iw < IW! ? x[base + ih * IW! + iw]! : 0;
        }
      }
    }
  }
}

/**
 * ConvTranspose's geometry in ConvGeometry's terms: per spatial dim, input
 * size I, kernel k, stride s, dilation d, leading pad pb (explicit pads) and
 * output size O = s·(I − 1) + output_padding + d·(k − 1) + 1 − pb − pe.
 */
export function convTransposeGeometry(n: Node, inSize: readonly number[], kernel: readonly number[]): ConvGeometry {
  const nd = kernel.length;
  const [strides, dils, pads, outPad] = [attrInts(n, "strides") ?? [], attrInts(n, "dilations") ?? [], attrInts(n, "pads") ?? [], attrInts(n, "output_padding") ?? []];
  const stride = kernel.map((_, j) => strides[j] ?? 1);
  const dilation = kernel.map((_, j) => dils[j] ?? 1);
  const padBegin = kernel.map((_, j) => pads[j] ?? 0);
  const outSize = kernel.map((k, j) => stride[j]! * (inSize[j]! - 1) + (outPad[j] ?? 0) + dilation[j]! * (k - 1) + 1 - padBegin[j]! - (pads[j + nd] ?? 0));
  return { inSize, kernel, stride, dilation, padBegin, outSize };
}
