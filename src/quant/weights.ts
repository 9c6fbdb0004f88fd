/**
 * Integer weight quantization: per tensor, per output channel, or per block
 * along the weight's reduction (input) axis. The group layouts and the affine
 * arithmetic are the numerics module's (numerics/groups.ts, int-group.ts);
 * float formats are in float-weights.ts.
 *
 * Signed formats are symmetric (zero point 0), unsigned ones asymmetric over
 * [min(w, 0), max(w, 0)] of each group.
 *
 * Blocks (`per-block:N`, int4/uint4) run along the axis the op sums over:
 * Conv input channels (axis 1), ConvTranspose axis 0, Gemm K (axis 1 with
 * transB, else 0), MatMul the second-to-last axis. The last block may be
 * shorter than N, as ONNX's DequantizeLinear-21 allows (scale dims
 * ceil(D/N) along the axis). For a Conv the reduction also runs over the
 * kernel window, which blocks do not span: each (output channel, kernel
 * position) has its own blocks. A weight whose reduction axis has a single
 * element (depthwise and 1-channel-input convs) or is unknown (1-D MatMul
 * weights) would get one scale per element; it is quantized per output
 * channel instead.
 */
import { attrInt } from "../ir/attrs.js";
import type { Node } from "../ir/graph.js";
import { FixqError } from "../ir/errors.js";
import { DataType } from "../ir/dtype.js";
import { type AffineQuant, type BlockQuant, type IntFormat, type IntQuantSpec, intFormat, isIntSpec, type QuantSpec } from "../ir/quant.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { blockLayout, channelGroups, type Groups } from "../numerics/groups.js";
import { clippedGroupParams } from "../numerics/int-group-clip.js";
import { dequantizeIntGroups, intGroupParams, quantizeIntGroups } from "../numerics/int-group.js";
import { decodeFloatWeight, encodeFloatValues } from "./float-weights.js";
import type { WeightUse } from "./plan.js";
import { fixedCodes } from "./fixed-formats.js";
import type { Granularity } from "./recipe.js";

function quantizeGroups(values: Float64Array, groups: Groups, f: IntFormat) {
  const { scale, zeroPoint } = intGroupParams(values, groups, f);
  return { scale, zeroPoint, q: quantizeIntGroups(values, groups, scale, zeroPoint, f) };
}

/** The scale/zero-point slot of each element of a tensor of `dims` under `spec`. */
export function specGroups(dims: readonly number[], spec: IntQuantSpec): Groups {
  return spec.kind === "block" ? blockLayout(dims, spec.axis, spec.blockSize) : channelGroups(dims, spec.axis ?? -1);
}

/**
 * Quantizes float values with a given spec: QuantizeLinear semantics,
 * saturating to the format's range. For a float-format spec (FP8, MX, NVFP4)
 * the result is the element codes (float-weights.ts).
 */
export function quantizeWithSpec(values: ArrayLike<number>, dims: readonly number[], spec: QuantSpec): Int32Array {
  if (spec.kind === "affine" && spec.fixed) return fixedCodes(values, spec.fixed);
  if (isIntSpec(spec)) return quantizeIntGroups(values, specGroups(dims, spec), spec.scale, spec.zeroPoint, spec.format);
  if (spec.kind === "dynamic-block") throw new FixqError("unsupported", "a dynamic block spec has no fixed scales to quantize a constant with");
  return Int32Array.from(encodeFloatValues(Float32Array.from(values), dims, spec));
}

/** DequantizeLinear: float32((q − zeroPoint) · scale) per element; for float formats, the decoded codes times their scales. */
export function dequantizeWithSpec(q: ArrayLike<number>, dims: readonly number[], spec: QuantSpec): Float32Array {
  if (isIntSpec(spec)) return dequantizeIntGroups(q, specGroups(dims, spec), spec.scale, spec.zeroPoint);
  if (spec.kind === "dynamic-block") throw new FixqError("unsupported", "a dynamic block spec has no fixed scales to dequantize with");
  return decodeFloatWeight(Uint8Array.from(q), dims, spec);
}

/** Per-channel (axis ≥ 0) or per-tensor (axis < 0) quantization of a float weight. */
export function quantizeWeight(w: Tensor, axis: number, f: IntFormat): { spec: AffineQuant; q: Int32Array } {
  const { scale, zeroPoint, q } = quantizeGroups(tensorToFloat64(w), channelGroups(w.dims, axis), f);
  return { spec: { kind: "affine", format: f, scale, zeroPoint, axis: axis >= 0 ? axis : undefined }, q };
}

/** Blocked quantization of a float weight along `axis`, in blocks of `blockSize` (the last may be shorter); `clip`: scales of least squared error (numerics/int-group-clip.ts), else min-max. */
export function quantizeWeightBlocked(w: Tensor, axis: number, blockSize: number, f: IntFormat, clip = false): { spec: BlockQuant; q: Int32Array } {
  const groups = blockLayout(w.dims, axis, blockSize);
  const values = tensorToFloat64(w);
  const { scale, zeroPoint } = clip ? clippedGroupParams(values, groups, f) : intGroupParams(values, groups, f);
  const q = quantizeIntGroups(values, groups, scale, zeroPoint, f);
  return { spec: { kind: "block", format: f, axis, blockSize, dims: [...groups.scaleDims], scale, zeroPoint }, q };
}

/** The weight axis a compute op sums over (its input channels), or -1 when there is none to block along. */
export function reductionAxis(n: Node, w: Tensor): number {
  switch (n.opType) {
    case "Conv":
      return 1;
    case "ConvTranspose":
      return 0;
    case "Gemm":
      return attrInt(n, "transB", 0) ? 1 : 0;
    case "MatMul":
      return w.dims.length >= 2 ? w.dims.length - 2 : -1;
    default:
      return -1;
  }
}

export interface QuantizedWeight {
  readonly spec: QuantSpec;
  readonly q: Int32Array;
  /** The weight's scale per output channel (length 1 when per tensor): the int32 bias uses s_x · outScale. */
  readonly outScale: Float32Array;
}

/** Quantizes the weight of one use (`u.axis`: its output-channel axis, or -1) at the recipe's granularity; `clipBlocks`: the blocks' scales of least squared error. */
export function quantizeWeightUse(u: WeightUse, granularity: Granularity, f: IntFormat, clipBlocks = false): QuantizedWeight {
  if (granularity.kind === "per-block") {
    const axis = reductionAxis(u.node, u.tensor);
    if (axis >= 0 && u.tensor.dims[axis]! > 1) {
      const { spec, q } = quantizeWeightBlocked(u.tensor, axis, granularity.blockSize, f, clipBlocks);
      // A per-channel scale for the bias: what per-channel quantization would have used.
      const { scale } = intGroupParams(tensorToFloat64(u.tensor), channelGroups(u.tensor.dims, u.axis), f);
      return { spec, q, outScale: scale };
    }
  }
  const { spec, q } = quantizeWeight(u.tensor, u.axis, f);
  return { spec, q, outScale: spec.scale };
}

/**
 * An embedding table T [rows, width] (a Gather's constant data), weight only:
 * int8 symmetric with one scale per row, s_r = max_j |T[r, j]| / 127 (axis 0);
 * or, when the recipe asks for int4 weights in blocks of N, int4 blocks along
 * the row (axis 1), s = max |block| / 7. `weights` is undefined for a float
 * weight format, which keeps embeddings in int8.
 */
export function quantizeEmbedding(t: Tensor, weights: IntFormat | undefined, granularity: Granularity): IntQuantSpec {
  if (weights?.dtype === DataType.INT4 && granularity.kind === "per-block" && t.dims[1]! > 1) {
    return quantizeWeightBlocked(t, 1, granularity.blockSize, intFormat("int4", { symmetric: true })).spec;
  }
  return quantizeWeight(t, 0, intFormat("int8", { symmetric: true })).spec;
}
