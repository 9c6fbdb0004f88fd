/**
 * Prints a numerics definition (numerics/definitions.ts, an Expr) as C99,
 * through the shared printer core (print-expr.ts). Integers are int64_t:
 * the definitions keep every integer intermediate below 2^53 in magnitude,
 * so int64_t arithmetic never overflows; reals are doubles (IEEE binary64,
 * FLT_EVAL_METHOD 0, no contraction: the Makefile passes -ffp-contract=off).
 *   add/sub/mul → + − × on int64_t (callers bind integer variables to int64_t
 *   expressions);  shr(a, s) → fixq_shr(a, s) = ⌊a / 2^s⌋, written without
 *   right-shifting a negative number (implementation-defined in C);
 *   pow2(s) → fixq_pow2(s) = 2^s for 0 ≤ s ≤ 62 (every case a definition takes),
 *   0 elsewhere (a constant hoisted out of a case that does not apply);
 *   mulSat → fixq_mul_sat (a·b, or ±2^53 where |a·b| would pass it);
 *   floor → floor();  f32 → (double)(float)(a), one rounding to float32;
 *   let → a const local;  if → ?: or if/else;  guard → `return FIXQ_ERANGE`;
 *   call → fixq_<name>, the function printed from that definition.
 * `C_RUNTIME` holds the helpers the printed code calls.
 */
import { type Expr, isReal } from "../../numerics/expr.js";
import { ATOM, type Printed, type PrintOptions, printExpr, type Syntax, type Text } from "./print-expr.js";

/** A C literal reading back to the same double. */
export function cDouble(x: number): string {
  if (Number.isNaN(x)) return "NAN";
  if (!Number.isFinite(x)) return x > 0 ? "INFINITY" : "-INFINITY";
  if (Object.is(x, -0)) return "-0.0";
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** A C integer literal of type int (|x| < 2^31) or int64_t. */
export function cInt(x: number): string {
  if (!Number.isSafeInteger(x)) throw new RangeError(`${x} is not a safe integer`);
  return Math.abs(x) < 2 ** 31 ? String(x) : `INT64_C(${x})`;
}

/** Text safe inside a C block comment. */
export function cComment(s: string): string {
  return s.replace(/\*\//g, "* /").replace(/[\r\n\u2028\u2029]+/g, " ").replace(/[\u0000-\u001f\u007f]/g, "?");
}

const C: Syntax = {
  num: (v, real) => {
    const text = real ? cDouble(v) : cInt(v);
    return { text, prec: text.startsWith("-") ? 15 : ATOM };
  },
  eq: "==",
  shr: (a, s) => ({ text: `fixq_shr(${a.text}, ${s.text})`, prec: ATOM }),
  pow2: (s) => ({ text: `fixq_pow2(${s.text})`, prec: ATOM }),
  floor: (a) => ({ text: `floor(${a.text})`, prec: ATOM }),
  f32: (a) => ({ text: `((double)(float)(${a.text}))`, prec: ATOM }),
  mulSat: (a, b) => ({ text: `fixq_mul_sat(${a.text}, ${b.text})`, prec: ATOM }),
  minMax: (k, a, b) => ({ text: `fixq_${k}(${a.text}, ${b.text})`, prec: ATOM }),
  call: (name, args) => ({ text: `fixq_${name}(${args.map((a: Text) => a.text).join(", ")})`, prec: ATOM }),
  constLocal: (name, real, value) => `const ${real ? "double" : "int64_t"} ${name} = ${value};`,
  varLocal: (name, real) => `${real ? "double" : "int64_t"} ${name};`,
  fail: (notCond, message) => `if (${notCond}) return FIXQ_ERANGE; /* ${cComment(message)} */`,
};

/** Prints `e` (folded first) as C; free variables print as their names, renamed by `names` (bind integers to int64_t expressions). */
export function printC(e: Expr, opts: PrintOptions = {}, names: ReadonlyMap<string, string> = new Map()): Printed {
  return printExpr(C, e, opts, names);
}

/** Whether an expression contains a guard (its C function then returns a status). */
function hasGuard(e: Expr): boolean {
  switch (e.k) {
    case "guard":
      return true;
    case "num":
    case "var":
      return false;
    case "let":
      return hasGuard(e.v) || hasGuard(e.body);
    case "if":
      return hasGuard(e.t) || hasGuard(e.e);
    case "shr":
      return hasGuard(e.a) || hasGuard(e.s);
    case "call":
      return e.args.some(hasGuard);
    case "pow2":
    case "floor":
    case "f32":
      return hasGuard(e.a);
    default:
      return hasGuard(e.a) || hasGuard(e.b);
  }
}

/**
 * A definition as a static C function `fixq_<name>`: returning its value
 * (double when real, else int64_t), or, when its body has a guard,
 * `int fixq_<name>(…, T *out)` returning 0 or FIXQ_ERANGE.
 */
export function printCFunction(def: { readonly name: string; readonly params: readonly string[]; readonly reals?: readonly string[]; readonly body: Expr }, opts: PrintOptions = {}): string {
  const reals = new Set(def.reals ?? []);
  const p = printC(def.body, { ...opts, reals });
  const type = isReal(def.body, reals) ? "double" : "int64_t";
  const params = def.params.map((n) => `${reals.has(n) ? "double" : "int64_t"} ${n}`);
  const guarded = hasGuard(def.body);
  const lines = [...p.hoisted, ...p.body, ...(guarded ? [`*out = ${p.value};`, "return 0;"] : [`return ${p.value};`])];
  const head = guarded ? `static int fixq_${def.name}(${[...params, `${type} *out`].join(", ")})` : `static ${type} fixq_${def.name}(${params.join(", ")})`;
  return `${head} {\n${lines.map((l) => `  ${l}`).join("\n")}\n}`;
}

/** The helpers printed C calls: floor shift, saturating product, double → integer, min/max; status codes. */
export const C_RUNTIME = `#define FIXQ_ERANGE 1

/* floor(a / 2^s), 0 <= s <= 63. Right-shifting a negative value is implementation-defined in C: where the
 * compiler shifts arithmetically (every mainstream one; the test folds to a constant) a >> s is the floor;
 * elsewhere the shift is taken on ~a = -a - 1 >= 0. */
static inline int64_t fixq_shr(int64_t a, int64_t s) { return ((int64_t)-1 >> 1) == -1 || a >= 0 ? a >> s : ~(~a >> s); }

/* a * b when |a * b| <= 2^53; otherwise +-2^53 with the product's sign (only a clamp reads it). */
static inline int64_t fixq_mul_sat(int64_t a, int64_t b) {
  const uint64_t lim = (uint64_t)1 << 53;
  const uint64_t ua = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
  const uint64_t ub = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
  if (ua == 0 || ub == 0) return 0;
  if (ua > lim / ub) return (a < 0) != (b < 0) ? -(int64_t)lim : (int64_t)lim;
  return a * b;
}

/* A clamped real to an integer: NaN gives 0 (as a store into an Int32Array does). */
static inline int64_t fixq_d2i(double v) { return v == v ? (int64_t)v : 0; }

/* 2^s for 0 <= s <= 62; 0 otherwise (only a case that does not apply computes it). */
static inline int64_t fixq_pow2(int64_t s) { return s >= 0 && s <= 62 ? (int64_t)1 << s : 0; }

static inline int64_t fixq_min(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t fixq_max(int64_t a, int64_t b) { return a > b ? a : b; }`;
