/**
 * Prints a numerics definition whose every integer intermediate lies in
 * [−2^31, 2^31) (the narrow requant form, numerics/requant-narrow.ts) as C99
 * on int32_t, through the shared printer core (shared/print-expr.ts): 32-bit
 * lanes are what AVX2 multiplies (vpmulld) and shifts (vpsravd) eight at a time.
 *   add/sub/mul → + − × on int32_t;  shr(a, s) → fixq_shr32(a, s) = ⌊a / 2^s⌋, 0 ≤ s ≤ 31;
 *   min/max → fixq_min32 / fixq_max32;  let → a const int32_t local;  if → ?: or if/else.
 * Anything else (reals, pow2, saturating products, guards, calls) is refused:
 * such a definition is not a 31-bit one.
 */
import { ATOM, type Printed, type PrintOptions, printExpr, type Syntax } from "../shared/print-expr.js";
import type { Expr } from "../../numerics/expr.js";
import { cInt } from "../shared/print-c.js";

const refuse = (what: string) => (): never => {
  throw new Error(`the 32-bit C printer has no ${what}`);
};

const C32: Syntax = {
  num: (v, real) => {
    if (real || !(v >= -(2 ** 31) && v < 2 ** 31)) throw new Error(`the 32-bit C printer cannot print ${v}`);
    const text = cInt(v);
    return { text, prec: text.startsWith("-") ? 15 : ATOM };
  },
  eq: "==",
  shr: (a, s) => ({ text: `fixq_shr32(${a.text}, ${s.text})`, prec: ATOM }),
  pow2: refuse("pow2"),
  floor: refuse("floor"),
  f32: refuse("float32 rounding"),
  mulSat: refuse("saturating product"),
  minMax: (k, a, b) => ({ text: `fixq_${k}32(${a.text}, ${b.text})`, prec: ATOM }),
  call: refuse("calls"),
  constLocal: (name, real, value) => {
    if (real) throw new Error("the 32-bit C printer has no reals");
    return `const int32_t ${name} = ${value};`;
  },
  varLocal: (name) => `int32_t ${name};`,
  fail: refuse("guards"),
};

/** Prints `e` (folded first) on int32_t; bind free integer variables to int32_t expressions. */
export function printC32(e: Expr, opts: PrintOptions = {}, names: ReadonlyMap<string, string> = new Map()): Printed {
  return printExpr(C32, e, opts, names);
}

/** The helpers printC32's output calls. */
export const C_RUNTIME32 = `/* floor(a / 2^s) on int32_t, 0 <= s <= 31, as fixq_shr (the test folds to a constant). */
static inline int32_t fixq_shr32(int32_t a, int32_t s) { return ((int32_t)-1 >> 1) == -1 || a >= 0 ? a >> s : ~(~a >> s); }
static inline int32_t fixq_min32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t fixq_max32(int32_t a, int32_t b) { return a > b ? a : b; }
/* A real already clamped into int32's range to an integer, NaN giving 0 (as fixq_d2i): the 32-bit conversion has a vector form. */
static inline int32_t fixq_d2i32(double v) { return v == v ? (int32_t)v : 0; }`;
