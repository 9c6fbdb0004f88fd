/**
 * Weight quantization: per tensor, per output channel, or per block along the
 * weight's reduction (input) axis.
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
import type { Node } from "../ir/graph.js";
import { type AffineQuant, affineParams, type BlockQuant, type IntFormat, type QuantSpec, quantizeValue } from "../ir/quant.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import type { WeightUse } from "./plan.js";
import type { Granularity } from "./recipe.js";

/** Maps each element (row-major index) to its group: a scale/zero-point slot. */
interface Groups {
  readonly count: number;
  of(i: number): number;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** One group per slice along `axis`; a single group when axis < 0. */
function channelGroups(dims: readonly number[], axis: number): Groups {
  if (axis < 0) return { count: 1, of: () => 0 };
  const channels = dims[axis]!;
  const inner = product(dims.slice(axis + 1));
  return { count: channels, of: (i) => Math.floor(i / inner) % channels };
}

/** Blocks of `size` consecutive elements along `axis`, laid out as the scale tensor (dims[axis] → ceil(dims[axis]/size)). */
function blockGroups(dims: readonly number[], axis: number, size: number): Groups & { dims: number[] } {
  const extent = dims[axis]!;
  const inner = product(dims.slice(axis + 1));
  const blocks = Math.ceil(extent / size);
  const groupDims = dims.map((d, k) => (k === axis ? blocks : d));
  return {
    count: product(groupDims),
    dims: groupDims,
    of: (i) => {
      const outer = Math.floor(i / (inner * extent));
      const k = Math.floor(i / inner) % extent;
      return (outer * blocks + Math.floor(k / size)) * inner + (i % inner);
    },
  };
}

/** Scale and zero point per group, from the group's extremes. */
function groupParams(values: Float64Array, groups: Groups, f: IntFormat): { scale: Float32Array; zeroPoint: Int32Array } {
  const lo = new Float64Array(groups.count);
  const hi = new Float64Array(groups.count);
  for (let i = 0; i < values.length; i++) {
    const g = groups.of(i);
    const v = values[i]!;
    if (v < lo[g]!) lo[g] = v;
    if (v > hi[g]!) hi[g] = v;
  }
  const scale = new Float32Array(groups.count);
  const zeroPoint = new Int32Array(groups.count);
  for (let g = 0; g < groups.count; g++) {
    const p = affineParams(lo[g]!, hi[g]!, f, f.signed);
    scale[g] = p.scale;
    zeroPoint[g] = p.zeroPoint;
  }
  return { scale, zeroPoint };
}

function quantizeGroups(values: Float64Array, groups: Groups, f: IntFormat) {
  const { scale, zeroPoint } = groupParams(values, groups, f);
  const q = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const g = groups.of(i);
    q[i] = quantizeValue(values[i]!, scale[g]!, zeroPoint[g]!, f.qmin, f.qmax);
  }
  return { scale, zeroPoint, q };
}

/** The scale/zero-point slot of each element of a tensor of `dims` under `spec`. */
export function specGroups(dims: readonly number[], spec: QuantSpec): Groups {
  return spec.kind === "block" ? blockGroups(dims, spec.axis, spec.blockSize) : channelGroups(dims, spec.axis ?? -1);
}

/** Quantizes float values with a given spec (QuantizeLinear semantics, saturating to the format's range). */
export function quantizeWithSpec(values: ArrayLike<number>, dims: readonly number[], spec: QuantSpec): Int32Array {
  const groups = specGroups(dims, spec);
  const f = spec.format;
  const q = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const g = groups.of(i);
    q[i] = quantizeValue(values[i]!, spec.scale[g]!, spec.zeroPoint[g]!, f.qmin, f.qmax);
  }
  return q;
}

/** DequantizeLinear: float32((q − zeroPoint) · scale) per element. */
export function dequantizeWithSpec(q: ArrayLike<number>, dims: readonly number[], spec: QuantSpec): Float32Array {
  const groups = specGroups(dims, spec);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const g = groups.of(i);
    out[i] = Math.fround((q[i]! - spec.zeroPoint[g]!) * spec.scale[g]!);
  }
  return out;
}

/** Per-channel (axis ≥ 0) or per-tensor (axis < 0) quantization of a float weight. */
export function quantizeWeight(w: Tensor, axis: number, f: IntFormat): { spec: AffineQuant; q: Int32Array } {
  const { scale, zeroPoint, q } = quantizeGroups(tensorToFloat64(w), channelGroups(w.dims, axis), f);
  return { spec: { kind: "affine", format: f, scale, zeroPoint, axis: axis >= 0 ? axis : undefined }, q };
}

/** Blocked quantization of a float weight along `axis`, in blocks of `blockSize` (the last may be shorter). */
export function quantizeWeightBlocked(w: Tensor, axis: number, blockSize: number, f: IntFormat): { spec: BlockQuant; q: Int32Array } {
  const groups = blockGroups(w.dims, axis, blockSize);
  const { scale, zeroPoint, q } = quantizeGroups(tensorToFloat64(w), groups, f);
  return { spec: { kind: "block", format: f, axis, blockSize, dims: groups.dims, scale, zeroPoint }, q };
}

function intAttr(n: Node, name: string, dflt: number): number {
  const a = n.attributes.find((x) => x.name === name);
  return a?.i !== undefined ? Number(a.i) : dflt;
}

/** The weight axis a compute op sums over (its input channels), or -1 when there is none to block along. */
export function reductionAxis(n: Node, w: Tensor): number {
  switch (n.opType) {
    case "Conv":
      return 1;
    case "ConvTranspose":
      return 0;
    case "Gemm":
      return intAttr(n, "transB", 0) ? 1 : 0;
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

/** Quantizes the weight of one use (`u.axis`: its output-channel axis, or -1) at the recipe's granularity. */
export function quantizeWeightUse(u: WeightUse, granularity: Granularity, f: IntFormat): QuantizedWeight {
  if (granularity.kind === "per-block") {
    const axis = reductionAxis(u.node, u.tensor);
    if (axis >= 0 && u.tensor.dims[axis]! > 1) {
      const { spec, q } = quantizeWeightBlocked(u.tensor, axis, granularity.blockSize, f);
      // A per-channel scale for the bias: what per-channel quantization would have used.
      const { scale } = groupParams(tensorToFloat64(u.tensor), channelGroups(u.tensor.dims, u.axis), f);
      return { spec, q, outScale: scale };
    }
  }
  const { spec, q } = quantizeWeight(u.tensor, u.axis, f);
  return { spec, q, outScale: spec.scale };
}
