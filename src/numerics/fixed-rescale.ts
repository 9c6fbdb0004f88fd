/**
 * The fixed-point rescale: assigning an exact sum of integer terms, scaled by
 * 2^−s, to a W-bit fixed-point type with its ap_fixed rounding mode Q and
 * overflow mode O (fixed.ts, rounding.ts, overflow.ts). It is what HLS does on
 * `ap_fixed<W,I,Q,O,N> y = acc;` when acc carries s more fraction bits than y.
 *
 *   t = Σ_i x_i · m_i                       (exact; m_i ≥ 0 integers, usually powers of two)
 *   T = ⌊t / 2^s⌋,  r = t − T·2^s,  h = 2^(s−1)
 *   R = T + [Q rounds up]                   (s = 0: R = t)
 *       TRN never; TRN_ZERO r > 0 ∧ T < 0; RND r ≥ h; RND_ZERO r > h ∨ (r = h ∧ T < 0);
 *       RND_MIN_INF r > h; RND_INF r > h ∨ (r = h ∧ T ≥ 0); RND_CONV r > h ∨ (r = h ∧ T odd)
 *   V = O(R) into [min, max] of W bits:
 *       SAT clamp(R, min, max); SAT_ZERO R outside → 0; SAT_SYM clamp(R, −max, max) (signed);
 *       WRAP, N = 0: R mod 2^W, read back signed;
 *       WRAP, N ≥ 1 (R outside only): L = R mod 2^(W−N), signed: R < 0 → L − 2^(W−1), else
 *       L + 2^(W−1) − 2^(W−N); unsigned: L + 2^W − 2^(W−N)
 *   y = clamp(V, lo, hi)                    (ReLU / ReLU6 after the assignment)
 *
 * Exactness: every term |x_i·m_i| < 2^48 and at most 16 inputs (as rescale.ts),
 * so t, T, r and R are integers below 2^53; W ≤ 32. AP_WRAP_SM has no
 * printable form here (fixedRescaleDef refuses it); `fixedRescale` still
 * computes it, through fixed-convert's BigInt path.
 */
import { and, add, eq, type Expr, iff, le, let_, lt, mul, or, pow2, shr, sub, v } from "./expr.js";
import { clampE, type Definition } from "./definitions.js";
import { fixedType, type FixedType } from "./fixed.js";
import { fixedFromScaled } from "./fixed-convert.js";
import { clampInt } from "./int.js";
import type { OverflowMode } from "./overflow.js";
import type { FixedRoundMode } from "./rounding.js";
import { RESCALE_MAX_INPUTS, RESCALE_MAX_SHIFT, RESCALE_TERM_LIMIT } from "./rescale.js";

/** The parts of a fixed type a rescale into it reads (its raw values: I plays no part). */
export interface FixedCastSpec {
  readonly bits: number;
  readonly signed: boolean;
  readonly round: FixedRoundMode;
  readonly overflow: OverflowMode;
  readonly satBits: number;
}

/** Widest W a fixed-point activation may have in integer code. */
export const FIXED_RESCALE_MAX_BITS = 32;

/** The type with F = 0 whose raw values are the cast's integers. */
function rawType(t: FixedCastSpec): FixedType {
  return fixedType(t.bits, t.bits, { signed: t.signed, round: t.round, overflow: t.overflow, satBits: t.satBits });
}

/** Why integer code cannot apply the cast, or undefined. */
export function fixedCastProblem(t: FixedCastSpec): string | undefined {
  if (t.bits < 2 || t.bits > FIXED_RESCALE_MAX_BITS) return `W = ${t.bits} is outside 2…${FIXED_RESCALE_MAX_BITS}`;
  if (t.overflow === "AP_WRAP_SM") return "AP_WRAP_SM (sign-magnitude wrap) has no integer-code form yet";
  return undefined;
}

function checkTerms(xs: readonly number[], multipliers: readonly number[], shift: number): void {
  if (xs.length < 1 || xs.length > RESCALE_MAX_INPUTS) throw new RangeError(`fixed rescale of ${xs.length} inputs: 1…${RESCALE_MAX_INPUTS} supported`);
  if (multipliers.length !== xs.length) throw new RangeError(`fixed rescale: ${xs.length} inputs but ${multipliers.length} multipliers`);
  if (!Number.isInteger(shift) || shift < 0 || shift > RESCALE_MAX_SHIFT) throw new RangeError(`fixed rescale shift ${shift} not in 0…${RESCALE_MAX_SHIFT}`);
  for (const m of multipliers) if (!Number.isInteger(m) || m < 0 || m >= 2 ** 31) throw new RangeError(`fixed rescale multiplier ${m} not an integer in [0, 2^31)`);
}

/** The reference: one element, every mode (AP_WRAP_SM included), exact through BigInt. */
export function fixedRescale(xs: readonly number[], multipliers: readonly number[], shift: number, t: FixedCastSpec, lo: number, hi: number): number {
  checkTerms(xs, multipliers, shift);
  let sum = 0n;
  for (let i = 0; i < xs.length; i++) sum += BigInt(xs[i]!) * BigInt(multipliers[i]!);
  return clampInt(Number(fixedFromScaled(rawType(t), sum, shift)), lo, hi);
}

/** R: t / 2^s rounded by mode Q, for an integer t below 2^53 (doubles, exact). */
export function roundShiftNumber(t: number, s: number, mode: FixedRoundMode): number {
  if (s === 0) return t;
  const p = 2 ** s;
  const T = Math.floor(t / p);
  const r = t - T * p;
  const h = p / 2;
  let up: boolean;
  switch (mode) {
    case "AP_TRN":
      up = false;
      break;
    case "AP_TRN_ZERO":
      up = r > 0 && T < 0;
      break;
    case "AP_RND":
      up = r >= h;
      break;
    case "AP_RND_ZERO":
      up = r > h || (r === h && T < 0);
      break;
    case "AP_RND_MIN_INF":
      up = r > h;
      break;
    case "AP_RND_INF":
      up = r > h || (r === h && T >= 0);
      break;
    case "AP_RND_CONV":
      up = r > h || (r === h && T % 2 !== 0);
      break;
  }
  return up ? T + 1 : T;
}

/**
 * off with R = ⌊(t + off) / 2^s⌋ = round_Q(t / 2^s): off = a + neg·[t < 0] + [even]·(T mod 2),
 * T = ⌊t / 2^s⌋ (the integer-only ONNX export computes the same offsets).
 */
function roundOffsets(mode: FixedRoundMode, s: number): { a: number; neg: number; even: boolean } {
  const h = 2 ** (s - 1);
  switch (mode) {
    case "AP_TRN":
      return { a: 0, neg: 0, even: false };
    case "AP_TRN_ZERO":
      return { a: 0, neg: 2 ** s - 1, even: false };
    case "AP_RND":
      return { a: h, neg: 0, even: false };
    case "AP_RND_ZERO":
      return { a: h - 1, neg: 1, even: false };
    case "AP_RND_MIN_INF":
      return { a: h - 1, neg: 0, even: false };
    case "AP_RND_INF":
      return { a: h, neg: -1, even: false };
    case "AP_RND_CONV":
      return { a: h - 1, neg: 0, even: true };
  }
}

/** Largest |x|·m over an input, which must stay below 2^48. */
function checkTermBound(x: ArrayLike<number>, m: number, i: number, len: number): void {
  let mx = 0;
  for (let j = 0; j < len; j++) {
    const v = Math.abs(x[j]!);
    if (v > mx) mx = v;
  }
  if (!(mx * m < RESCALE_TERM_LIMIT)) throw new RangeError(`fixed rescale term ${mx}·${m} of input ${i} is not below 2^48 in magnitude`);
}

/**
 * The rescale over arrays, fast: the sum of one or two inputs inline, the
 * rounding as one offset and a floor (roundOffsets), overflow in doubles
 * (AP_WRAP_SM per element through the BigInt reference). Same results as
 * `fixedRescale` (tested against an independent ap_fixed reference).
 */
export function fixedRescaleArrays(
  inputs: readonly ArrayLike<number>[],
  multipliers: readonly number[],
  shift: number,
  t: FixedCastSpec,
  lo: number,
  hi: number,
  out: Int32Array,
): Int32Array {
  checkTerms(inputs.map(() => 0), multipliers, shift);
  const n = inputs.length;
  const len = out.length;
  for (let i = 0; i < n; i++) checkTermBound(inputs[i]!, multipliers[i]!, i, len);
  const sum = new Float64Array(len);
  if (n === 1) {
    const x = inputs[0]!;
    const m = multipliers[0]!;
    for (let j = 0; j < len; j++) sum[j] = x[j]! * m;
  } else {
    for (let i = 0; i < n; i++) {
      const x = inputs[i]!;
      const m = multipliers[i]!;
      for (let j = 0; j < len; j++) sum[j] += x[j]! * m;
    }
  }
  // R = round_Q(t / 2^s), in place
  if (shift > 0) {
    const { a, neg, even } = roundOffsets(t.round, shift);
    const inv = 2 ** -shift;
    for (let j = 0; j < len; j++) {
      const v = sum[j]!;
      let off = v < 0 ? a + neg : a;
      if (even) {
        const T = Math.floor(v * inv);
        off += T - 2 * Math.floor(T / 2);
      }
      sum[j] = Math.floor((v + off) * inv);
    }
  }
  const wmin = t.signed ? -(2 ** (t.bits - 1)) : 0;
  const wmax = t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
  const mod = 2 ** t.bits;
  const keep = 2 ** (t.bits - t.satBits);
  const sat = t.overflow === "AP_SAT" || t.overflow === "AP_SAT_SYM";
  // SAT and SAT_SYM are one clamp (SAT_SYM's floor is −max)
  const clo = sat ? Math.max(lo, t.overflow === "AP_SAT_SYM" && t.signed && t.bits > 1 ? wmin + 1 : wmin) : lo;
  const chi = sat ? Math.min(hi, wmax) : hi;
  for (let j = 0; j < len; j++) {
    const R = sum[j]!;
    let V = R;
    if (!sat && (R < wmin || R > wmax)) {
      if (t.overflow === "AP_SAT_ZERO") V = 0;
      else if (t.overflow === "AP_WRAP" && t.satBits === 0) {
        const u = R - Math.floor(R / mod) * mod;
        V = t.signed && u > wmax ? u - mod : u;
      } else if (t.overflow === "AP_WRAP") {
        const low = R - Math.floor(R / keep) * keep;
        V = t.signed ? (R < 0 ? low - mod / 2 : low + mod / 2 - keep) : low + mod - keep;
      } else {
        out[j] = fixedRescale(
          inputs.map((x) => x[j]!),
          multipliers,
          shift,
          t,
          lo,
          hi,
        );
        continue;
      }
    }
    out[j] = V < clo ? clo : V > chi ? chi : V;
  }
  return out;
}

type E = Expr | number;

/** R = round_Q(t / 2^s) as an Expr (s a known constant ≥ 0). */
function roundE(t: Expr, s: number, mode: FixedRoundMode): Expr {
  if (s === 0 || mode === "AP_TRN") return s === 0 ? t : shr(t, s);
  return let_("T", shr(t, s), (T) =>
    let_("r", sub(t, mul(T, pow2(s))), (r) => {
      const h = 2 ** (s - 1);
      const odd = eq(sub(T, mul(2, shr(T, 1))), 1);
      const up = {
        AP_TRN_ZERO: and(lt(0, r), lt(T, 0)),
        AP_RND: le(h, r),
        AP_RND_ZERO: or(lt(h, r), and(eq(r, h), lt(T, 0))),
        AP_RND_MIN_INF: lt(h, r),
        AP_RND_INF: or(lt(h, r), and(eq(r, h), le(0, T))),
        AP_RND_CONV: or(lt(h, r), and(eq(r, h), odd)),
      }[mode];
      return iff(up, add(T, 1), T);
    }),
  );
}

/** x mod 2^k (0 ≤ result < 2^k). */
const modPow2 = (x: Expr, k: number): Expr => sub(x, mul(shr(x, k), pow2(k)));

/** V = O(R) into W bits, as an Expr. */
function overflowE(R: Expr, t: FixedCastSpec): Expr {
  const wmin = t.signed ? -(2 ** (t.bits - 1)) : 0;
  const wmax = t.signed ? 2 ** (t.bits - 1) - 1 : 2 ** t.bits - 1;
  const inRange = and(le(wmin, R), le(R, wmax));
  switch (t.overflow) {
    case "AP_SAT":
      return clampE(R, wmin, wmax);
    case "AP_SAT_SYM":
      return clampE(R, t.signed && t.bits > 1 ? wmin + 1 : wmin, wmax);
    case "AP_SAT_ZERO":
      return iff(inRange, R, 0);
    case "AP_WRAP": {
      const mod = 2 ** t.bits;
      if (t.satBits === 0) return let_("u", modPow2(R, t.bits), (u) => (t.signed ? iff(lt(wmax, u), sub(u, mod), u) : u));
      const keep = t.bits - t.satBits;
      const wrapped = let_("L", modPow2(R, keep), (L) =>
        t.signed ? iff(lt(R, 0), sub(L, mod / 2), add(L, mod / 2 - 2 ** keep)) : add(L, mod - 2 ** keep),
      );
      return iff(inRange, R, wrapped);
    }
    case "AP_WRAP_SM":
      throw new RangeError(fixedCastProblem(t));
  }
}

/** A short, C-identifier-safe name of a cast: `s16_RND_CONV_SAT`, `u8_TRN_WRAP2`. */
export function fixedCastTag(t: FixedCastSpec): string {
  const q = t.round.slice(3);
  const o = t.overflow.slice(3) + (t.satBits > 0 ? String(t.satBits) : "");
  return `${t.signed ? "s" : "u"}${t.bits}_${q}_${o}`;
}

/**
 * The printable definition of an n-input rescale into `t` with shift s:
 * params x0, m0, x1, m1, …, lo, hi. The modes and the shift are part of the
 * definition (they decide its shape), the rest are parameters.
 */
export function fixedRescaleDef(n: number, shift: number, t: FixedCastSpec): Definition {
  const problem = fixedCastProblem(t);
  if (problem) throw new RangeError(`fixed rescale into ${fixedCastTag(t)}: ${problem}`);
  if (!Number.isInteger(shift) || shift < 0 || shift > RESCALE_MAX_SHIFT) throw new RangeError(`fixed rescale shift ${shift} not in 0…${RESCALE_MAX_SHIFT}`);
  const ids = Array.from({ length: n }, (_, i) => i);
  const sum = ids.map((i) => mul(v(`x${i}`), v(`m${i}`)) as E).reduce((a, b) => add(a, b)) as Expr;
  return {
    name: `fixed_rescale${n}_${shift}_${fixedCastTag(t)}`,
    params: [...ids.flatMap((i) => [`x${i}`, `m${i}`]), "lo", "hi"],
    body: let_("t", sum, (tt) => let_("R", roundE(tt, shift, t.round), (R) => clampE(overflowE(R, t), v("lo"), v("hi")))),
  };
}

/**
 * Why a fixed rescale is outside the domain above, given its inputs' value
 * ranges (each term |x·m| < 2^48, the shift and the cast), or undefined.
 */
export function fixedRescaleDomainIssue(
  op: { readonly multipliers: readonly number[]; readonly shift: number; readonly cast: FixedCastSpec },
  ranges: readonly { readonly lo: number; readonly hi: number }[],
): string | undefined {
  const cast = fixedCastProblem(op.cast);
  if (cast) return cast;
  if (op.multipliers.length < 1 || op.multipliers.length > RESCALE_MAX_INPUTS) return `${op.multipliers.length} inputs: 1…${RESCALE_MAX_INPUTS} supported`;
  if (!Number.isInteger(op.shift) || op.shift < 0 || op.shift > RESCALE_MAX_SHIFT) return `shift ${op.shift} is outside 0…${RESCALE_MAX_SHIFT}`;
  for (let i = 0; i < op.multipliers.length; i++) {
    const m = op.multipliers[i]!;
    if (!Number.isInteger(m) || m < 0 || m >= 2 ** 31) return `multiplier ${m} of input ${i} is not an integer in [0, 2^31)`;
    const r = ranges[i]!;
    const term = Math.max(Math.abs(r.lo), Math.abs(r.hi)) * m;
    if (term >= RESCALE_TERM_LIMIT) return `the term x·m of input ${i} reaches ${term} ≥ 2^48, past the exact arithmetic of the program`;
  }
  return undefined;
}
