/**
 * Float-format weight quantization (FP8, MX, NVFP4) and its inverse.
 *
 * - FP8: s = float32(amax / max_fp8) per output channel (or per tensor; 1 for
 *   an all-zero group), q = FP8(float32(w / s)) saturating, ŵ = float32(decode(q) · s),
 *   exactly ONNX QuantizeLinear / DequantizeLinear with an FP8 zero point 0.
 * - MX / NVFP4: blocks along the op's reduction, the whole of it: Conv weights
 *   [Cout, Cin/g, kh, kw] are viewed as [Cout, Cin/g·kh·kw] (row-major, so a
 *   block is 32 consecutive weights of one output channel's receptive field),
 *   ConvTranspose [Cin, Cout/g·kh·kw] blocked along axis 0, Gemm along K
 *   (axis 1 with transB, else 0), MatMul along its second-to-last axis. The
 *   last block may be shorter (K = 784 → 24 blocks of 32 and one of 16).
 */
import { attrInt } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import type { FloatQuant, MxQuant, Nvfp4Quant } from "../ir/quant.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { decodeFloats, encodeFloats } from "../numerics/float-codec.js";
import type { FloatFormat } from "../numerics/float-format.js";
import { blockLayout, channelGroups, product } from "../numerics/groups.js";
import { dequantizeMx, encodeMxElements, mxScales } from "../numerics/mx.js";
import { dequantizeNvfp4, encodeNvfp4Elements, quantizeNvfp4 } from "../numerics/nvfp4.js";
import type { WeightScheme } from "./float-schemes.js";
import type { WeightUse } from "./plan.js";

export type FloatWeightSpec = FloatQuant | MxQuant | Nvfp4Quant;

/** The shape a weight's blocks are laid over and the axis they run along: the op's whole reduction. */
export function reductionView(n: Node, dims: readonly number[]): { view: number[]; axis: number } {
  switch (n.opType) {
    case "Conv":
      return { view: [dims[0]!, product(dims.slice(1))], axis: 1 };
    case "ConvTranspose":
      return { view: [dims[0]!, product(dims.slice(1))], axis: 0 };
    case "Gemm":
      return { view: [...dims], axis: attrInt(n, "transB", 0) ? 1 : 0 };
    case "MatMul":
      return { view: [...dims], axis: Math.max(0, dims.length - 2) };
    default:
      throw new FixqError("unsupported", `block formats for weights of ${n.opType}`);
  }
}

/** Per-channel (axis ≥ 0) or per-tensor FP8 scales: float32(amax / max). */
function fp8Scales(w: Float64Array, dims: readonly number[], axis: number, fmt: FloatFormat): Float32Array {
  const groups = channelGroups(dims, axis);
  const amax = new Float64Array(groups.count);
  for (let i = 0; i < w.length; i++) {
    const g = groups.of(i);
    amax[g] = Math.max(amax[g]!, Math.abs(w[i]!));
  }
  return Float32Array.from(amax, (a) => (a > 0 ? Math.fround(a / fmt.max) : 1));
}

/** The spec of one weight use under a float scheme. */
export function floatWeightSpec(u: WeightUse, scheme: WeightScheme): FloatWeightSpec {
  const dims = u.tensor.dims.map(Number);
  const w = tensorToFloat64(u.tensor);
  if (scheme.kind === "fp8") {
    const axis = scheme.perChannel ? u.axis : -1;
    return { kind: "float", format: scheme.format, scale: fp8Scales(w, dims, axis, scheme.format), axis: axis >= 0 ? axis : undefined };
  }
  const { view, axis } = reductionView(u.node, dims);
  const x = Float32Array.from(w);
  if (scheme.kind === "mx") {
    const layout = blockLayout(view, axis, scheme.format.blockSize);
    return { kind: "mx", format: scheme.format, view, axis, blockSize: layout.blockSize, scales: mxScales(scheme.format, x, layout) };
  }
  const t = quantizeNvfp4(x, view, axis);
  return { kind: "nvfp4", view, axis, blockSize: t.layout.blockSize, tensorScale: t.tensorScale, blockScales: t.blockScales };
}

/** Element codes of a float weight under its spec (unpacked, one per byte). */
export function encodeFloatWeight(t: Tensor, spec: FloatWeightSpec): Uint8Array {
  return encodeFloatValues(Float32Array.from(tensorToFloat64(t)), t.dims.map(Number), spec);
}

/** Element codes of float32 values of `dims` under a spec (unpacked, one per byte). */
export function encodeFloatValues(x: Float32Array, dims: readonly number[], spec: FloatWeightSpec): Uint8Array {
  switch (spec.kind) {
    case "float": {
      const groups = channelGroups(dims, spec.axis ?? -1);
      const scaled = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) scaled[i] = x[i]! / spec.scale[groups.of(i)]!;
      return encodeFloats(spec.format, scaled, { saturate: true }) as Uint8Array;
    }
    case "mx":
      return encodeMxElements(spec.format, x, blockLayout(spec.view, spec.axis, spec.blockSize), spec.scales);
    case "nvfp4":
      return encodeNvfp4Elements(x, blockLayout(spec.view, spec.axis, spec.blockSize), spec.blockScales, spec.tensorScale);
  }
}

/** The float32 values the codes stand for: what DequantizeLinear (or the dequantized storage) gives. */
export function decodeFloatWeight(codes: Uint8Array, dims: readonly number[], spec: FloatWeightSpec): Float32Array {
  switch (spec.kind) {
    case "float": {
      const out = decodeFloats(spec.format, codes);
      const groups = channelGroups(dims, spec.axis ?? -1);
      for (let i = 0; i < out.length; i++) out[i] = out[i]! * spec.scale[groups.of(i)]!;
      return out;
    }
    case "mx":
      return dequantizeMx(spec.format, { layout: blockLayout(spec.view, spec.axis, spec.blockSize), scales: spec.scales, elements: codes });
    case "nvfp4":
      return dequantizeNvfp4({ layout: blockLayout(spec.view, spec.axis, spec.blockSize), tensorScale: spec.tensorScale, blockScales: spec.blockScales, elements: codes });
  }
}
