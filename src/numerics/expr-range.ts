/**
 * Exact integer bounds of an Expr (expr.ts) over boxes of its free
 * variables, in BigInt, for printers that size every intermediate (the HLS
 * back end's ap_int<W>): given lo ≤ x ≤ hi for each variable,
 *   add  [a.lo + b.lo, a.hi + b.hi]      sub  [a.lo − b.hi, a.hi − b.lo]
 *   mul, mulSat  min / max of the four corner products (mulSat: the exact product bounds it)
 *   shr(a, s), s ≥ 0   ⌊a / 2^s⌋ is monotone in a, and moves toward 0 / −1 as s grows:
 *                      lo = ⌊a.lo / 2^(a.lo < 0 ? s.lo : s.hi)⌋, hi = ⌊a.hi / 2^(a.hi < 0 ? s.hi : s.lo)⌋
 *   pow2(s)    [2^max(s.lo, 0), 2^s.hi] (0 where s < 0: the printers' value out of range)
 *   min, max   componentwise;  let  the body with the name bound to the value's bounds
 *   if         the taken branch when the condition is decided over the box, else the union
 *              of both, each over the box narrowed by its condition (refine: x < y, x ≤ y)
 *   guard      the body
 * The bounds contain every value the expression takes over the box; where
 * every variable is a point they are that point (the exact value: conditions
 * are then decided), so `exactValue` evaluates without the 2^53 limit of
 * expr-eval.ts. Reals (floor, f32, div, call) have no integer bounds: refused.
 */
import type { Cond, Expr } from "./expr.js";

/** lo ≤ x ≤ hi. */
export interface BigRange {
  readonly lo: bigint;
  readonly hi: bigint;
}

const pt = (x: bigint): BigRange => ({ lo: x, hi: x });
const minOf = (xs: bigint[]) => xs.reduce((a, b) => (b < a ? b : a));
const maxOf = (xs: bigint[]) => xs.reduce((a, b) => (b > a ? b : a));

/** true / false when `c` holds / fails over the whole box, undefined when undecided. */
function decide(c: Cond, env: ReadonlyMap<string, BigRange>): boolean | undefined {
  switch (c.k) {
    case "not": {
      const a = decide(c.a, env);
      return a === undefined ? undefined : !a;
    }
    case "and":
    case "or": {
      const a = decide(c.a, env);
      const b = decide(c.b, env);
      if (c.k === "and") return a === false || b === false ? false : a === true && b === true ? true : undefined;
      return a === true || b === true ? true : a === false && b === false ? false : undefined;
    }
    default: {
      const a = rangeOf(c.a, env);
      const b = rangeOf(c.b, env);
      if (c.k === "lt") return a.hi < b.lo ? true : a.lo >= b.hi ? false : undefined;
      if (c.k === "le") return a.hi <= b.lo ? true : a.lo > b.hi ? false : undefined;
      if (a.lo === a.hi && b.lo === b.hi) return a.lo === b.lo;
      return a.hi < b.lo || b.hi < a.lo ? false : undefined;
    }
  }
}

/**
 * The box narrowed by knowing that `c` holds (or fails): a variable compared
 * with < or <= gets the bound the other side implies (x < y: x ≤ y.hi − 1,
 * y ≥ x.lo + 1; its negation x ≥ y: x ≥ y.lo, y ≤ x.hi); undefined when the
 * box then holds no point (the branch is never taken).
 */
export function refine(c: Cond, env: ReadonlyMap<string, BigRange>, holds: boolean): ReadonlyMap<string, BigRange> | undefined {
  if (c.k === "not") return refine(c.a, env, !holds);
  if (c.k === "and" || c.k === "or") {
    if ((c.k === "and") !== holds) return env; // a failing and, a holding or: nothing known of each side
    const a = refine(c.a, env, holds);
    return a && refine(c.b, a, holds);
  }
  if (c.k === "eq") return env;
  // a < b (strict) or a <= b, or their negations b <= a, b < a
  const cmp = c as { readonly k: "lt" | "le" | "eq"; readonly a: Expr; readonly b: Expr };
  const [x, y, strict] = holds ? [cmp.a, cmp.b, cmp.k === "lt"] : [cmp.b, cmp.a, cmp.k === "le"];
  const gap = strict ? 1n : 0n; // x + gap ≤ y
  const X = rangeOf(x, env);
  const Y = rangeOf(y, env);
  const out = new Map(env);
  if (x.k === "var") out.set(x.name, { lo: X.lo, hi: X.hi < Y.hi - gap ? X.hi : Y.hi - gap });
  if (y.k === "var") out.set(y.name, { lo: Y.lo > X.lo + gap ? Y.lo : X.lo + gap, hi: Y.hi });
  for (const r of out.values()) if (r.lo > r.hi) return undefined;
  return out;
}

const floorShift = (a: bigint, s: bigint) => a >> s; // BigInt >> is a floor shift

/** Bounds of `e` when each free variable lies in its range in `env`. */
export function rangeOf(e: Expr, env: ReadonlyMap<string, BigRange>): BigRange {
  switch (e.k) {
    case "num":
      if (!Number.isInteger(e.v)) throw new RangeError(`rangeOf: ${e.v} is not an integer`);
      return pt(BigInt(e.v));
    case "var": {
      const r = env.get(e.name);
      if (!r) throw new Error(`rangeOf: no range for '${e.name}'`);
      return r;
    }
    case "add":
    case "sub":
    case "mul":
    case "mulSat":
    case "min":
    case "max": {
      const a = rangeOf(e.a, env);
      const b = rangeOf(e.b, env);
      if (e.k === "add") return { lo: a.lo + b.lo, hi: a.hi + b.hi };
      if (e.k === "sub") return { lo: a.lo - b.hi, hi: a.hi - b.lo };
      if (e.k === "min") return { lo: a.lo < b.lo ? a.lo : b.lo, hi: a.hi < b.hi ? a.hi : b.hi };
      if (e.k === "max") return { lo: a.lo > b.lo ? a.lo : b.lo, hi: a.hi > b.hi ? a.hi : b.hi };
      const corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
      return { lo: minOf(corners), hi: maxOf(corners) };
    }
    case "shr": {
      const a = rangeOf(e.a, env);
      const s = rangeOf(e.s, env);
      if (s.lo < 0n) throw new RangeError("rangeOf: shr by a possibly negative amount");
      return { lo: floorShift(a.lo, a.lo < 0n ? s.lo : s.hi), hi: floorShift(a.hi, a.hi < 0n ? s.hi : s.lo) };
    }
    case "pow2": {
      const s = rangeOf(e.a, env);
      if (s.hi < 0n) return pt(0n);
      return { lo: s.lo < 0n ? 0n : 1n << s.lo, hi: 1n << s.hi };
    }
    case "let": {
      const inner = new Map(env);
      inner.set(e.name, rangeOf(e.v, env));
      return rangeOf(e.body, inner);
    }
    case "if": {
      const c = decide(e.c, env);
      if (c !== undefined) return rangeOf(c ? e.t : e.e, env);
      const te = refine(e.c, env, true);
      const fe = refine(e.c, env, false);
      if (!te) return rangeOf(e.e, fe ?? env);
      if (!fe) return rangeOf(e.t, te);
      const t = rangeOf(e.t, te);
      const f = rangeOf(e.e, fe);
      return { lo: t.lo < f.lo ? t.lo : f.lo, hi: t.hi > f.hi ? t.hi : f.hi };
    }
    case "guard":
      return rangeOf(e.body, env);
    default:
      throw new RangeError(`rangeOf: ${e.k} has no integer bounds`);
  }
}

/** The exact value of an integer Expr at a point (no 2^53 limit); throws where a guard fails. */
export function exactValue(e: Expr, env: Readonly<Record<string, bigint>>): bigint {
  const box = new Map(Object.entries(env).map(([k, x]) => [k, pt(x)]));
  const check = (x: Expr, m: Map<string, BigRange>): void => {
    // a guard decided false at a point is the definition's refusal
    if (x.k === "guard" && decide(x.c, m) === false) throw new RangeError(x.msg);
    if (x.k === "let") {
      check(x.v, m);
      const inner = new Map(m);
      inner.set(x.name, rangeOf(x.v, m));
      check(x.body, inner);
    } else if (x.k === "if") {
      const c = decide(x.c, m);
      if (c !== false) check(x.t, m);
      if (c !== true) check(x.e, m);
    } else if (x.k === "guard") check(x.body, m);
  };
  check(e, box);
  const r = rangeOf(e, box);
  if (r.lo !== r.hi) throw new Error("exactValue: not a point (an undecided condition)");
  return r.lo;
}

/** Bits of the narrowest two's-complement (lo < 0) or unsigned integer holding [lo, hi]. */
export function bigRangeWidth(r: BigRange): { bits: number; signed: boolean } {
  const bits = (x: bigint) => (x <= 0n ? 0 : x.toString(2).length);
  if (r.lo >= 0n) return { bits: Math.max(1, bits(r.hi)), signed: false };
  return { bits: 1 + Math.max(bits(-r.lo - 1n), bits(r.hi)), signed: true };
}
