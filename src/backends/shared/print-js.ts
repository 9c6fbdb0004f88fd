/**
 * Prints a numerics definition (numerics/definitions.ts, an Expr) as
 * JavaScript, through the shared printer core (print-expr.ts). Integers are
 * doubles: the definitions keep every integer intermediate below 2^53, where
 * double arithmetic is exact, so the printing is direct:
 *   add/sub/mul/mulSat → + − ×;  shr(a, s) → Math.floor(a · 2^−s) (a power-of-two
 *   scale, exact);  pow2(s) → 2 ** s;  floor → Math.floor;  f32 → Math.fround;
 *   if → a ternary, or if/else statements when a branch needs locals;
 *   let → a const;  guard → `if (!(c)) throw new RangeError(where + msg)`;
 *   call → a call of the function printed from that definition.
 */
import type { Expr } from "../../numerics/expr.js";
import { ATOM, type Printed, type PrintOptions, printExpr, type Syntax, wrap } from "./print-expr.js";

export type JsPrintOptions = PrintOptions;
export type JsPrinted = Printed;

/** A JS number literal that reads back to the same double. */
export function jsNumber(x: number): string {
  if (Object.is(x, -0)) return "-0";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return String(x);
}

const JS: Syntax = {
  num: (v) => ({ text: jsNumber(v), prec: v < 0 || Object.is(v, -0) ? 15 : ATOM }),
  eq: "===",
  pow2: (s) => ({ text: `2 ** ${wrap(s, ATOM)}`, prec: 14 }),
  floor: (a) => ({ text: `Math.floor(${a.text})`, prec: ATOM }),
  f32: (a) => ({ text: `Math.fround(${a.text})`, prec: ATOM }),
  mulSat: (a, b) => ({ text: `${wrap(a, 13)} * ${wrap(b, 14)}`, prec: 13 }),
  minMax: (k, a, b) => ({ text: `Math.${k}(${a.text}, ${b.text})`, prec: ATOM }),
  call: (name, args) => ({ text: `${name}(${args.map((a) => a.text).join(", ")})`, prec: ATOM }),
  constLocal: (name, _real, value) => `const ${name} = ${value};`,
  varLocal: (name) => `let ${name};`,
  fail: (notCond, message) => `if (${notCond}) throw new RangeError(${JSON.stringify(message)});`,
};

/** Prints `e` (folded first) as JS; free variables print as their names, renamed by `names`. */
export function printJs(e: Expr, opts: JsPrintOptions = {}, names: ReadonlyMap<string, string> = new Map()): JsPrinted {
  return printExpr(JS, e, opts, names);
}

/** A definition as a JS function declaration `function name(params) { … }`. */
export function printJsFunction(def: { readonly name: string; readonly params: readonly string[]; readonly body: Expr }, opts: JsPrintOptions = {}): string {
  const p = printJs(def.body, opts);
  const lines = [...p.hoisted, ...p.body, `return ${p.value};`];
  return `function ${def.name}(${def.params.join(", ")}) {\n${lines.map((l) => `  ${l}`).join("\n")}\n}`;
}
