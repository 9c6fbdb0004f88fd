/**
 * Whether a GEMM operand fits int16, the width of the SIMD engine's
 * i32x4.dot_i16x8_s: activations x − inputZero over the whole range of the
 * value's type, and the weights themselves.
 */
import type { ProgramValue } from "../../../integer/program.js";
import { FixqError } from "../../../ir/errors.js";
import { intMax, intMin } from "../../../numerics/int.js";

const I16_MIN = -32768;
const I16_MAX = 32767;

export function operandFitsInt16(v: ProgramValue, zero: number): boolean {
  return intMin(v.type) - zero >= I16_MIN && intMax(v.type) - zero <= I16_MAX;
}

export function weightsFitInt16(w: Int32Array): boolean {
  for (let i = 0; i < w.length; i++) if (w[i]! < I16_MIN || w[i]! > I16_MAX) return false;
  return true;
}

/**
 * Whether every accumulator bias[o] + Σ_k (x − zero)·w[o, k] fits int32 for
 * every input the value's type allows: |bias[o]| + max|x − zero|·Σ_k |w[o, k]| < 2^31
 * for each row o of `rowLength` weights. Then wrapping int32 arithmetic
 * cannot wrap, and a range check after the fact sees the exact values.
 * With `limit` = 2^53 (a widened int64 accumulator, program.ts ACC64), every
 * partial sum of the double-precision GEMM is below 2^53 in magnitude, so
 * the doubles are exact.
 */
export function accumulatorsFitInt32(v: ProgramValue, zero: number, weight: Int32Array, rowLength: number, bias: Int32Array | undefined, limit = 2 ** 31): boolean {
  const d = Math.max(Math.abs(intMin(v.type) - zero), Math.abs(intMax(v.type) - zero));
  const rows = weight.length / rowLength;
  for (let o = 0; o < rows; o++) {
    let s = 0;
    for (let k = 0; k < rowLength; k++) s += Math.abs(weight[o * rowLength + k]!);
    if (Math.abs(bias?.[o] ?? 0) + d * s >= limit) return false;
  }
  return true;
}

/** The exactness bound of a widened accumulator's double-precision sums (see accumulatorsFitInt32). */
export const EXACT_DOUBLE_LIMIT = 2 ** 53;

/** Throws, naming the node, when a widened accumulator's partial sums could reach 2^53 (doubles no longer exact). */
export function checkWideExact(source: string, v: ProgramValue, zero: number, weight: Int32Array, rowLength: number, bias: Int32Array | undefined): void {
  if (!accumulatorsFitInt32(v, zero, weight, rowLength, bias, EXACT_DOUBLE_LIMIT)) {
    throw new FixqError("unsupported", `${source}: the emulator's int64 accumulator sums could reach 2^53, past exact doubles; use narrower weights or activations`);
  }
}
