/**
 * The reference meaning of an Expr (expr.ts): integer nodes in BigInt,
 * exactly, real nodes in doubles. It throws where a definition breaks its
 * promise that every integer intermediate (except a `mulSat`, whose products
 * past 2^53 become ±Infinity: only a clamp reads them) stays below 2^53 in magnitude, so a test that evaluates a definition on edge inputs
 * also proves that double, int64_t and ap_int<64> printings of it are exact
 * there.
 */
import type { Cond, Expr } from "./expr.js";

/** What a `call` node may call: a definition's parameters and body. */
export interface Callable {
  readonly params: readonly string[];
  readonly body: Expr;
}

let calls: ReadonlyMap<string, Callable> = new Map();

type Val = bigint | number;

const LIMIT = 2n ** 53n;

function checked(x: bigint, what: string): bigint {
  if (x >= LIMIT || x <= -LIMIT) throw new RangeError(`${what}: intermediate ${x} is not below 2^53 in magnitude`);
  return x;
}

const toNum = (x: Val): number => (typeof x === "bigint" ? Number(x) : x);
const toBig = (x: Val, what: string): bigint => {
  if (typeof x === "bigint") return x;
  if (!Number.isInteger(x)) throw new RangeError(`${what}: ${x} is not an integer`);
  return BigInt(x);
};

function floorShift(a: bigint, s: bigint): bigint {
  return s >= 0n ? a >> s : a << -s; // BigInt >> is a floor shift
}

function evalCond(c: Cond, env: ReadonlyMap<string, Val>): boolean {
  switch (c.k) {
    case "and":
      return evalCond(c.a, env) && evalCond(c.b, env);
    case "or":
      return evalCond(c.a, env) || evalCond(c.b, env);
    case "not":
      return !evalCond(c.a, env);
    default: {
      const a = evalExpr(c.a, env);
      const b = evalExpr(c.b, env);
      const [x, y] = typeof a === "bigint" && typeof b === "bigint" ? [a, b] : [toNum(a), toNum(b)];
      return c.k === "lt" ? x < y : c.k === "le" ? x <= y : x === y;
    }
  }
}

function evalExpr(e: Expr, env: ReadonlyMap<string, Val>): Val {
  switch (e.k) {
    case "num":
      return Number.isInteger(e.v) ? BigInt(e.v) : e.v;
    case "var": {
      const x = env.get(e.name);
      if (x === undefined) throw new Error(`unbound variable '${e.name}'`);
      return x;
    }
    case "let": {
      const inner = new Map(env);
      inner.set(e.name, evalExpr(e.v, env));
      return evalExpr(e.body, inner);
    }
    case "if":
      return evalCond(e.c, env) ? evalExpr(e.t, env) : evalExpr(e.e, env);
    case "guard":
      if (!evalCond(e.c, env)) throw new RangeError(e.msg);
      return evalExpr(e.body, env);
    case "call": {
      const d = calls.get(e.name);
      if (!d) throw new Error(`no definition '${e.name}' to call`);
      const inner = new Map<string, Val>();
      d.params.forEach((p, i) => {
        inner.set(p, evalExpr(e.args[i]!, env));
      });
      return evalExpr(d.body, inner);
    }
    case "floor":
      return Math.floor(toNum(evalExpr(e.a, env)));
    case "f32":
      return Math.fround(toNum(evalExpr(e.a, env)));
    case "pow2": {
      const s = toBig(evalExpr(e.a, env), "pow2");
      return s >= 0n ? checked(1n << s, "pow2") : 2 ** Number(s);
    }
    case "shr": {
      const a = evalExpr(e.a, env);
      const s = toBig(evalExpr(e.s, env), "shr");
      if (s < 0n) throw new RangeError(`shr by ${s}`);
      return typeof a === "bigint" ? floorShift(a, s) : Math.floor(a / 2 ** Number(s));
    }
    case "div":
      return toNum(evalExpr(e.a, env)) / toNum(evalExpr(e.b, env));
    default: {
      const a = evalExpr(e.a, env);
      const b = evalExpr(e.b, env);
      if (typeof a !== "bigint" || typeof b !== "bigint") {
        const x = toNum(a);
        const y = toNum(b);
        if (e.k === "min") return Math.min(x, y);
        if (e.k === "max") return Math.max(x, y);
        return e.k === "add" ? x + y : e.k === "sub" ? x - y : x * y;
      }
      switch (e.k) {
        case "add":
          return checked(a + b, "add");
        case "sub":
          return checked(a - b, "sub");
        case "mul":
          return checked(a * b, "mul");
        case "mulSat": {
          const p = a * b;
          return p >= LIMIT ? Infinity : p <= -LIMIT ? -Infinity : p; // past 2^53 only the sign and the magnitude class matter
        }
        case "min":
          return a < b ? a : b;
        default:
          return a > b ? a : b;
      }
    }
  }
}

/** The value of `e` with its variables bound by `env` (integers and reals as numbers). */
export function evaluate(e: Expr, env: Readonly<Record<string, number>>, callable: ReadonlyMap<string, Callable> = new Map()): number {
  calls = callable;
  const m = new Map<string, Val>();
  for (const [k, x] of Object.entries(env)) m.set(k, Number.isSafeInteger(x) && !Object.is(x, -0) ? BigInt(x) : x);
  return toNum(evalExpr(e, m));
}
