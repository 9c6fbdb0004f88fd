/**
 * The C++ types of the HLS design, and how its code reads and writes them.
 * Two spellings (`--hls-types`):
 *   ap      ap_int<W> / ap_uint<W> (UG1399), W the fewest bits holding the
 *           values: lo < 0 → ap_int<W>, W = 1 + max(bits(−lo − 1), bits(hi));
 *           lo ≥ 0 → ap_uint<W>, W = max(1, bits(hi)); bits(v) = ⌈log2(v + 1)⌉
 *   stdint  the narrowest of int8/16/32/64_t (uint8/16/32/64_t) at least that wide
 * The generated code touches an ap value only through what UG1399 documents
 * and both fixq's and Xilinx's headers provide: construction from a C integer
 * or an ap value (keeps the low W bits), `to_int64()`, + − × between ap
 * values and C ints (exact, in UG1399's result types), `>>` by an int or an
 * ap_uint (arithmetic on ap_int), comparisons, and `+=` of an ap value (wraps
 * to W bits). The MACs and the requant (print-ap.ts) are ap arithmetic; pools,
 * rescale and data movement still read values into int64_t.
 */
import type { IntRange } from "../../numerics/domain.js";

export type HlsTypes = "ap" | "stdint";
export const HLS_TYPES: readonly HlsTypes[] = ["ap", "stdint"];

/** Bits and signedness of the fewest-bits integer type holding r. */
export function rangeWidth(r: IntRange): { bits: number; signed: boolean } {
  const bits = (v: number) => (v <= 0 ? 0 : Math.ceil(Math.log2(v + 1)));
  if (r.lo >= 0) return { bits: Math.max(1, bits(r.hi)), signed: false };
  return { bits: 1 + Math.max(bits(-r.lo - 1), bits(r.hi)), signed: true };
}

/** Bits of a signed integer holding lo…hi (the multiplier operand width of x − z). */
export function signedBits(lo: number, hi: number): number {
  let w = 1;
  while (-(2 ** (w - 1)) > lo || 2 ** (w - 1) - 1 < hi) w++;
  return w;
}

/** The type of `bits` bits (signed or not) in the chosen spelling. */
export function intTypeName(t: { bits: number; signed: boolean }, mode: HlsTypes): string {
  if (mode === "ap") return `${t.signed ? "ap_int" : "ap_uint"}<${t.bits}>`;
  const w = t.bits <= 8 ? 8 : t.bits <= 16 ? 16 : t.bits <= 32 ? 32 : 64;
  return `${t.signed ? "" : "u"}int${w}_t`;
}

/** ap_int<W> / ap_uint<W> holding every integer of r, W minimal (see the file comment). */
export function apIntType(r: IntRange): string {
  return intTypeName(rangeWidth(r), "ap");
}

/** `x` (a value of an HLS type) as an int64_t expression. */
export function readInt(x: string, mode: HlsTypes): string {
  return mode === "ap" ? `(${x}).to_int64()` : `(int64_t)(${x})`;
}

/** The integer expression `e` stored into type `t` (it holds the value: no wrap happens). */
export function writeInt(t: string, e: string, mode: HlsTypes): string {
  return mode === "ap" ? `${t}(${e})` : `(${t})(${e})`;
}
