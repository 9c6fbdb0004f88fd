/**
 * NVFP4: FP4 E2M1 elements in blocks of 16 consecutive elements along an
 * axis, each block with an FP8 E4M3 scale, and one FP32 scale per tensor.
 * Every step is a float32 operation, in this order:
 *
 *   s_t  = float32(amax_tensor / 2688)        2688 = 448 · 6, amax over the finite elements;
 *                                             s_t = 1 when that is 0
 *   s_b  = E4M3(float32(float32(amax_b / 6) / s_t))     saturating, round half to even
 *   d_b  = float32(decode(s_b) · s_t)                    the block's effective scale
 *   q_i  = E2M1(float32(x_i / d_b))                      saturating to ±6; 0 where d_b = 0
 *   x̂_i  = float32(decode(q_i) · d_b)
 *
 * d_b and x̂ are exactly what ONNX computes from the stored form: the E4M3
 * block scales go through DequantizeLinear with scale s_t (giving d_b), and
 * the FP4 elements through DequantizeLinear with block scales d_b.
 * The tensor scale may also be given (a calibrated one, for activations).
 * A block whose scaled amax is below half E4M3's smallest subnormal gets
 * s_b = 0 and all-zero elements. A NaN in a block makes s_b NaN, so the whole
 * block decodes to NaN; ±Inf saturates s_b to 448.
 * The last block along the axis may be shorter than 16.
 */
import { decodeFloats, encodeFloats } from "./float-codec.js";
import { FP4_E2M1, FP8_E4M3FN } from "./float-formats.js";
import { type BlockLayout, blockAbsMax, blockLayout, forEachBlock } from "./groups.js";

export const NVFP4_BLOCK_SIZE = 16;
const FP4_MAX = 6;
const E4M3_MAX = 448;

/** The per-tensor scale for a tensor whose max |x| is amax. */
export function nvfp4TensorScale(amax: number): number {
  const s = Math.fround(amax / (E4M3_MAX * FP4_MAX));
  return Number.isFinite(s) && s > 0 ? s : 1;
}

export interface Nvfp4Tensor {
  readonly layout: BlockLayout;
  readonly tensorScale: number;
  /** E4M3 codes, laid out as `layout.scaleDims`. */
  readonly blockScales: Uint8Array;
  /** E2M1 codes, one per element, unpacked. */
  readonly elements: Uint8Array;
}

/** d_b = float32(decode(s_b) · s_t) for every block. */
export function nvfp4BlockScales(blockScales: Uint8Array, tensorScale: number): Float32Array {
  const d = decodeFloats(FP8_E4M3FN, blockScales);
  for (let g = 0; g < d.length; g++) d[g] = d[g]! * tensorScale;
  return d;
}

/** E4M3 block-scale codes for a tensor scale. */
export function nvfp4ScaleCodes(x: Float32Array, layout: BlockLayout, tensorScale: number): Uint8Array {
  const amax = blockAbsMax(layout, x);
  const scaled = new Float32Array(amax.length);
  for (let g = 0; g < amax.length; g++) scaled[g] = Math.fround(amax[g]! / FP4_MAX) / tensorScale;
  return encodeFloats(FP8_E4M3FN, scaled, { saturate: true }) as Uint8Array;
}

/** E2M1 element codes of x under given block and tensor scales. */
export function encodeNvfp4Elements(x: Float32Array, layout: BlockLayout, blockScales: Uint8Array, tensorScale: number): Uint8Array {
  const d = nvfp4BlockScales(blockScales, tensorScale);
  const scaled = new Float32Array(x.length);
  forEachBlock(layout, (g, start, count, stride) => {
    const s = d[g]!;
    for (let t = 0, i = start; t < count; t++, i += stride) scaled[i] = s === 0 ? 0 : x[i]! / s;
  });
  return encodeFloats(FP4_E2M1, scaled) as Uint8Array;
}

/** Quantizes x (row-major, of `dims`) to NVFP4 with blocks along `axis`; the tensor scale defaults to the one of x's amax. */
export function quantizeNvfp4(x: Float32Array, dims: readonly number[], axis: number, opts: { tensorScale?: number; blockSize?: number } = {}): Nvfp4Tensor {
  const layout = blockLayout(dims, axis, opts.blockSize ?? NVFP4_BLOCK_SIZE);
  if (x.length !== layout.outer * layout.extent * layout.inner) throw new RangeError(`NVFP4 input has ${x.length} elements, dims [${dims.join(",")}] need ${layout.outer * layout.extent * layout.inner}`);
  let amax = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (a > amax && a !== Number.POSITIVE_INFINITY) amax = a;
  }
  const tensorScale = opts.tensorScale ?? nvfp4TensorScale(amax);
  const blockScales = nvfp4ScaleCodes(x, layout, tensorScale);
  return { layout, tensorScale, blockScales, elements: encodeNvfp4Elements(x, layout, blockScales, tensorScale) };
}

/** x̂_i = float32(decode(q_i) · d_b). */
export function dequantizeNvfp4(t: Nvfp4Tensor): Float32Array {
  const d = nvfp4BlockScales(t.blockScales, t.tensorScale);
  const out = decodeFloats(FP4_E2M1, t.elements);
  forEachBlock(t.layout, (g, start, count, stride) => {
    const s = d[g]!;
    for (let k = 0, i = start; k < count; k++, i += stride) out[i] = out[i]! * s;
  });
  return out;
}

/** Quantize then dequantize. */
export function fakeQuantizeNvfp4(x: Float32Array, dims: readonly number[], axis: number, tensorScale?: number): Float32Array {
  return dequantizeNvfp4(quantizeNvfp4(x, dims, axis, { tensorScale }));
}
