/**
 * Multi-input dyadic rescale: the integer program's `rescale` op (residual
 * Add, Concat branches, standalone ReLU, a change of scale).
 *
 *   y = clamp(outZero + rshr(Σ_i (x_i − z_i) · m_i, s), lo, hi)
 *   rshr(v, s) = floor((v + 2^(s−1)) / 2^s) for s ≥ 1, v for s = 0
 *                (a right shift rounding half toward +∞)
 *
 * Exactness in doubles: every term satisfies |(x_i − z_i) · m_i| < 2^48 (the
 * program's contract: activations of ≤ 16 bits, |x − z| ≤ 2^17, times
 * multipliers below 2^31), and there are at most 16 inputs, so every partial
 * sum, and the sum plus 2^(s−1), stays below 2^52 + 2^(s−1) < 2^53 for
 * s ≤ 52: each is an integer that a double holds exactly, and the final scale
 * by 2^−s and floor are exact too. Both functions check that contract and
 * throw a RangeError rather than round silently.
 */
import { clampInt } from "./int.js";

/** Largest |term| the double arithmetic admits. */
export const RESCALE_TERM_LIMIT = 2 ** 48;
/** Most inputs one rescale may sum (so that Σ terms < 2^52). */
export const RESCALE_MAX_INPUTS = 16;
/** Largest shift (so that the rounding offset 2^(s−1) keeps the sum below 2^53). */
export const RESCALE_MAX_SHIFT = 52;

/** floor((v + 2^(s−1)) / 2^s) for s ≥ 1, v for s = 0; exact for integer |v| + 2^(s−1) < 2^53. */
export function rshr(v: number, s: number): number {
  if (s === 0) return v;
  return Math.floor((v + 2 ** (s - 1)) * 2 ** -s);
}

function checkParams(n: number, zeros: readonly number[], multipliers: readonly number[], shift: number): void {
  if (n < 1 || n > RESCALE_MAX_INPUTS) throw new RangeError(`rescale of ${n} inputs: 1…${RESCALE_MAX_INPUTS} supported`);
  if (zeros.length !== n || multipliers.length !== n) throw new RangeError(`rescale: ${n} inputs but ${zeros.length} zero points and ${multipliers.length} multipliers`);
  if (!Number.isInteger(shift) || shift < 0 || shift > RESCALE_MAX_SHIFT) throw new RangeError(`rescale shift ${shift} not in 0…${RESCALE_MAX_SHIFT}`);
  for (const m of multipliers) {
    if (!Number.isInteger(m) || m < 0 || m >= 2 ** 31) throw new RangeError(`rescale multiplier ${m} not an integer in [0, 2^31)`);
  }
  for (const z of zeros) if (!Number.isSafeInteger(z)) throw new RangeError(`rescale zero point ${z} is not an integer`);
}

function termError(d: number, m: number): RangeError {
  return new RangeError(`rescale term (x − z)·m = ${d}·${m} is not below 2^48 in magnitude`);
}

/** The rescale of one element: xs[i] is input i's integer value. The reference definition. */
export function rescale(
  xs: readonly number[],
  zeros: readonly number[],
  multipliers: readonly number[],
  shift: number,
  outZero: number,
  lo: number,
  hi: number,
): number {
  checkParams(xs.length, zeros, multipliers, shift);
  let acc = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = xs[i]! - zeros[i]!;
    if (!Number.isSafeInteger(d) || Math.abs(d) * multipliers[i]! >= RESCALE_TERM_LIMIT) throw termError(d, multipliers[i]!);
    acc += d * multipliers[i]!;
  }
  return clampInt(outZero + rshr(acc, shift), lo, hi);
}

/**
 * `rescale` over arrays of one length: out[j] = rescale([inputs[0][j], …]).
 * Each input's extremes are scanned first to check the term bound, so the
 * inner loop is plain double arithmetic with the constants hoisted.
 */
export function rescaleArrays(
  inputs: readonly Int32Array[],
  zeros: readonly number[],
  multipliers: readonly number[],
  shift: number,
  outZero: number,
  lo: number,
  hi: number,
  out: Int32Array = new Int32Array(inputs[0]?.length ?? 0),
): Int32Array {
  const n = inputs.length;
  checkParams(n, zeros, multipliers, shift);
  const len = out.length;
  for (let i = 0; i < n; i++) {
    const x = inputs[i]!;
    if (x.length !== len) throw new RangeError(`rescale input ${i} has ${x.length} elements, the output ${len}`);
    let mn = 0;
    let mx = 0;
    for (let j = 0; j < len; j++) {
      const v = x[j]!;
      if (v < mn) mn = v;
      else if (v > mx) mx = v;
    }
    const z = zeros[i]!;
    const d = Math.max(Math.abs(mn - z), Math.abs(mx - z));
    if (d * multipliers[i]! >= RESCALE_TERM_LIMIT) throw termError(d, multipliers[i]!);
  }
  const half = shift === 0 ? 0 : 2 ** (shift - 1);
  const inv = 2 ** -shift;
  if (n === 1) {
    const a = inputs[0]!;
    const za = zeros[0]!;
    const ma = multipliers[0]!;
    for (let j = 0; j < len; j++) {
      const y = outZero + Math.floor(((a[j]! - za) * ma + half) * inv);
      out[j] = y < lo ? lo : y > hi ? hi : y;
    }
    return out;
  }
  if (n === 2) {
    const a = inputs[0]!;
    const b = inputs[1]!;
    const za = zeros[0]!;
    const zb = zeros[1]!;
    const ma = multipliers[0]!;
    const mb = multipliers[1]!;
    for (let j = 0; j < len; j++) {
      const y = outZero + Math.floor(((a[j]! - za) * ma + (b[j]! - zb) * mb + half) * inv);
      out[j] = y < lo ? lo : y > hi ? hi : y;
    }
    return out;
  }
  const acc = new Float64Array(len);
  for (let i = 0; i < n; i++) {
    const x = inputs[i]!;
    const z = zeros[i]!;
    const m = multipliers[i]!;
    for (let j = 0; j < len; j++) acc[j] += (x[j]! - z) * m;
  }
  for (let j = 0; j < len; j++) {
    const y = outZero + Math.floor((acc[j]! + half) * inv);
    out[j] = y < lo ? lo : y > hi ? hi : y;
  }
  return out;
}
