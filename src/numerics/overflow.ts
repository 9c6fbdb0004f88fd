/**
 * The five ap_fixed overflow modes, applied to the rounded integer R = round(v·2^F)
 * when it falls outside [min, max] of a W-bit type (UG1399, "Overflow Modes";
 * the bit-level rules of the wrap modes with N > 0 are those of IEEE 1666
 * SystemC sc_fixed, which ap_fixed_base.h implements).
 *
 *   AP_SAT       R > max → max, R < min → min
 *   AP_SAT_ZERO  → 0
 *   AP_SAT_SYM   R > max → max, R < −max → −max (signed), R < 0 → 0 (unsigned);
 *                also R = min → −max, so the range is symmetric
 *   AP_WRAP      u = R mod 2^W (the low W bits), then
 *                N = 0: u;
 *                signed N ≥ 1: MSB := sign(R), and for N ≥ 2 bits [W−N, W−2] := ¬sign(R)
 *                unsigned N ≥ 1: bits [W−N, W−1] := 1 (on overflow and on underflow)
 *   AP_WRAP_SM   sign-magnitude wrap, signed types only; s = sign(R), Ro = bit W−1 of u
 *                N = 0: invert u if lD ≠ Ro, where lD = bit W of floor(v·2^F)
 *                N = 1: invert u if s ≠ Ro; MSB := s
 *                N ≥ 2: invert u if bit W−N of u = s; bits [W−N, W−2] := ¬s; MSB := s
 *
 * lD is read before the rounding increment, as ap_fixed_base.h does (SystemC
 * reads it after). The two differ only when rounding carries out of the W kept
 * bits; fixq follows the library that HLS C simulation runs.
 *
 * AP_SAT_SYM on a 1-bit signed type has −max = 0 but ap_fixed yields min
 * there (it forms −max as min | 1); fixq does the same.
 */

export const OVERFLOW_MODES = ["AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP", "AP_WRAP_SM"] as const;
export type OverflowMode = (typeof OVERFLOW_MODES)[number];

/** The parts of a fixed type that overflow handling reads. */
export interface OverflowSpec {
  readonly bits: number;
  readonly signed: boolean;
  readonly overflow: OverflowMode;
  readonly satBits: number;
}

/**
 * The raw W-bit value for the rounded integer `r`; `floorT` is floor(v·2^F)
 * before rounding (only AP_WRAP_SM with N = 0 reads it).
 */
export function overflowRaw(t: OverflowSpec, r: bigint, floorT: bigint): bigint {
  const w = BigInt(t.bits);
  const lo = t.signed ? -(1n << (w - 1n)) : 0n;
  const hi = t.signed ? (1n << (w - 1n)) - 1n : (1n << w) - 1n;
  const symLo = t.signed && t.bits > 1 ? lo + 1n : lo;
  if (r >= lo && r <= hi) return t.overflow === "AP_SAT_SYM" && r === lo ? symLo : r;
  switch (t.overflow) {
    case "AP_SAT":
      return r > hi ? hi : lo;
    case "AP_SAT_ZERO":
      return 0n;
    case "AP_SAT_SYM":
      return r > hi ? hi : symLo;
    case "AP_WRAP":
      return toSigned(t, wrapBits(t, r));
    case "AP_WRAP_SM":
      return toSigned(t, wrapSignMagnitude(t, r, floorT));
  }
}

function wrapBits(t: OverflowSpec, r: bigint): bigint {
  const w = t.bits;
  const n = t.satBits;
  let u = r & mask(w);
  if (n === 0) return u;
  if (!t.signed) return setField(u, w - n, w - 1, true);
  const neg = r < 0n;
  u = setField(u, w - 1, w - 1, neg);
  return n > 1 ? setField(u, w - n, w - 2, !neg) : u;
}

function wrapSignMagnitude(t: OverflowSpec, r: bigint, floorT: bigint): bigint {
  const w = t.bits;
  const n = t.satBits;
  let u = r & mask(w);
  const ro = bit(u, w - 1);
  if (n === 0) return bit(floorT, w) !== ro ? u ^ mask(w) : u;
  const neg = r < 0n;
  if (n === 1) {
    if (neg !== ro) u ^= mask(w);
  } else {
    if (bit(u, w - n) === neg) u ^= mask(w);
    u = setField(u, w - n, w - 2, !neg);
  }
  return setField(u, w - 1, w - 1, neg);
}

function mask(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

function bit(v: bigint, i: number): boolean {
  return ((v >> BigInt(i)) & 1n) === 1n;
}

/** Sets bits lo…hi (inclusive) of u to all ones or all zeros. */
function setField(u: bigint, lo: number, hi: number, ones: boolean): bigint {
  const m = mask(hi - lo + 1) << BigInt(lo);
  return ones ? u | m : u & ~m;
}

function toSigned(t: OverflowSpec, u: bigint): bigint {
  return t.signed && bit(u, t.bits - 1) ? u - (1n << BigInt(t.bits)) : u;
}
