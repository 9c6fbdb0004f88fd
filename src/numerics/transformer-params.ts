/**
 * The constants of the transformer kernels (transformer.ts), derived from
 * real scales, with the bounds that keep every kernel step exact in doubles.
 * Each returns undefined when no choice is exact (the lowering then refuses).
 *
 *   softmax    E[d] = round(2^15·exp(−d·S_x)), d = 0 … span; c = round(2^r / S_y),
 *              the least r ≥ 1 with c ≥ 2^15; exact while c < 2^22 and 2^15·L·2^r < 2^52
 *   layernorm  k, F the largest ≤ 20 with V·4^k + E < 2^52 and |c·g| + |b|·D + D·2^F < 2^52,
 *              |c_i| ≤ (C−1)·R (RMSNorm: C·R), V ≤ C·max|c|², D ≤ √(V·4^k + E) + 1, R the input span
 *   addconst   m = round(S_x/S_y·2^s), o_i = round(C_i/S_y·2^s), s from the multiplier
 *              width (≤ 52), lowered until (R·S_x/S_y + max|C|/S_y + 1)·2^s < 2^51
 */
import { quantizeMultiplier } from "./requant.js";

const LIMIT = 2 ** 52;
export const SOFTMAX_EXP_BITS = 15;

export interface SoftmaxParams {
  readonly exp: Int32Array;
  readonly numerator: number;
  readonly shift: number;
}

/** For an input of scale `sx` spanning `span` codes, output scale `sy`, rows of L. */
export function softmaxParams(sx: number, span: number, sy: number, L: number): SoftmaxParams | undefined {
  const exp = new Int32Array(span + 1);
  for (let d = 0; d <= span; d++) exp[d] = Math.round(2 ** SOFTMAX_EXP_BITS * Math.exp(-d * sx));
  let shift = 1;
  while (Math.round(2 ** shift / sy) < 2 ** 15 && shift < 60) shift++;
  const numerator = Math.round(2 ** shift / sy);
  if (numerator >= 2 ** 22 || 2 ** SOFTMAX_EXP_BITS * L * 2 ** shift >= LIMIT) return undefined;
  return { exp, numerator, shift };
}

export interface LayerNormParams {
  readonly gamma: Float64Array;
  readonly beta: Float64Array;
  readonly varShift: number;
  readonly fracBits: number;
  readonly epsilon: number;
}

/** The bound on |c_i| = |C·x_i − s|: (C − 1)·span for LayerNorm (s = Σ x), C·span for RMSNorm (s = C·z_x). */
export function layerNormCMax(C: number, span: number, rms: boolean): number {
  return (rms ? C : C - 1) * span;
}

/** For rows of C inputs of scale `sx` spanning `span` codes, LayerNormalization(γ, β, ε) (or, `rms`, RMSNormalization) into output scale `sy`. */
export function layerNormParams(gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number, sx: number, span: number, sy: number, rms = false): LayerNormParams | undefined {
  const C = gamma.length;
  const cMax = layerNormCMax(C, span, rms);
  const vMax = C * cMax * cMax;
  const epsTerm = (k: number) => Math.max(1, Math.round((eps * C ** 3 * 4 ** k) / sx ** 2));
  let k = 20;
  while (k > 0 && vMax * 4 ** k + epsTerm(k) >= LIMIT) k--;
  const E = epsTerm(k);
  if (vMax * 4 ** k + E >= LIMIT) return undefined;
  const dMax = Math.sqrt(vMax * 4 ** k + E) + 1;
  let gMax = 0;
  let bMax = 0;
  for (let i = 0; i < C; i++) {
    gMax = Math.max(gMax, Math.abs(gamma[i]!));
    bMax = Math.max(bMax, Math.abs(beta[i]!));
  }
  const fits = (F: number) => cMax * ((gMax * Math.sqrt(C) * 2 ** (k + F)) / sy + 1) + ((bMax * 2 ** F) / sy + 1) * dMax + dMax * 2 ** F < LIMIT;
  let F = 20;
  while (F > 1 && !fits(F)) F--;
  if (!fits(F)) return undefined;
  return {
    gamma: Float64Array.from(gamma, (v) => Math.round((v * Math.sqrt(C) * 2 ** (k + F)) / sy)),
    beta: Float64Array.from(beta, (v) => Math.round((v * 2 ** F) / sy)),
    varShift: k,
    fracBits: F,
    epsilon: E,
  };
}

export interface AddConstParams {
  readonly multiplier: number;
  readonly offset: Float64Array;
  readonly shift: number;
}

/** y = (S_x·(x − z_x) + C_i) / S_y over inputs within `span` codes of z_x, with `bits`-bit multipliers. */
export function addConstParams(sx: number, span: number, constant: ArrayLike<number>, sy: number, bits: number): AddConstParams | undefined {
  const M = sx / sy;
  let cmax = 0;
  for (let i = 0; i < constant.length; i++) cmax = Math.max(cmax, Math.abs(constant[i]!) / sy);
  const bound = (s: number) => (span * M + cmax + 1) * 2 ** s;
  let shift = Math.min(52, Math.max(0, quantizeMultiplier(M, bits).s));
  while (shift > 0 && bound(shift) >= 2 ** 51) shift--;
  const multiplier = Math.round(M * 2 ** shift);
  if (bound(shift) >= 2 ** 51 || multiplier === 0) return undefined;
  return { multiplier, offset: Float64Array.from(constant, (v) => Math.round((v / sy) * 2 ** shift)), shift };
}
