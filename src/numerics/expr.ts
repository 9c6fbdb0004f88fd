/**
 * A small expression language in which numerics states its integer
 * primitives once (definitions.ts), for code generators to print (JS today;
 * C99 and HLS C++ next) instead of re-deriving the arithmetic.
 *
 * Semantics are exact: integer nodes denote mathematical integers, real nodes
 * doubles. `evaluate` computes every integer node with BigInt and checks the
 * definitions' promise that each integer intermediate stays below 2^53 in
 * magnitude, so that doubles (JS), int64_t (C) and ap_int<64> (HLS) all hold
 * it exactly; `bound` gives the same guarantee over whole parameter ranges
 * by interval arithmetic.
 *
 *   num v            a constant (an integer, or a real such as 0.5)
 *   var name         a parameter: an integer, or a real (`type: "real"`)
 *   add, sub, mul    exact; `mulSat` is a·b exactly when |a·b| < 2^53, else any
 *                    value of the same sign and magnitude ≥ 2^53 (read only by a clamp)
 *   shr a s          floor(a / 2^s), s ≥ 0 an integer
 *   pow2 s           2^s (s an integer, possibly negative)
 *   floor, div, f32  on reals: floor, quotient (as IEEE double division), round to float32
 *   if c t e         t when c holds, else e; conditions lt, le, eq, and, or, not
 *   let name v body  body with name bound to v (printers make it a local)
 *   guard c msg body body, where c must hold (the domain); printers that can check it at
 *                    run time throw `msg` where it fails, and evaluate throws too
 *   call name args   another definition (definitions.ts), which printers emit once as a function
 */

export type Expr =
  | { readonly k: "num"; readonly v: number }
  | { readonly k: "var"; readonly name: string; readonly real?: boolean }
  | { readonly k: "add" | "sub" | "mul" | "mulSat" | "div" | "min" | "max"; readonly a: Expr; readonly b: Expr }
  | { readonly k: "shr"; readonly a: Expr; readonly s: Expr }
  | { readonly k: "pow2" | "floor" | "f32"; readonly a: Expr }
  | { readonly k: "if"; readonly c: Cond; readonly t: Expr; readonly e: Expr }
  | { readonly k: "let"; readonly name: string; readonly v: Expr; readonly body: Expr }
  | { readonly k: "guard"; readonly c: Cond; readonly msg: string; readonly body: Expr }
  | { readonly k: "call"; readonly name: string; readonly args: readonly Expr[] };

export type Cond =
  | { readonly k: "lt" | "le" | "eq"; readonly a: Expr; readonly b: Expr }
  | { readonly k: "and" | "or"; readonly a: Cond; readonly b: Cond }
  | { readonly k: "not"; readonly a: Cond };

// ───── builders ─────
type E = Expr | number;
const ex = (x: E): Expr => (typeof x === "number" ? { k: "num", v: x } : x);
export const num = (v: number): Expr => ({ k: "num", v });
export const v = (name: string): Expr => ({ k: "var", name });
export const real = (name: string): Expr => ({ k: "var", name, real: true });
export const add = (a: E, b: E): Expr => ({ k: "add", a: ex(a), b: ex(b) });
export const sub = (a: E, b: E): Expr => ({ k: "sub", a: ex(a), b: ex(b) });
export const mul = (a: E, b: E): Expr => ({ k: "mul", a: ex(a), b: ex(b) });
export const mulSat = (a: E, b: E): Expr => ({ k: "mulSat", a: ex(a), b: ex(b) });
export const div = (a: E, b: E): Expr => ({ k: "div", a: ex(a), b: ex(b) });
export const min = (a: E, b: E): Expr => ({ k: "min", a: ex(a), b: ex(b) });
export const max = (a: E, b: E): Expr => ({ k: "max", a: ex(a), b: ex(b) });
export const shr = (a: E, s: E): Expr => ({ k: "shr", a: ex(a), s: ex(s) });
export const pow2 = (s: E): Expr => ({ k: "pow2", a: ex(s) });
export const floor = (a: E): Expr => ({ k: "floor", a: ex(a) });
export const f32 = (a: E): Expr => ({ k: "f32", a: ex(a) });
export const iff = (c: Cond, t: E, e: E): Expr => ({ k: "if", c, t: ex(t), e: ex(e) });
export const let_ = (name: string, value: E, body: (x: Expr) => Expr): Expr => ({ k: "let", name, v: ex(value), body: body(v(name)) });
export const guard = (c: Cond, msg: string, body: E): Expr => ({ k: "guard", c, msg, body: ex(body) });
export const call = (name: string, ...args: E[]): Expr => ({ k: "call", name, args: args.map(ex) });
export const lt = (a: E, b: E): Cond => ({ k: "lt", a: ex(a), b: ex(b) });
export const le = (a: E, b: E): Cond => ({ k: "le", a: ex(a), b: ex(b) });
export const eq = (a: E, b: E): Cond => ({ k: "eq", a: ex(a), b: ex(b) });
export const and = (a: Cond, b: Cond): Cond => ({ k: "and", a, b });
export const or = (a: Cond, b: Cond): Cond => ({ k: "or", a, b });
export const not = (a: Cond): Cond => ({ k: "not", a });

/** Whether an expression denotes a real (double) rather than an integer. */
export function isReal(e: Expr, reals: ReadonlySet<string> = new Set()): boolean {
  switch (e.k) {
    case "num":
      return !Number.isInteger(e.v);
    case "var":
      return e.real === true || reals.has(e.name);
    case "div":
    case "f32":
    case "floor":
      return true;
    case "pow2":
      return false;
    case "shr":
      return isReal(e.a, reals);
    case "if":
      return isReal(e.t, reals) || isReal(e.e, reals);
    case "guard":
      return isReal(e.body, reals);
    case "call":
      return e.name === "roundHalfEven";
    case "let":
      return isReal(e.body, isReal(e.v, reals) ? new Set([...reals, e.name]) : reals);
    default:
      return isReal(e.a, reals) || isReal(e.b, reals);
  }
}

function substituteCond(c: Cond, bind: Readonly<Record<string, Expr>>): Cond {
  switch (c.k) {
    case "not":
      return { k: "not", a: substituteCond(c.a, bind) };
    case "and":
    case "or":
      return { k: c.k, a: substituteCond(c.a, bind), b: substituteCond(c.b, bind) };
    default:
      return { k: c.k, a: substitute(c.a, bind), b: substitute(c.b, bind) };
  }
}

/** e with every free variable named in `bind` replaced (let-bound names shadow). */
export function substitute(e: Expr, bind: Readonly<Record<string, Expr>>): Expr {
  const go = (x: Expr): Expr => substitute(x, bind);
  const goC = (c: Cond): Cond => substituteCond(c, bind);
  switch (e.k) {
    case "num":
      return e;
    case "var":
      return Object.hasOwn(bind, e.name) ? bind[e.name]! : e;
    case "shr":
      return { k: "shr", a: go(e.a), s: go(e.s) };
    case "pow2":
    case "floor":
    case "f32":
      return { k: e.k, a: go(e.a) };
    case "if":
      return { k: "if", c: goC(e.c), t: go(e.t), e: go(e.e) };
    case "guard":
      return { k: "guard", c: goC(e.c), msg: e.msg, body: go(e.body) };
    case "call":
      return { k: "call", name: e.name, args: e.args.map(go) };
    case "let": {
      const { [e.name]: _shadowed, ...rest } = bind;
      return { k: "let", name: e.name, v: go(e.v), body: substitute(e.body, rest) };
    }
    default:
      return { k: e.k, a: go(e.a), b: go(e.b) };
  }
}
