/**
 * float32 → minifloat code, round to nearest even, on whole arrays.
 *
 * With a = |x| as float32 bits (exponent field e = a >> 23), M mantissa bits
 * and bias B, the code's magnitude is an integer rounding of a shifted value:
 *
 *   code = rne(y / 2^S),  rne(y / 2^S) = (y + 2^(S−1) − 1 + ((y >> S) & 1)) >> S
 *
 *   e ≥ 128 − B  (normal in the target):  y = a − ((127 − B) << 23),  S = 23 − M
 *     y keeps x's mantissa with the exponent re-biased; a carry out of the
 *     mantissa moves into the exponent field, as it should.
 *   e < 128 − B  (subnormal or zero in the target):
 *     y = 2^23 + mantissa (e > 0) or the mantissa alone (e = 0: float32
 *     subnormal), S = 23 − M + (128 − B − max(e, 1)), capped at 31 (anything
 *     shifted that far rounds to 0 anyway); rounding up to 2^M gives the
 *     smallest normal code, as it should.
 *
 * S and the subtracted term depend on e alone, so they come from a 256-entry
 * table: one path for every input, no data-dependent branch (a branch between
 * normal and subnormal inputs mispredicts on FP4/FP6 data, where many values
 * are subnormal, and costs up to 2×). A magnitude above the largest finite
 * code overflows (±Inf does too). Overflow and NaN take the codes of the
 * format's convention (see encodePlan); ONNX Cast compares the *rounded*
 * value with max, and so does this.
 */
import type { FloatFormat } from "./float-format.js";
import { wordAligned } from "./words.js";

const F32_INF = 0x7f800000;

/** Per-format constants of the loop, and the codes of the special cases for a given `saturate`. */
export interface EncodePlan {
  /** Per float32 exponent field: the term subtracted from a (a multiple of 2^23) OR-ed with the shift S (low 5 bits). */
  readonly byExponent: Int32Array;
  readonly maxCode: number;
  /** float32 sign bit >>> signShift is the code's sign bit. */
  readonly signShift: number;
  readonly signBit: number;
  /** −1 where a negative value that rounds to zero keeps its sign (−0), 0 where −0 does not exist (fnuz). */
  readonly zeroSignMask: number;
  /** OR-ed with the input's sign bit: the code for values that round above max, and for ±Inf. */
  readonly overflowMag: number;
  readonly nanPos: number;
  readonly nanNeg: number;
}

function exponentTable(M: number, B: number): Int32Array {
  const t = new Int32Array(256);
  const shift = 23 - M;
  const minNormal = 128 - B;
  for (let e = 0; e < 256; e++) {
    if (e >= minNormal) t[e] = ((127 - B) << 23) | shift;
    else t[e] = (e === 0 ? 0 : (e - 1) << 23) | Math.min(shift + minNormal - Math.max(e, 1), 31);
  }
  return t;
}

/**
 * The special-case codes. Overflow and ±Inf: ±max when saturating; otherwise
 * ±Inf (ieee) or NaN (fn keeps the sign; fnuz has one NaN, the sign bit
 * itself, so OR-ing the sign in leaves it alone). NaN: the quiet NaN with the
 * input's sign (fnuz: its one NaN). Formats without NaN (FP4, FP6) map NaN to
 * +max, as the ONNX float4 page and ONNX Runtime's FP4 cast do.
 */
export function encodePlan(fmt: FloatFormat, saturate: boolean): EncodePlan {
  const { mantissaBits: M, bias: B, specials, maxCode, signBit } = fmt;
  const infMag = maxCode + 1; // ieee: exponent all ones, mantissa 0
  const quietNaN = specials === "ieee" ? infMag | (1 << (M - 1)) : specials === "fn" ? maxCode + 1 : signBit;
  return {
    byExponent: exponentTable(M, B),
    maxCode,
    signShift: 32 - fmt.bits,
    signBit,
    zeroSignMask: specials === "fnuz" ? 0 : -1,
    overflowMag: saturate ? maxCode : specials === "ieee" ? infMag : quietNaN,
    nanPos: specials === "finite" ? maxCode : quietNaN,
    nanNeg: specials === "finite" ? maxCode : signBit | quietNaN,
  };
}

/** The code of one float32 (given as its bits). The sign goes in without a branch: random signs would mispredict. */
function encodeBits(p: EncodePlan, b: number): number {
  const a = b & 0x7fffffff;
  const s = (b >>> p.signShift) & p.signBit;
  if (a > F32_INF) return s ? p.nanNeg : p.nanPos;
  const k = p.byExponent[a >>> 23]!;
  const shift = k & 31;
  const y = a - (k & ~31);
  const mag = (y + ((1 << (shift - 1)) - 1) + ((y >>> shift) & 1)) >>> shift;
  // a zero magnitude keeps the sign, except in fnuz formats (no −0)
  return mag <= p.maxCode ? mag | (s & ((-mag >> 31) | p.zeroSignMask)) : s | p.overflowMag;
}

/**
 * Encodes `src` into `out` (same length): Uint8Array for ≤ 8-bit formats,
 * Uint16Array for 16-bit ones. Where `out` is 4-byte aligned (and the platform
 * little-endian), four 8-bit or two 16-bit codes go out in one 32-bit store,
 * which is about 1.5× faster than storing them one by one.
 */
export function encodeMinifloat(p: EncodePlan, src: Float32Array, out: Uint8Array | Uint16Array): void {
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length);
  const n = src.length;
  let i = 0;
  if (wordAligned(out)) {
    if (out instanceof Uint8Array) {
      const words = new Int32Array(out.buffer, out.byteOffset, n >>> 2);
      for (let j = 0; j < words.length; j++, i += 4) {
        words[j] = encodeBits(p, bits[i]!) | (encodeBits(p, bits[i + 1]!) << 8) | (encodeBits(p, bits[i + 2]!) << 16) | (encodeBits(p, bits[i + 3]!) << 24);
      }
    } else {
      const words = new Int32Array(out.buffer, out.byteOffset, n >>> 1);
      for (let j = 0; j < words.length; j++, i += 2) words[j] = encodeBits(p, bits[i]!) | (encodeBits(p, bits[i + 1]!) << 16);
    }
  }
  for (; i < n; i++) out[i] = encodeBits(p, bits[i]!);
}
