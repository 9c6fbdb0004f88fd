/**
 * Prints a numerics definition (numerics/expr.ts) as HLS C++ over ap_int<W> /
 * ap_uint<W>, every local exactly as wide as its values, through the shared
 * printer core (shared/print-expr.ts). The bounds of each local come from
 * numerics/expr-range.ts over the caller's ranges of the free variables
 * (the accumulator's certified range, the layer's multipliers and shifts):
 *   let x = v         `const T x = v;`, T the narrowest ap type holding v's bounds
 *   if c t e          `c ? T(t) : T(e)` (both branches one type, T holding the if's bounds);
 *                     each branch prints over the bounds its condition implies
 *   add/sub/mul       + − × on ap values: UG1399's result types hold every result (a·b:
 *                     W1 + W2 bits; a ± b: one more than the wider), so no temporary wraps
 *   shr(a, s)         `(a) >> s`, s an int: arithmetic on ap_int, i.e. ⌊a / 2^s⌋
 *   literals          C ints below 2^31 in magnitude (UG1399: an int operand is ap_int<32>),
 *                     else ap_int<W>(v LL)
 *   guard             `if (!c) return FIXQ_ERANGE;`
 *   pow2              fixq_pow2 (only in constants hoisted out of the loop, which the caller
 *                     replaces by tables); reals, mulSat, min/max and calls are refused.
 * Only what UG1399 documents for ap_int is used (construction from C integers and ap values,
 * + − ×, >> by an int, comparisons), so Xilinx's headers give the same bits as fixq's.
 */
import type { Expr } from "../../numerics/expr.js";
import { type BigRange, bigRangeWidth, rangeOf, refine } from "../../numerics/expr-range.js";
import { cComment } from "../shared/print-c.js";
import { ATOM, type Printed, type PrintOptions, printExpr, type Syntax, type Text, wrap } from "../shared/print-expr.js";

/** ap_int<W> / ap_uint<W>, W the fewest bits holding r. */
export function apTypeOf(r: BigRange): string {
  const { bits, signed } = bigRangeWidth(r);
  return `${signed ? "ap_int" : "ap_uint"}<${bits}>`;
}

/** An ap-typed C++ literal of v (a plain int below 2^31 in magnitude). */
export function apLiteral(v: bigint): string {
  if (v > -(2n ** 31n) && v < 2n ** 31n) return String(v);
  if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new RangeError(`${v} needs more than 64 bits`);
  return `${apTypeOf({ lo: v < 0n ? v : -1n, hi: v })}(${v}LL)`;
}

const refuse = (what: string): never => {
  throw new Error(`the ap_int printer does not print ${what}`);
};

function apSyntax(outer: Map<string, BigRange>): Syntax {
  let env = outer;
  const typeOf = (e: Expr) => apTypeOf(rangeOf(e, env));
  return {
    num: (v, real) => {
      if (real || !Number.isInteger(v)) refuse(`the real ${v}`);
      const text = apLiteral(BigInt(v));
      return { text, prec: text.startsWith("-") ? 15 : ATOM };
    },
    eq: "==",
    // gcc's -Wparentheses asks for parentheses around + and − inside >>
    shr: (a, s) => ({ text: `${wrap(a, 13)} >> ${wrap(s, 13)}`, prec: 11 }),
    pow2: (s) => ({ text: `fixq_pow2(${s.text})`, prec: ATOM }),
    floor: () => refuse("floor"),
    f32: () => refuse("f32"),
    mulSat: () => refuse("mulSat"),
    minMax: (k) => refuse(k),
    call: (name) => refuse(`a call of ${name}`),
    constLocal: (name, real, value, e) => {
      if (real || !e) return refuse(`the local ${name}`);
      const r = rangeOf(e, env);
      env.set(name, r);
      return `const ${apTypeOf(r)} ${name} = ${value};`;
    },
    varLocal: (name, real, e) => (real || !e ? refuse(`the local ${name}`) : `${typeOf(e)} ${name};`),
    select: (c: Text, t: Text, f: Text, e: Expr) => {
      const T = typeOf(e);
      return { text: `${wrap(c, 4)} ? ${T}(${t.text}) : ${T}(${f.text})`, prec: 3 };
    },
    bind: (name, value) => {
      env.set(name, rangeOf(value, env));
    },
    // inside a branch the bounds its condition implies hold (a clamp's inner branches: exactly [lo, hi])
    branch: (c, holds, print) => {
      const saved = env;
      const narrowed = refine(c, env, holds);
      if (narrowed) env = new Map(narrowed);
      try {
        return print();
      } finally {
        // locals bound inside the branch stay visible to later code of the branch only; keep the outer bounds
        for (const [k, r] of env) if (!saved.has(k)) saved.set(k, r);
        env = saved;
      }
    },
    fail: (notCond, message) => `if (${notCond}) return FIXQ_ERANGE; /* ${cComment(message)} */`,
  };
}

/**
 * Prints `e` (folded first) in ap_int arithmetic; `ranges` bounds its free
 * variables (integers), which print as their names renamed by `names`.
 */
export function printAp(e: Expr, ranges: ReadonlyMap<string, BigRange>, opts: PrintOptions = {}, names: ReadonlyMap<string, string> = new Map()): Printed {
  return printExpr(apSyntax(new Map(ranges)), e, opts, names);
}
