/**
 * Constant folding for Expr (expr.ts), the step every printer runs first:
 * integer operations on constants are computed exactly (BigInt, kept only
 * while below 2^53), `if` and `guard` with a constant condition are decided,
 * and a `let` whose value is a constant or a variable is substituted. Reals
 * are folded only where the double result is exact (floor, a power of two).
 */
import { type Cond, type Expr, isReal, substitute } from "./expr.js";

const LIMIT = 2n ** 53n;

function intOf(e: Expr): bigint | undefined {
  return e.k === "num" && Number.isInteger(e.v) ? BigInt(e.v) : undefined;
}

const numE = (x: bigint | number): Expr => ({ k: "num", v: Number(x) });

function foldCond(c: Cond): Cond | boolean {
  switch (c.k) {
    case "not": {
      const a = foldCond(c.a);
      return typeof a === "boolean" ? !a : { k: "not", a };
    }
    case "and":
    case "or": {
      const a = foldCond(c.a);
      const b = foldCond(c.b);
      if (typeof a === "boolean") return c.k === "and" ? (a ? b : false) : a ? true : b;
      if (typeof b === "boolean") return c.k === "and" ? (b ? a : false) : b ? true : a;
      return { k: c.k, a, b };
    }
    default: {
      const a = fold(c.a);
      const b = fold(c.b);
      const x = intOf(a);
      const y = intOf(b);
      if (x !== undefined && y !== undefined) return c.k === "lt" ? x < y : c.k === "le" ? x <= y : x === y;
      return { k: c.k, a, b };
    }
  }
}

export function fold(e: Expr): Expr {
  switch (e.k) {
    case "num":
    case "var":
      return e;
    case "call":
      return { k: "call", name: e.name, args: e.args.map(fold) };
    case "let": {
      const value = fold(e.v);
      if (value.k === "num" || value.k === "var") return fold(substitute(e.body, { [e.name]: value }));
      return { k: "let", name: e.name, v: value, body: fold(e.body) };
    }
    case "if": {
      const c = foldCond(e.c);
      if (typeof c === "boolean") return fold(c ? e.t : e.e);
      return { k: "if", c, t: fold(e.t), e: fold(e.e) };
    }
    case "guard": {
      const c = foldCond(e.c);
      if (c === false) throw new RangeError(e.msg);
      return c === true ? fold(e.body) : { k: "guard", c, msg: e.msg, body: fold(e.body) };
    }
    case "pow2": {
      const a = fold(e.a);
      const s = intOf(a);
      if (s !== undefined && s < 53n && s > -1000n) return numE(2 ** Number(s));
      return { k: "pow2", a };
    }
    case "floor":
    case "f32": {
      const a = fold(e.a);
      return { k: e.k, a };
    }
    case "shr": {
      const a = fold(e.a);
      const s = fold(e.s);
      const x = intOf(a);
      const k = intOf(s);
      if (k === 0n) return a;
      if (x !== undefined && k !== undefined && k > 0n) return numE(x >> k);
      return { k: "shr", a, s };
    }
    default: {
      const a = fold(e.a);
      const b = fold(e.b);
      const x = intOf(a);
      const y = intOf(b);
      if ((e.k === "add" || e.k === "sub") && y === 0n) return a;
      if (e.k === "add" && x === 0n) return b;
      if ((e.k === "mul" || e.k === "mulSat") && ((x === 0n && !isReal(b)) || (y === 0n && !isReal(a)))) return { k: "num", v: 0 }; // an integer times 0
      if ((e.k === "mul" || e.k === "mulSat") && y === 1n) return a;
      if ((e.k === "mul" || e.k === "mulSat") && x === 1n) return b;
      if (x === undefined || y === undefined || e.k === "div") return { k: e.k, a, b };
      const r = e.k === "add" ? x + y : e.k === "sub" ? x - y : e.k === "min" ? (x < y ? x : y) : e.k === "max" ? (x > y ? x : y) : x * y;
      return r < LIMIT && r > -LIMIT ? numE(r) : { k: e.k, a, b };
    }
  }
}
