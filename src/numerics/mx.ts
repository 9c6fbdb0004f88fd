/**
 * OCP Microscaling (MX v1.0) block formats: k = 32 consecutive elements along
 * an axis share one E8M0 scale X = 2^e.
 *
 *   amax = max |V_i| over the block
 *   e    = clamp(⌊log2 amax⌋ − emax_elem, −127, 127)      (stored as E8M0 code e + 127)
 *   P_i  = element(V_i / X)      cast with round-half-even and saturation to ±max_elem
 *   V̂_i  = X · P_i
 *
 *   format      element   emax_elem  element max
 *   mxfp8e4m3   E4M3FN    8          448
 *   mxfp8e5m2   E5M2      15         57344
 *   mxfp6e2m3   E2M3      2          7.5
 *   mxfp6e3m2   E3M2      4          28
 *   mxfp4       E2M1      2          6
 *   mxint8      INT8      0          127·2^−6 (two's complement with an implicit 2^−6,
 *                                    clamped symmetric to ±127 as Microsoft's
 *                                    reference does; −128 is never produced)
 *
 * Choices where the spec leaves room (each tested):
 * - A block whose amax is 0 gets the smallest scale, e = −127 (code 0); its
 *   elements are 0.
 * - A block holding NaN or ±Inf gets the NaN scale (code 0xFF) and element
 *   codes 0; it decodes to NaN, as the spec says a NaN scale does.
 * - Rounding is ties-to-even, ONNX Cast's. Microsoft's reference rounds ties
 *   away from zero, so it differs on exact ties.
 * V_i / X and X · P_i are exact in float32 for every finite input (X is a power
 * of two, and the results neither overflow nor lose bits), so there is no
 * double rounding.
 * The last block along the axis may be shorter than 32 (ONNX's blocked layout).
 */
import { encodeFloats, decodeFloats } from "./float-codec.js";
import type { FloatFormat } from "./float-format.js";
import { FP4_E2M1, FP6_E2M3, FP6_E3M2, FP8_E4M3FN, FP8_E5M2 } from "./float-formats.js";
import { type BlockLayout, blockAbsMax, blockLayout, forEachBlock } from "./groups.js";
import { roundHalfEven } from "./int.js";

export type MxName = "mxfp8e4m3" | "mxfp8e5m2" | "mxfp6e2m3" | "mxfp6e3m2" | "mxfp4" | "mxint8";

export interface MxFormat {
  readonly name: MxName;
  /** The element format; "int8" for MXINT8. */
  readonly element: FloatFormat | "int8";
  /** Exponent of the element's largest normal: ⌊log2 max_elem⌋. */
  readonly emax: number;
  /** Element width in bits. */
  readonly bits: number;
  readonly blockSize: 32;
}

export const MX_BLOCK_SIZE = 32;
export const E8M0_NAN = 0xff;
const E8M0_BIAS = 127;

function mx(name: MxName, element: FloatFormat | "int8"): MxFormat {
  const emax = element === "int8" ? 0 : Math.floor(Math.log2(element.max));
  return { name, element, emax, bits: element === "int8" ? 8 : element.bits, blockSize: MX_BLOCK_SIZE };
}

export const MX_FORMATS: readonly MxFormat[] = [
  mx("mxfp8e4m3", FP8_E4M3FN),
  mx("mxfp8e5m2", FP8_E5M2),
  mx("mxfp6e2m3", FP6_E2M3),
  mx("mxfp6e3m2", FP6_E3M2),
  mx("mxfp4", FP4_E2M1),
  mx("mxint8", "int8"),
];

/** Short names: MXFP8 and MXFP6 without an element name are the E4M3 and E2M3 variants. */
const MX_ALIASES: Record<string, MxName> = { mxfp8: "mxfp8e4m3", mxfp6: "mxfp6e2m3", mxfp4e2m1: "mxfp4" };

/** The MX format a name denotes (case, `-` and `_` ignored), or undefined. */
export function parseMxFormat(text: string): MxFormat | undefined {
  const key = text.toLowerCase().replace(/[-_\s]/g, "");
  return MX_FORMATS.find((f) => f.name === (MX_ALIASES[key] ?? key));
}

export function mxFormat(name: MxName): MxFormat {
  return MX_FORMATS.find((f) => f.name === name)!;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** ⌊log2 a⌋ for a finite float32 a > 0, exactly, from its bits (subnormals included). */
export function floorLog2(a: number): number {
  f32[0] = a;
  const bits = u32[0]!;
  const e = (bits >>> 23) & 0xff;
  if (e !== 0) return e - 127;
  return 31 - Math.clz32(bits & 0x7fffff) - 149;
}

/** The E8M0 scale code of a block whose max |x| is amax (see the top of the file). */
export function mxScaleCode(fmt: MxFormat, amax: number): number {
  if (!Number.isFinite(amax)) return E8M0_NAN;
  if (amax === 0) return 0;
  const e = Math.min(127, Math.max(-127, floorLog2(amax) - fmt.emax));
  return e + E8M0_BIAS;
}

/** The block layout of an MX tensor: blocks along `axis` (32 by default; other sizes for experiments only). */
export function mxLayout(dims: readonly number[], axis: number, blockSize: number = MX_BLOCK_SIZE): BlockLayout {
  return blockLayout(dims, axis, blockSize);
}

/** E8M0 scale codes of every block. */
export function mxScales(fmt: MxFormat, x: Float32Array, layout: BlockLayout): Uint8Array {
  const amax = blockAbsMax(layout, x);
  return Uint8Array.from(amax, (a) => mxScaleCode(fmt, a));
}

/** Element codes of x under given block scales (unpacked: one code per byte; MXINT8 as two's-complement bytes). */
export function encodeMxElements(fmt: MxFormat, x: Float32Array, layout: BlockLayout, scales: Uint8Array): Uint8Array {
  const scaled = new Float32Array(x.length);
  const nan = new Uint8Array(x.length);
  forEachBlock(layout, (g, start, count, stride) => {
    const code = scales[g]!;
    const inv = 2 ** (E8M0_BIAS - code);
    for (let t = 0, i = start; t < count; t++, i += stride) {
      if (code === E8M0_NAN) nan[i] = 1;
      else scaled[i] = x[i]! * inv; // exact: a power of two (rounded to float32 on store)
    }
  });
  let codes: Uint8Array;
  if (fmt.element === "int8") {
    codes = new Uint8Array(x.length);
    for (let i = 0; i < x.length; i++) codes[i] = Math.min(127, Math.max(-127, roundHalfEven(scaled[i]! * 64))) & 0xff;
  } else {
    codes = encodeFloats(fmt.element, scaled, { saturate: true }) as Uint8Array;
  }
  for (let i = 0; i < x.length; i++) if (nan[i]) codes[i] = 0;
  return codes;
}

export interface MxTensor {
  readonly layout: BlockLayout;
  /** E8M0 codes, laid out as `layout.scaleDims`. */
  readonly scales: Uint8Array;
  /** Element codes, one per element, unpacked. */
  readonly elements: Uint8Array;
}

/** Quantizes x (row-major, of `dims`) to MX with blocks along `axis`. */
export function quantizeMx(fmt: MxFormat, x: Float32Array, dims: readonly number[], axis: number, blockSize: number = MX_BLOCK_SIZE): MxTensor {
  const layout = mxLayout(dims, axis, blockSize);
  if (x.length !== layout.outer * layout.extent * layout.inner) throw new RangeError(`MX input has ${x.length} elements, dims [${dims.join(",")}] need ${layout.outer * layout.extent * layout.inner}`);
  const scales = mxScales(fmt, x, layout);
  return { layout, scales, elements: encodeMxElements(fmt, x, layout, scales) };
}

/** The value of each element code, before scaling (MXINT8: q · 2^−6). */
export function decodeMxElements(fmt: MxFormat, elements: Uint8Array): Float32Array {
  if (fmt.element !== "int8") return decodeFloats(fmt.element, elements);
  return Float32Array.from(elements, (c) => ((c << 24) >> 24) / 64);
}

/** X · P_i for every element (NaN where the block's scale is NaN). */
export function dequantizeMx(fmt: MxFormat, t: MxTensor): Float32Array {
  const out = decodeMxElements(fmt, t.elements);
  forEachBlock(t.layout, (g, start, count, stride) => {
    const code = t.scales[g]!;
    const x = code === E8M0_NAN ? Number.NaN : 2 ** (code - E8M0_BIAS);
    for (let k = 0, i = start; k < count; k++, i += stride) out[i] = out[i]! * x;
  });
  return out;
}

/** Quantize then dequantize: the values an MX tensor of x stands for. */
export function fakeQuantizeMx(fmt: MxFormat, x: Float32Array, dims: readonly number[], axis: number): Float32Array {
  return dequantizeMx(fmt, quantizeMx(fmt, x, dims, axis));
}
