/**
 * The integer primitives of the integer program, each stated once as an
 * Expr (expr.ts) that code generators print (backends/shared/print-js.ts for
 * JS; C99 and HLS C++ printers next) instead of re-deriving the arithmetic.
 * They are the same functions numerics computes (int.ts, requant.ts,
 * rescale.ts, int-group.ts), written so that every integer intermediate stays
 * below 2^53 in magnitude over the domain (domain.ts): a double, an int64_t or
 * an ap_int<64> holds each exactly. Tests evaluate every definition, and
 * the printed JS, against the numerics functions bit for bit.
 *
 * The 62-bit product acc·m never appears whole: with m = mh·2^16 + ml,
 *   acc·m = h·2^16 + l,  h = acc·mh + ⌊acc·ml / 2^16⌋  (|h| < 2^47),  0 ≤ l < 2^16
 * and the shifts are taken on h (numerics/requant.ts does the same).
 *   roundHalfEven(v)             t = ⌊v⌋, f = v − t: t if f < ½ (or f is 0 or NaN), t + 1 if f > ½, else the even one
 *   clamp(x, lo, hi)             lo if x < lo, hi if x > hi, else x
 *   rshr(v, s)                   ⌊(v + 2^(s−1)) / 2^s⌋ for s ≥ 1, v for s = 0
 *   requant single, by s:        m = 0 or s ≥ 64: 0;  s ≤ 0: acc·(m·2^−s) (only a clamp reads a product ≥ 2^53);
 *                                17 ≤ s ≤ 63: ⌊(h + 2^(s−17)) / 2^(s−16)⌋;  1 ≤ s ≤ 16: h·2^(16−s) + ⌊(l + 2^(s−1)) / 2^s⌋
 *   srdhm(a, b)                  INT32_MAX if a = b = INT32_MIN, else ⌊(a·b + 2^30) / 2^31⌋ = ⌊(h + 2^14) / 2^15⌋
 *   rdbp(v, k)                   ⌊v / 2^k⌋ + [v − ⌊v / 2^k⌋·2^k > ⌊(2^k − 1) / 2⌋ + [v < 0]]   (ties away from 0)
 *   requant double, by s:        m = 0: 0;  31 ≤ s ≤ 62: rdbp(srdhm(acc, m), s − 31);
 *                                s ≤ 30: srdhm(acc·2^(31−s), m), where acc·2^(31−s) must fit int32
 *   requant                      clamp(R(acc) + z, lo, hi)
 *   rescale                      clamp(z + rshr(Σ (x_i − z_i)·m_i, s), lo, hi)
 *   quantize                     clamp(roundHalfEven(float32(x / scale)) + z, qmin, qmax)
 *   dequantize                   float32(float32(q − z) · scale)
 */
import type { Callable } from "./expr-eval.js";
import {
  add,
  and,
  call,
  div,
  eq,
  type Expr,
  f32,
  floor,
  guard,
  iff,
  le,
  let_,
  lt,
  mul,
  mulSat,
  not,
  or,
  pow2,
  real,
  shr,
  sub,
  v,
} from "./expr.js";
import { INT32_MAX, INT32_MIN } from "./requant.js";

/** A printable primitive: its parameters (integers unless listed in `reals`) and its body. */
export interface Definition extends Callable {
  readonly name: string;
  readonly reals?: readonly string[];
}

type E = Expr | number;
const X = (x: E): Expr => (typeof x === "number" ? { k: "num", v: x } : x);

export const roundHalfEvenDef: Definition = {
  name: "roundHalfEven",
  params: ["v"],
  reals: ["v"],
  body: let_("t", floor(real("v")), (t) =>
    let_("f", sub(real("v"), t), (f) => iff(not(lt(0, f)), t, iff(lt(f, 0.5), t, iff(lt(0.5, f), add(t, 1), iff(eq(sub(t, mul(2, floor(mul(t, 0.5)))), 0), t, add(t, 1)))))),
  ),
};

/** Every definition a `call` may name. */
export const CALLABLE: ReadonlyMap<string, Definition> = new Map([[roundHalfEvenDef.name, roundHalfEvenDef]]);

export function clampE(x: E, lo: E, hi: E): Expr {
  return let_("r", x, (r) => iff(lt(r, lo), X(lo), iff(lt(hi, r), X(hi), r)));
}

/** ⌊(x + 2^(s−1)) / 2^s⌋ for s ≥ 1, x for s = 0. */
export function rshrE(x: E, s: E): Expr {
  return iff(eq(s, 0), X(x), shr(add(x, pow2(sub(s, 1))), s));
}

/** acc·m split at 2^16: binds b = acc·ml, bh = ⌊b / 2^16⌋ and h = acc·mh + bh, and passes them on. */
function split(acc: Expr, m: Expr, body: (h: Expr, b: Expr, bh: Expr) => Expr): Expr {
  return let_("mh", shr(m, 16), (mh) =>
    let_("ml", sub(m, mul(mh, 65536)), (ml) =>
      let_("b", mul(acc, ml), (b) => let_("bh", shr(b, 16), (bh) => let_("h", add(mul(acc, mh), bh), (h) => body(h, b, bh)))),
    ),
  );
}

/** The cases of single rounding, by the multiplier's shift (each for the s it names). */
export const SINGLE_CASES = {
  /** m = 0, or s ≥ 64 (|acc·m| < 2^62 ≤ 2^(s−1)). */
  zero: (): Expr => X(0),
  /** s ≤ 0: acc·m·2^−s, saturating past 2^53 (only a clamp into int32 reads it). */
  mul: (acc: Expr, m: Expr, s: Expr): Expr => mulSat(acc, mul(m, pow2(sub(0, s)))),
  /** 17 ≤ s ≤ 63: l cannot carry into the result. */
  high: (acc: Expr, m: Expr, s: Expr): Expr => split(acc, m, (h) => shr(add(h, pow2(sub(s, 17))), sub(s, 16))),
  /** 1 ≤ s ≤ 16. */
  low: (acc: Expr, m: Expr, s: Expr): Expr =>
    split(acc, m, (h, b, bh) => add(mulSat(h, pow2(sub(16, s))), shr(add(sub(b, mul(bh, 65536)), pow2(sub(s, 1))), s))),
};

export function requantSingleE(acc: Expr, m: Expr, s: Expr): Expr {
  const C = SINGLE_CASES;
  return iff(or(eq(m, 0), le(64, s)), C.zero(), iff(le(s, 0), C.mul(acc, m, s), iff(le(17, s), C.high(acc, m, s), C.low(acc, m, s))));
}

/** gemmlowp SaturatingRoundingDoublingHighMul: ⌊(a·b + 2^30) / 2^31⌋, INT32_MAX for a = b = INT32_MIN. */
export function srdhmE(a: Expr, b: Expr): Expr {
  return iff(and(eq(a, INT32_MIN), eq(b, INT32_MIN)), INT32_MAX, srdhmNonNegativeE(a, b));
}

/** srdhm for b ≥ 0 (every requant multiplier: m ∈ [0, 2^31)), where a = b = INT32_MIN cannot happen. */
function srdhmNonNegativeE(a: Expr, b: Expr): Expr {
  return split(a, b, (h) => shr(add(h, 16384), 15));
}

/** gemmlowp RoundingDivideByPOT: v / 2^k rounded, ties away from zero (0 ≤ k ≤ 31). */
export function rdbpE(x: Expr, k: Expr): Expr {
  return let_("fl", shr(x, k), (fl) => iff(lt(add(shr(sub(pow2(k), 1), 1), iff(lt(x, 0), 1, 0)), sub(x, mul(fl, pow2(k)))), add(fl, 1), fl));
}

/** The cases of double rounding, by the multiplier's shift. */
export const DOUBLE_CASES = {
  zero: (): Expr => X(0),
  /** 31 ≤ s ≤ 62: no left shift. */
  right: (acc: Expr, m: Expr, s: Expr): Expr => let_("v", srdhmNonNegativeE(acc, m), (w) => rdbpE(w, sub(s, 31))),
  /** s ≤ 30: a left shift by 31 − s, which must keep acc in int32. */
  left: (acc: Expr, m: Expr, s: Expr): Expr =>
    let_("a2", mulSat(acc, pow2(sub(31, s))), (a2) => guard(and(le(INT32_MIN, a2), le(a2, INT32_MAX)), "double rounding's left shift overflows int32", srdhmNonNegativeE(a2, m))),
};

export function requantDoubleE(acc: Expr, m: Expr, s: Expr): Expr {
  const C = DOUBLE_CASES;
  return iff(eq(m, 0), C.zero(), iff(le(31, s), C.right(acc, m, s), C.left(acc, m, s)));
}

/** requant of one accumulator: clamp(R(acc, m·2^−s) + z, lo, hi). */
export function requantDef(rounding: "single" | "double"): Definition {
  const R = rounding === "single" ? requantSingleE : requantDoubleE;
  return { name: `requant_${rounding}`, params: ["acc", "m", "s", "z", "lo", "hi"], body: clampE(add(R(v("acc"), v("m"), v("s")), v("z")), v("lo"), v("hi")) };
}

/** rescale of n inputs x0…: clamp(z + rshr(Σ (x_i − z_i)·m_i, s), lo, hi). */
export function rescaleDef(n: number): Definition {
  const ids = Array.from({ length: n }, (_, i) => i);
  const sum = ids.map((i) => mul(sub(v(`x${i}`), v(`z${i}`)), v(`m${i}`))).reduce((a, b) => add(a, b));
  return {
    name: `rescale${n}`,
    params: [...ids.flatMap((i) => [`x${i}`, `z${i}`, `m${i}`]), "s", "z", "lo", "hi"],
    body: let_("t", sum, (t) => clampE(add(v("z"), rshrE(t, v("s"))), v("lo"), v("hi"))),
  };
}

/** ONNX QuantizeLinear of a float32 x: clamp(roundHalfEven(float32(x / scale)) + z, qmin, qmax). */
export const quantizeDef: Definition = {
  name: "quantize",
  params: ["x", "scale", "z", "qmin", "qmax"],
  reals: ["x", "scale"],
  body: clampE(add(call(roundHalfEvenDef.name, f32(div(real("x"), real("scale")))), v("z")), v("qmin"), v("qmax")),
};

/** ONNX DequantizeLinear: float32(float32(q − z) · scale). */
export const dequantizeDef: Definition = {
  name: "dequantize",
  params: ["q", "z", "scale"],
  reals: ["scale"],
  body: f32(mul(f32(sub(v("q"), v("z"))), real("scale"))),
};

export type SingleCase = keyof typeof SINGLE_CASES;
export type DoubleCase = keyof typeof DOUBLE_CASES;

/** Which case of requantSingleE / requantDoubleE a multiplier m·2^−s takes (their `if` conditions, for generators that specialise per channel). */
export function requantCaseOf(d: { readonly m: number; readonly s: number }, rounding: "single" | "double"): SingleCase | DoubleCase {
  if (rounding === "single") return d.m === 0 || d.s >= 64 ? "zero" : d.s <= 0 ? "mul" : d.s >= 17 ? "high" : "low";
  return d.m === 0 ? "zero" : d.s >= 31 ? "right" : "left";
}
