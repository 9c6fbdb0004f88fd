/**
 * One weight under one candidate format: its dequantized values Q(W) (for
 * measuring sensitivity), and the candidate's storage and compute costs.
 *
 *   sizeBits = n · b_w + (scales and zero points)
 *     integer      b_w = ⌈log2(qmax − qmin + 1)⌉ value bits (int3 → 3, int7 ±63 → 7,
 *                  the default int8 ±64 → 8); per scale 32 bits + one zero point
 *                  of the storage type's width (INT4 → 4, INT8 → 8)
 *     FP8          8 bits per element + 32 per scale
 *     MX           element bits + 8 (E8M0) per block of 32: MXFP4 ≈ 4.25 bits per weight
 *     NVFP4        4 bits + 8 (E4M3) per block of 16 + one FP32 tensor scale ≈ 4.5
 *   bops = MACs · b_w · b_a, with b_a the activation format's bits (float = 32)
 *
 * Value bits, not storage bits, for the narrow integers: a packing back end
 * (C/HLS) stores int3 in 3 bits; the ONNX file stores it in INT4.
 */
import { dtypeInfo } from "../../ir/dtype.js";
import type { QuantSpec } from "../../ir/quant.js";
import { tensorToFloat64 } from "../../ir/tensor.js";
import { weightSchemeOf } from "../float-schemes.js";
import { floatWeightSpec } from "../float-weights.js";
import { isFloatType } from "../format-names.js";
import type { WeightUse } from "../plan.js";
import { type LayerSettings, type WeightType, weightTypeBits } from "../recipe.js";
import { weightChoice } from "../resolve-plan.js";
import { dequantizeWithSpec, quantizeWeightUse, quantizeWithSpec } from "../weights.js";

export interface WeightUnderCandidate {
  /** Q(W): the float32 values the quantized weight stands for. */
  readonly values: Float32Array;
  readonly spec: QuantSpec;
  /** Bits per weight value b_w. */
  readonly valueBits: number;
  readonly sizeBits: number;
}

/** Bits of one activation value: the integer or float format's width, 32 for float (unquantized) activations. */
export function actBits(acts: string): number {
  if (acts === "float") return 32;
  if (acts === "uint16" || acts === "int16") return 16;
  if (acts === "uint8" || acts === "int8") return 8;
  return isFloatType(acts) ? weightTypeBits(acts as WeightType) : 32;
}

/** Storage bits of a spec's scales and zero points (see the header). */
function overheadBits(spec: QuantSpec): number {
  switch (spec.kind) {
    case "affine":
    case "block":
      return spec.scale.length * 32 + spec.zeroPoint.length * (dtypeInfo(spec.format.dtype)?.bits ?? 8);
    case "float":
      return spec.scale.length * 32;
    case "mx":
      return spec.scales.length * 8;
    case "nvfp4":
      return spec.blockScales.length * 8 + 32;
    default:
      return 0;
  }
}

/** The weight of `u` quantized as the candidate settings `s` ask, with its costs. */
export function weightUnderCandidate(u: WeightUse, s: LayerSettings): WeightUnderCandidate {
  const dims = u.tensor.dims.map(Number);
  const choice = weightChoice(s);
  let spec: QuantSpec;
  let valueBits: number;
  if (choice.kind === "int") {
    spec = quantizeWeightUse(u, choice.granularity, choice.format).spec;
    valueBits = Math.ceil(Math.log2(choice.format.qmax - choice.format.qmin + 1));
  } else {
    spec = floatWeightSpec(u, weightSchemeOf(s)!);
    valueBits = weightTypeBits(s.weights);
  }
  const w = tensorToFloat64(u.tensor);
  const values = dequantizeWithSpec(quantizeWithSpec(w, dims, spec), dims, spec);
  return { values, spec, valueBits, sizeBits: w.length * valueBits + overheadBits(spec) };
}
