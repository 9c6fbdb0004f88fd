/**
 * Quantization specs attach to values (graph edges), never to nodes.
 *
 * Affine quantization (ONNX QuantizeLinear semantics):
 *   q = saturate(roundHalfEven(x / scale) + zeroPoint),  x̂ = (q − zeroPoint) · scale
 * with one (scale, zeroPoint) per tensor, per slice along `axis` (AffineQuant),
 * or per block of `blockSize` consecutive elements along `axis` (BlockQuant,
 * ONNX opset-21 blocked quantization).
 */
import { clampInt, roundHalfEven } from "../numerics/int.js";
import { DataType } from "./dtype.js";

export interface IntFormat {
  /** ONNX element type of the quantized values (INT8, UINT8, INT4, ...). */
  readonly dtype: number;
  readonly bits: number;
  readonly signed: boolean;
  /** Representable range actually used; narrower than the type for e.g. 7-bit weights stored as int8. */
  readonly qmin: number;
  readonly qmax: number;
}

export interface AffineQuant {
  readonly kind: "affine";
  readonly format: IntFormat;
  readonly scale: Float32Array;
  readonly zeroPoint: Int32Array;
  /** Channel axis for per-channel specs; undefined for per-tensor. */
  readonly axis?: number;
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

export type QuantSpec = AffineQuant | BlockQuant;

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

/**
 * Scale and zero point covering [lo, hi] (widened to include 0 so that 0 is
 * exact). Symmetric: zero point at the middle of the signed range (0), or at
 * 128-style midpoint for unsigned storage; scale = max(|lo|,|hi|) / qmax.
 * Asymmetric: scale = (hi − lo) / (qmax − qmin), zeroPoint = round(qmin − lo/scale).
 */
export function affineParams(lo: number, hi: number, f: IntFormat, symmetric: boolean): { scale: number; zeroPoint: number } {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (symmetric) {
    const m = Math.max(-lo, hi);
    if (f.signed) {
      const scale = m > 0 ? m / f.qmax : 1;
      return { scale: Math.fround(scale), zeroPoint: 0 };
    }
    const half = (f.qmax - f.qmin) / 2;
    const scale = m > 0 ? m / Math.floor(half) : 1;
    return { scale: Math.fround(scale), zeroPoint: Math.ceil(f.qmin + half) };
  }
  if (hi - lo <= 0) return { scale: 1, zeroPoint: f.signed ? 0 : f.qmin };
  const scale = Math.fround((hi - lo) / (f.qmax - f.qmin));
  const zp = Math.round(f.qmin - lo / scale);
  return { scale, zeroPoint: Math.min(f.qmax, Math.max(f.qmin, zp)) };
}

/** ONNX QuantizeLinear on one value: true division, round half to even, saturate. */
export function quantizeValue(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  // float32 division (a double quotient rounded once more to float32 is the correctly rounded float32 quotient)
  return clampInt(roundHalfEven(Math.fround(x / scale)) + zeroPoint, qmin, qmax);
}
