/**
 * Quantization specs attach to values (graph edges), never to nodes.
 *
 * Affine quantization (ONNX QuantizeLinear semantics):
 *   q = saturate(roundHalfEven(x / scale) + zeroPoint),  x̂ = (q − zeroPoint) · scale
 * with one (scale, zeroPoint) per tensor, per slice along `axis` (AffineQuant),
 * or per block of `blockSize` consecutive elements along `axis` (BlockQuant,
 * ONNX opset-21 blocked quantization).
 *
 * Float formats (numerics/):
 * - FloatQuant (FP8): x̂ = float32(decode(FP8(float32(x / s))) · s), s float32
 *   per tensor or per channel; ONNX QuantizeLinear/DequantizeLinear with an
 *   FP8 zero point 0.
 * - MxQuant: OCP MX (numerics/mx.ts), an E8M0 scale per block of 32.
 * - Nvfp4Quant: FP4 with an E4M3 scale per block of 16 and an FP32 tensor
 *   scale (numerics/nvfp4.ts).
 *   Both block along `axis` of `view`: the value's dims, or for a Conv weight
 *   [Cout, Cin, kh, kw] the reshaped [Cout, Cin·kh·kw], so blocks run along
 *   the whole reduction. Their scales are computed from the constant.
 * - DynamicBlockQuant: an activation in MX or NVFP4, its block scales
 *   computed per block at run time (blocks along `axis`, whose size is
 *   `extent`); only NVFP4's tensor scale is fixed (calibrated).
 */
import type { FixedType } from "../numerics/fixed.js";
import type { FloatFormat } from "../numerics/float-format.js";
import type { MxFormat } from "../numerics/mx.js";
import { DataType } from "./dtype.js";

export interface IntFormat {
  /** ONNX element type of the quantized values (INT8, UINT8, INT4, ...). */
  readonly dtype: number;
  readonly bits: number;
  readonly signed: boolean;
  /** Representable range actually used; narrower than the type for e.g. 7-bit weights stored as int8. */
  readonly qmin: number;
  readonly qmax: number;
  /** Signed symmetric groups whose signed extreme maps to qmin (negative scales; numerics/int-group.ts). */
  readonly fullGrid?: boolean;
}

export interface AffineQuant {
  readonly kind: "affine";
  readonly format: IntFormat;
  readonly scale: Float32Array;
  readonly zeroPoint: Int32Array;
  /** Channel axis for per-channel specs; undefined for per-tensor. */
  readonly axis?: number;
  /**
   * A fixed-point design (quant/fixed-formats.ts): per tensor, zero point 0,
   * scale 2^(I−W), [qmin, qmax] the W-bit range; its rounding and overflow
   * modes are what integer code applies on every rescale into this tensor.
   */
  readonly fixed?: FixedType;
}

/**
 * Blocked (group) quantization: one (scale, zeroPoint) per block of `blockSize`
 * consecutive elements along `axis`. `dims` are the shape of the scale and
 * zero-point tensors: the value's dims with dims[axis] replaced by
 * ceil(dims[axis] / blockSize) (the last block may be shorter, as ONNX allows).
 * Scales are float32.
 */
export interface BlockQuant {
  readonly kind: "block";
  readonly format: IntFormat;
  readonly axis: number;
  readonly blockSize: number;
  readonly dims: readonly number[];
  readonly scale: Float32Array;
  readonly zeroPoint: Int32Array;
}

export interface FloatQuant {
  readonly kind: "float";
  readonly format: FloatFormat;
  readonly scale: Float32Array;
  /** Channel axis for per-channel specs; undefined for per-tensor. */
  readonly axis?: number;
}

/** Where a block format's blocks run: `view` is the value's dims or a reshape of them, blocks along view[axis]. */
export interface BlockView {
  readonly view: readonly number[];
  readonly axis: number;
  readonly blockSize: number;
}

export interface MxQuant extends BlockView {
  readonly kind: "mx";
  readonly format: MxFormat;
  /** E8M0 codes, laid out as blockLayout(view, axis, blockSize).scaleDims. */
  readonly scales: Uint8Array;
}

export interface Nvfp4Quant extends BlockView {
  readonly kind: "nvfp4";
  readonly tensorScale: number;
  /** E4M3 codes, laid out as blockLayout(view, axis, blockSize).scaleDims. */
  readonly blockScales: Uint8Array;
}

export interface DynamicBlockQuant {
  readonly kind: "dynamic-block";
  readonly format: MxFormat | "nvfp4";
  /** Non-negative axis of the activation the blocks run along, and its size. */
  readonly axis: number;
  readonly extent: number;
  readonly blockSize: number;
  /** NVFP4's FP32 tensor scale (from calibration). */
  readonly tensorScale?: number;
}

/** Specs of integer formats: the ones with a scale and zero point per group (ONNX QuantizeLinear arithmetic). */
export type IntQuantSpec = AffineQuant | BlockQuant;
export type QuantSpec = IntQuantSpec | FloatQuant | MxQuant | Nvfp4Quant | DynamicBlockQuant;

export function isIntSpec(s: QuantSpec): s is IntQuantSpec {
  return s.kind === "affine" || s.kind === "block";
}

const TYPES: Record<string, { dtype: number; bits: number; signed: boolean }> = {
  int4: { dtype: DataType.INT4, bits: 4, signed: true },
  uint4: { dtype: DataType.UINT4, bits: 4, signed: false },
  int8: { dtype: DataType.INT8, bits: 8, signed: true },
  uint8: { dtype: DataType.UINT8, bits: 8, signed: false },
  int16: { dtype: DataType.INT16, bits: 16, signed: true },
  uint16: { dtype: DataType.UINT16, bits: 16, signed: false },
};

/**
 * An integer format. `valueBits` narrows the used range inside the storage type
 * (e.g. int8 storage holding 7-bit values, [-63, 63] symmetric).
 */
export function intFormat(name: string, opts: { valueBits?: number; symmetric?: boolean } = {}): IntFormat {
  const t = TYPES[name];
  if (!t) throw new Error(`unknown integer format '${name}'`);
  const bits = opts.valueBits ?? t.bits;
  let qmin = t.signed ? -(2 ** (bits - 1)) : 0;
  const qmax = t.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  // Symmetric signed formats drop the most negative code so that ±max are both representable.
  if (t.signed && opts.symmetric) qmin = -qmax;
  return { dtype: t.dtype, bits, signed: t.signed, qmin, qmax };
}

export function formatName(f: IntFormat): string {
  const base = Object.entries(TYPES).find(([, t]) => t.dtype === f.dtype)?.[0] ?? `dtype${f.dtype}`;
  return f.bits === TYPES[base]?.bits ? base : `${base}(${f.bits}-bit)`;
}

// The affine arithmetic has one definition, in the numerics module.
export { affineParams, quantizeValue } from "../numerics/int-group.js";
