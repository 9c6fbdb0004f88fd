/**
 * Integer types int2…int32 and uint2…uint32, and the integer rounding and
 * saturation every quantizer in fixq uses.
 *
 *   signed b bits:    [−2^(b−1), 2^(b−1) − 1]      unsigned b bits: [0, 2^b − 1]
 *   saturate(x) = min(max(x, lo), hi)
 *   wrap(x)     = the value in the type's range that is ≡ x (mod 2^b)
 *   roundHalfEven(v) = nearest integer, ties to even (ONNX QuantizeLinear)
 *
 * Values are plain numbers: every value of these types is a safe integer.
 */
import { roundNumber, roundRatioNumber } from "./rounding.js";

export interface IntType {
  readonly kind: "int";
  readonly bits: number;
  readonly signed: boolean;
}

export const INT_MIN_BITS = 2;
export const INT_MAX_BITS = 32;

export function intType(bits: number, signed: boolean): IntType {
  if (!Number.isInteger(bits) || bits < INT_MIN_BITS || bits > INT_MAX_BITS) {
    throw new RangeError(`integer types have ${INT_MIN_BITS}…${INT_MAX_BITS} bits, not ${bits}`);
  }
  return { kind: "int", bits, signed };
}

/** Canonical name: `int4`, `uint17`. */
export function intTypeName(t: IntType): string {
  return `${t.signed ? "" : "u"}int${t.bits}`;
}

/** Parses a canonical name (`int2`…`int32`, `uint2`…`uint32`); the inverse of `intTypeName`. */
export function parseIntType(s: string): IntType {
  const m = /^(u?)int([1-9][0-9]*)$/.exec(s);
  const bits = m ? Number(m[2]) : Number.NaN;
  if (!m || bits < INT_MIN_BITS || bits > INT_MAX_BITS) {
    throw new SyntaxError(`'${s}' is not an integer type (int2…int32, uint2…uint32)`);
  }
  return intType(bits, m[1] === "");
}

export function intMin(t: IntType): number {
  return t.signed ? -(2 ** (t.bits - 1)) : 0;
}

export function intMax(t: IntType): number {
  return t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
}

export function isRepresentableInt(t: IntType, x: number): boolean {
  return Number.isInteger(x) && x >= intMin(t) && x <= intMax(t);
}

/** Clamps x to [lo, hi]. NaN stays NaN; ±Infinity clamp. */
export function clampInt(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function saturateInt(t: IntType, x: number): number {
  return clampInt(x, intMin(t), intMax(t));
}

/** Two's-complement wrap of an integer-valued double of any magnitude (exact: % is exact on doubles). */
export function wrapInt(t: IntType, x: number): number {
  if (!Number.isInteger(x)) throw new RangeError(`wrapInt: ${x} is not an integer`);
  const m = 2 ** t.bits;
  let r = x % m;
  if (r < 0) r += m;
  if (t.signed && r >= m / 2) r -= m;
  return r + 0; // no −0
}

/** Nearest integer, ties to even; exact for every double. NaN and ±Infinity pass through. */
export function roundHalfEven(v: number): number {
  return roundNumber(v, "AP_RND_CONV");
}

/** round(a / b) ties to even, for integers with |a| + |b| < 2^53; exact. */
export function divRoundHalfEven(a: number, b: number): number {
  return roundRatioNumber(a, b, "AP_RND_CONV");
}
