/**
 * C99 storage of the integer program's values, and C text helpers:
 *   a value of type intN / uintN (N ≤ 8, ≤ 16) is stored as int8_t / uint8_t,
 *   int16_t / uint16_t; anything wider (int32 accumulators, uint17…31) as int32_t,
 *   and an int64 accumulator (program.ts ACC64) as int64_t.
 * Operand types of the dot products: x − inputZero as int16_t when every
 * input value keeps it in [−2^15, 2^15), else int32_t; weights as int16_t when
 * they fit (a 16×16-bit product pair is what vectorizers turn into
 * pmaddwd / vpdpwssd / sdot), else int32_t.
 */
import type { ProgramValue } from "../../integer/program.js";
import { type IntType, intMax, intMin } from "../../numerics/int.js";

export type CType = "int8_t" | "uint8_t" | "int16_t" | "uint16_t" | "int32_t" | "int64_t";

/** Bytes of each storage type. */
export const C_BYTES: Readonly<Record<CType, number>> = { int8_t: 1, uint8_t: 1, int16_t: 2, uint16_t: 2, int32_t: 4, int64_t: 8 };

export function cType(t: IntType): CType {
  if (t.bits <= 8) return t.signed ? "int8_t" : "uint8_t";
  if (t.bits <= 16) return t.signed ? "int16_t" : "uint16_t";
  return t.bits > 32 ? "int64_t" : "int32_t";
}

/** The narrowest of int16_t / int32_t holding every integer in [lo, hi]. */
export function operandType(lo: number, hi: number): "int16_t" | "int32_t" {
  return lo >= -32768 && hi <= 32767 ? "int16_t" : "int32_t";
}

/** The type of x − z over x's type. */
export function shiftedType(v: ProgramValue, z: number): "int16_t" | "int32_t" {
  return operandType(intMin(v.type) - z, intMax(v.type) - z);
}

/** Largest |x − z| over x's type. */
export function maxAbsShifted(v: ProgramValue, z: number): number {
  return Math.max(Math.abs(intMin(v.type) - z), Math.abs(intMax(v.type) - z));
}

/** `x - z` as C text (int arithmetic), simplified for z = 0 and negative z. */
export function minusZero(x: string, z: number): string {
  if (z === 0) return x;
  return z < 0 ? `${x} + ${-z}` : `${x} - ${z}`;
}

/** An initializer list `{a, b, …}` wrapped at ~16 numbers a line. */
export function cList<T = number>(xs: ArrayLike<T>, literal: (x: T) => string = String): string {
  const items = Array.from(xs, literal);
  if (items.length === 0) return "{0}";
  const rows: string[] = [];
  for (let i = 0; i < items.length; i += 16) rows.push(`  ${items.slice(i, i + 16).join(", ")}`);
  return `{\n${rows.join(",\n")}\n}`;
}
