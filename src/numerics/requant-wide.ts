/**
 * Requantization (requant.ts) for targets with exact integers of any width
 * (the HLS back end's ap_int<W>): requant.ts's formulas as they stand, without
 * the split at 2^16 that keeps definitions.ts's cases below 2^53 for doubles
 * and int64. The cases and their conditions are definitions.ts's
 * (requantCaseOf picks one per channel); each case's value is
 *   single  zero           0                                      (m = 0 or s ≥ 64)
 *           mul            acc · (m · 2^−s)                       (s ≤ 0; m · 2^−s < 2^53)
 *           high, low      ⌊(acc · m + 2^(s−1)) / 2^s⌋            (s ≥ 1)
 *   double  zero           0                                      (m = 0)
 *           right          RDBP(⌊(acc · m + 2^30) / 2^31⌋, s − 31) (31 ≤ s ≤ 62)
 *           left           a2 = acc · 2^(31−s), which must stay in int32, then ⌊(a2 · m + 2^30) / 2^31⌋
 * (⌊(a·m + 2^30) / 2^31⌋ is SRDHM for m ≥ 0, RDBP is definitions.ts's rdbpE.)
 * The product acc · m is W_acc + 31 bits wide (m < 2^31), the mul case's
 * W_acc + 53. test/numerics/requant-wide.test.ts checks every case against
 * requantize over the int32 range, exactly (expr-range.ts's exactValue).
 */
import { rdbpE } from "./definitions.js";
import { add, and, type Expr, guard, le, let_, mul, num, pow2, shr, sub } from "./expr.js";
import { INT32_MAX, INT32_MIN } from "./requant.js";

/** ⌊(a·m + 2^30) / 2^31⌋: gemmlowp's SRDHM for m ≥ 0 (every requant multiplier). */
const srdhmWide = (a: Expr, m: Expr): Expr => shr(add(mul(a, m), 2 ** 30), 31);

/** Single rounding's cases (definitions.ts's SINGLE_CASES keys), exact in wide integers. */
export const SINGLE_WIDE_CASES = {
  zero: (): Expr => num(0),
  mul: (acc: Expr, m: Expr, s: Expr): Expr => mul(acc, mul(m, pow2(sub(0, s)))),
  high: (acc: Expr, m: Expr, s: Expr): Expr => shr(add(mul(acc, m), pow2(sub(s, 1))), s),
  low: (acc: Expr, m: Expr, s: Expr): Expr => shr(add(mul(acc, m), pow2(sub(s, 1))), s),
};

/** Double rounding's cases (definitions.ts's DOUBLE_CASES keys), exact in wide integers. */
export const DOUBLE_WIDE_CASES = {
  zero: (): Expr => num(0),
  right: (acc: Expr, m: Expr, s: Expr): Expr => let_("v", srdhmWide(acc, m), (w) => rdbpE(w, sub(s, 31))),
  left: (acc: Expr, m: Expr, s: Expr): Expr =>
    let_("a2", mul(acc, pow2(sub(31, s))), (a2) => guard(and(le(INT32_MIN, a2), le(a2, INT32_MAX)), "double rounding's left shift overflows int32", srdhmWide(a2, m))),
};
