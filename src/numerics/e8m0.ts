/**
 * float32 → E8M0 (the MX block-scale format: code c is 2^(c − 127), 0xFF is
 * NaN), following ONNX Cast-24's table, as ONNX Runtime 1.30 implements it:
 *
 *   NaN                          → NaN (0xFF)
 *   x > 2^127 (and +Inf)         → saturate ? 2^127 (0xFE) : NaN
 *   x < 2^−127 (0, −0, x < 0)    → saturate ? 2^−127 (0x00) : NaN
 *   otherwise                    → rounded by `round_mode`:
 *     up       the smallest power of two ≥ x
 *     down     the largest power of two ≤ x
 *     nearest  the nearer one, by value; the midpoint 1.5·2^k goes up
 *
 * With x = 2^(e−127) · (1 + f/2^23) a normal float32 (bits b = e << 23 | f),
 * all three are one add: code = (b + k) >> 23 with k = 2^23 − 1 (up),
 * 2^22 (nearest) or 0 (down). A subnormal x in [2^−127, 2^−126) is
 * b · 2^−149 and lies between codes 0 and 1; there code = ((b + k/2) >> 22) − 1.
 * In range, rounding never passes 2^127, so `saturate` only matters outside it.
 *
 * ONNX's Python reference (`onnx.numpy_helper.to_float8e8m0`) differs from the
 * table in corners (see the README); fixq follows the table and ORT.
 */
import type { RoundMode } from "./float-format.js";
import { wordAligned } from "./words.js";

const MIN_BITS = 0x00400000; // 2^-127
const MAX_BITS = 0x7f000000; // 2^127
const NORMAL_BITS = 0x00800000; // 2^-126
const NAN = 0xff;

function roundAddend(round: RoundMode): number {
  switch (round) {
    case "up":
      return 0x7fffff;
    case "nearest":
      return 0x400000;
    case "down":
      return 0;
    default:
      throw new RangeError(`e8m0 has no round mode '${round}' (up, down, nearest)`);
  }
}

interface E8m0Plan {
  readonly k: number;
  readonly kSub: number;
  readonly high: number;
  readonly low: number;
}

function encodeBits(p: E8m0Plan, b: number): number {
  // b is signed: negative inputs (and -0) fall through to `low`
  if (b >= NORMAL_BITS && b <= MAX_BITS) return (b + p.k) >>> 23;
  if (b >= MIN_BITS && b < NORMAL_BITS) return ((b + p.kSub) >>> 22) - 1;
  if ((b & 0x7fffffff) > 0x7f800000) return NAN;
  return b > MAX_BITS ? p.high : p.low;
}

/** Encodes `src` into `out`, four codes per 32-bit store where `out` is aligned. */
export function encodeE8m0(src: Float32Array, out: Uint8Array, round: RoundMode, saturate: boolean): void {
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length);
  const k = roundAddend(round);
  const p: E8m0Plan = { k, kSub: k >>> 1, high: saturate ? 0xfe : NAN, low: saturate ? 0x00 : NAN };
  const n = src.length;
  let i = 0;
  if (wordAligned(out)) {
    const words = new Int32Array(out.buffer, out.byteOffset, n >>> 2);
    for (let j = 0; j < words.length; j++, i += 4) {
      words[j] = encodeBits(p, bits[i]!) | (encodeBits(p, bits[i + 1]!) << 8) | (encodeBits(p, bits[i + 2]!) << 16) | (encodeBits(p, bits[i + 3]!) << 24);
    }
  }
  for (; i < n; i++) out[i] = encodeBits(p, bits[i]!);
}
