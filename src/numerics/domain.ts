/**
 * The exact domain of each integer primitive of the integer program: the
 * multipliers, shifts and operand ranges for which numerics defines it.
 * Every back end refuses a program outside these (plus whatever narrower
 * domain it implements), naming the op and the reason this module gives.
 *
 * requant (requant.ts), y = clamp(R(acc, m·2^−s) + z, lo, hi):
 *   both:    m an integer, 0 ≤ m < 2^31; s an integer; acc ∈ int32
 *   single:  m = 0, or s ≥ −22 (so m·2^−s < 2^53; s ≥ 64 gives 0; s ≤ 0 gives acc·m·2^−s,
 *            saturated by the clamp)
 *   double:  m = 0 (result 0), or s ≤ 62 (RoundingDivideByPOT exponent s − 31 ≤ 31)
 *            and acc·2^l ∈ int32 for every acc in its range, l = max(0, 31 − s)
 *            (gemmlowp's left shift; undefined where it overflows)
 * rescale (rescale.ts), y = clamp(z + rshr(Σ (x_i − z_i)·m_i, s), lo, hi):
 *   1 ≤ n ≤ 16 inputs, one zero point and one multiplier each; m_i integers in
 *   [0, 2^31); 0 ≤ s ≤ 52; |x_i − z_i|·m_i < 2^48 for every x_i in its range
 *   (so that the sum and its rounding offset stay below 2^53, exact in doubles)
 * quantize (int-group.ts), q = clamp(roundHalfEven(float32(x / scale)) + z, qmin, qmax):
 *   scale positive and finite as a float32 (it is rounded to float32, as ONNX
 *   stores it); z, qmin ≤ qmax integers
 * dequantize, y = float32(float32(q − z)·scale): the same scale; z an integer
 *
 * Each function returns the reason a parameter set is outside the domain, or
 * undefined when it is inside.
 */
import { INT32_MAX, INT32_MIN, type Dyadic, type RequantRounding } from "./requant.js";
import { RESCALE_MAX_INPUTS, RESCALE_MAX_SHIFT, RESCALE_TERM_LIMIT } from "./rescale.js";

/** Inclusive integer range of an operand. */
export interface IntRange {
  readonly lo: number;
  readonly hi: number;
}

/** Multipliers of requant and rescale are below this (31-bit magnitudes). */
export const MULTIPLIER_LIMIT = 2 ** 31;
/** Smallest requant shift single rounding defines (m·2^−s stays below 2^53, exact in a double or an int64). */
export const SINGLE_MIN_SHIFT = -22;
/** Largest requant shift double rounding defines (RoundingDivideByPOT takes exponents ≤ 31). */
export const DOUBLE_MAX_SHIFT = 62;

export const INT32_RANGE: IntRange = { lo: INT32_MIN, hi: INT32_MAX };

const isInt = (x: number) => Number.isSafeInteger(x);

/** gemmlowp's left shift of double rounding: l = max(0, 31 − s). */
export function doubleLeftShift(s: number): number {
  return Math.max(0, 31 - s);
}

/** Why requantizing accumulators in `acc` by `d` under `rounding` is outside numerics' definition; undefined inside. */
export function requantDomainIssue(d: Dyadic, rounding: RequantRounding, acc: IntRange = INT32_RANGE): string | undefined {
  if (!isInt(d.m) || d.m < 0 || d.m >= MULTIPLIER_LIMIT) return `multiplier m = ${d.m} is not an integer in [0, 2^31)`;
  if (!isInt(d.s)) return `shift s = ${d.s} is not an integer`;
  if (acc.lo < INT32_MIN || acc.hi > INT32_MAX) return `the accumulator range [${acc.lo}, ${acc.hi}] leaves int32`;
  if (d.m === 0) return undefined;
  if (rounding === "single") return d.s < SINGLE_MIN_SHIFT ? `single rounding needs a shift ≥ ${SINGLE_MIN_SHIFT} (m·2^−s below 2^53), got ${d.s}` : undefined;
  if (d.s > DOUBLE_MAX_SHIFT) return `double rounding needs a shift ≤ ${DOUBLE_MAX_SHIFT} (RoundingDivideByPOT exponent ≤ 31), got ${d.s}`;
  const l = doubleLeftShift(d.s);
  if (l > 0 && (acc.lo * 2 ** l < INT32_MIN || acc.hi * 2 ** l > INT32_MAX)) {
    return `double rounding's left shift by ${l} (s = ${d.s}) overflows int32 for accumulators in [${acc.lo}, ${acc.hi}] (gemmlowp leaves it undefined)`;
  }
  return undefined;
}

export interface RescaleParams {
  readonly inputZeros: readonly number[];
  readonly multipliers: readonly number[];
  readonly shift: number;
}

/** Why a rescale of inputs in `ranges` (one per input) is outside numerics' definition; undefined inside. */
export function rescaleDomainIssue(op: RescaleParams, ranges: readonly IntRange[]): string | undefined {
  const n = ranges.length;
  if (n < 1 || n > RESCALE_MAX_INPUTS) return `${n} inputs: 1…${RESCALE_MAX_INPUTS} supported`;
  if (op.inputZeros.length !== n || op.multipliers.length !== n) return `${n} inputs but ${op.inputZeros.length} zero points and ${op.multipliers.length} multipliers`;
  if (!isInt(op.shift) || op.shift < 0 || op.shift > RESCALE_MAX_SHIFT) return `shift ${op.shift} is not an integer in 0…${RESCALE_MAX_SHIFT}`;
  for (let i = 0; i < n; i++) {
    const m = op.multipliers[i]!;
    const z = op.inputZeros[i]!;
    if (!isInt(m) || m < 0 || m >= MULTIPLIER_LIMIT) return `multiplier ${m} of input ${i} is not an integer in [0, 2^31)`;
    if (!isInt(z)) return `zero point ${z} of input ${i} is not an integer`;
    const d = Math.max(Math.abs(ranges[i]!.lo - z), Math.abs(ranges[i]!.hi - z));
    if (d * m >= RESCALE_TERM_LIMIT) return `term (x − z)·m of input ${i} reaches ${d}·${m} ≥ 2^48 for x in [${ranges[i]!.lo}, ${ranges[i]!.hi}], past exact double arithmetic`;
  }
  return undefined;
}

function scaleIssue(scale: number): string | undefined {
  const f = Math.fround(scale);
  return f > 0 && Number.isFinite(f) ? undefined : `scale ${scale} is not positive and finite as a float32`;
}

/** Why a QuantizeLinear with these parameters is outside numerics' definition; undefined inside. */
export function quantizeDomainIssue(scale: number, zeroPoint: number, qmin: number, qmax: number): string | undefined {
  if (!isInt(zeroPoint)) return `zero point ${zeroPoint} is not an integer`;
  if (!isInt(qmin) || !isInt(qmax) || qmin > qmax) return `[${qmin}, ${qmax}] is not an integer range`;
  return scaleIssue(scale);
}

/** Why a DequantizeLinear with these parameters is outside numerics' definition; undefined inside. */
export function dequantizeDomainIssue(scale: number, zeroPoint: number): string | undefined {
  if (!isInt(zeroPoint)) return `zero point ${zeroPoint} is not an integer`;
  return scaleIssue(scale);
}
