/**
 * Prints a numerics definition (numerics/definitions.ts, an Expr) as
 * JavaScript. Integers are doubles: the definitions keep every integer
 * intermediate below 2^53, where double arithmetic is exact, so the printing
 * is direct:
 *   add/sub/mul/mulSat → + − ×;  shr(a, s) → Math.floor(a · 2^−s) (a power-of-two
 *   scale, exact);  pow2(s) → 2 ** s;  floor → Math.floor;  f32 → Math.fround;
 *   if → a ternary, or if/else statements when a branch needs locals;
 *   let → a const;  guard → `if (!(c)) throw new RangeError(where + msg)`;
 *   call → a call of the function printed from that definition.
 * Constants are folded first (numerics/expr-fold.ts). Subexpressions over
 * `invariant` names only (the per-channel multiplier and shift of a loop) are
 * hoisted into `hoisted` lines, for the caller to place outside its loop.
 */
import { type Cond, type Expr, substitute } from "../../numerics/expr.js";
import { fold } from "../../numerics/expr-fold.js";

export interface JsPrintOptions {
  /** Names constant over the caller's inner loop: subexpressions over only these are hoisted. */
  readonly invariant?: ReadonlySet<string>;
  /** Prepended to a guard's message ("requant 'Conv 3': "). */
  readonly where?: string;
  /** Prefix of the locals this printing declares (unique per caller scope). */
  readonly prefix?: string;
}

export interface JsPrinted {
  /** Loop-invariant constants: `const k0 = …;` lines, to place before the loop. */
  readonly hoisted: readonly string[];
  /** The same constants as expressions over the invariant names and the constants before them (to evaluate ahead of time). */
  readonly constants: readonly { readonly name: string; readonly expr: Expr }[];
  /** Statements computing the value (locals, guards, branches). */
  readonly body: readonly string[];
  /** The expression of the value, valid after `body`. */
  readonly value: string;
}

/** A JS number literal that reads back to the same double. */
export function jsNumber(x: number): string {
  if (Object.is(x, -0)) return "-0";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return String(x);
}

type Printed = { readonly text: string; readonly prec: number };
const ATOM = 20;
const wrap = (p: Printed, min: number) => (p.prec >= min ? p.text : `(${p.text})`);

class Printer {
  readonly hoisted: string[] = [];
  readonly constants: { name: string; expr: Expr }[] = [];
  /** Let names bound to hoisted constants, and those constants' names. */
  private readonly letConst = new Map<string, string>();
  private readonly hoistedText = new Map<string, string>();
  private readonly taken = new Set<string>();
  /** Invariant names: the caller's, plus locals bound to hoisted constants. */
  private readonly inv: Set<string>;
  private inHoist = false;

  constructor(private readonly opts: JsPrintOptions) {
    this.inv = new Set(opts.invariant ?? []);
  }

  private fresh(base: string): string {
    const stem = `${this.opts.prefix ?? ""}${base}`;
    let name = stem;
    for (let k = 1; this.taken.has(name); k++) name = `${stem}${k}`;
    this.taken.add(name);
    return name;
  }

  /** Whether e depends only on invariant names (and is worth a local). */
  private invariant(e: Expr, bound: ReadonlySet<string>): boolean {
    const inv = this.inv;
    if (inv.size === 0) return false;
    const ok = (x: Expr): boolean => {
      switch (x.k) {
        case "num":
          return true;
        case "var":
          return inv.has(x.name) && !bound.has(x.name);
        case "shr":
          return ok(x.a) && ok(x.s);
        case "pow2":
        case "floor":
        case "f32":
          return ok(x.a);
        case "add":
        case "sub":
        case "mul":
        case "mulSat":
        case "div":
        case "min":
        case "max":
          return ok(x.a) && ok(x.b);
        default:
          return false;
      }
    };
    return e.k !== "num" && e.k !== "var" && ok(e);
  }

  private hoist(text: string, expr: Expr): Printed {
    let name = this.hoistedText.get(text);
    if (!name) {
      name = this.fresh("k");
      this.hoistedText.set(text, name);
      this.hoisted.push(`const ${name} = ${text};`);
      this.constants.push({ name, expr });
    }
    return { text: name, prec: ATOM };
  }

  cond(c: Cond, lines: string[], bound: ReadonlySet<string>, names: ReadonlyMap<string, string>): Printed {
    switch (c.k) {
      case "not":
        return { text: `!${wrap(this.cond(c.a, lines, bound, names), 16)}`, prec: 16 };
      case "and":
      case "or": {
        const p = c.k === "and" ? 5 : 4;
        return { text: `${wrap(this.cond(c.a, lines, bound, names), p)} ${c.k === "and" ? "&&" : "||"} ${wrap(this.cond(c.b, lines, bound, names), p + 1)}`, prec: p };
      }
      default: {
        const op = c.k === "lt" ? "<" : c.k === "le" ? "<=" : "===";
        const p = c.k === "eq" ? 9 : 10;
        return { text: `${wrap(this.expr(c.a, lines, bound, names), p)} ${op} ${wrap(this.expr(c.b, lines, bound, names), p + 1)}`, prec: p };
      }
    }
  }

  expr(e: Expr, lines: string[], bound: ReadonlySet<string>, names: ReadonlyMap<string, string>): Printed {
    if (this.inHoist || !this.invariant(e, bound)) return this.raw(e, lines, bound, names);
    this.inHoist = true;
    const text = this.raw(e, [], new Set(), names).text;
    this.inHoist = false;
    const bind = Object.fromEntries([...this.letConst].map(([l, k]): [string, Expr] => [l, { k: "var", name: k }]));
    return this.hoist(text, substitute(e, bind));
  }

  private raw(e: Expr, lines: string[], bound: ReadonlySet<string>, names: ReadonlyMap<string, string>): Printed {
    const sub = (x: Expr) => this.expr(x, lines, bound, names);
    switch (e.k) {
      case "num":
        return { text: jsNumber(e.v), prec: e.v < 0 || Object.is(e.v, -0) ? 15 : ATOM };
      case "var":
        return { text: names.get(e.name) ?? e.name, prec: ATOM };
      case "add":
      case "sub": {
        // a + −c prints as a − c, and a − −c as a + c
        const negated = e.b.k === "num" && e.b.v < 0;
        const b = negated ? { k: "num" as const, v: -(e.b as { v: number }).v } : e.b;
        const plus = (e.k === "add") !== negated;
        return { text: `${wrap(sub(e.a), 12)} ${plus ? "+" : "-"} ${wrap(sub(b), 13)}`, prec: 12 };
      }
      case "mul":
      case "mulSat":
      case "div":
        return { text: `${wrap(sub(e.a), 13)} ${e.k === "div" ? "/" : "*"} ${wrap(sub(e.b), 14)}`, prec: 13 };
      case "min":
      case "max":
        return { text: `Math.${e.k}(${sub(e.a).text}, ${sub(e.b).text})`, prec: ATOM };
      case "floor":
        return { text: `Math.floor(${sub(e.a).text})`, prec: ATOM };
      case "f32":
        return { text: `Math.fround(${sub(e.a).text})`, prec: ATOM };
      case "pow2":
        return { text: `2 ** ${wrap(sub(e.a), ATOM)}`, prec: 14 };
      case "shr":
        return sub({ k: "floor", a: { k: "mul", a: e.a, b: fold({ k: "pow2", a: { k: "sub", a: { k: "num", v: 0 }, b: e.s } }) } });
      case "call":
        return { text: `${e.name}(${e.args.map((a) => sub(a).text).join(", ")})`, prec: ATOM };
      case "let": {
        const value = sub(e.v);
        if (this.invariant(e.v, bound)) {
          this.inv.add(e.name); // bound to a hoisted constant
          this.letConst.set(e.name, value.text);
          return this.expr(e.body, lines, bound, new Map([...names, [e.name, value.text]]));
        }
        const name = this.fresh(e.name);
        lines.push(`const ${name} = ${value.text};`);
        return this.expr(e.body, lines, new Set([...bound, e.name]), new Map([...names, [e.name, name]]));
      }
      case "guard": {
        const c = this.cond(e.c, lines, bound, names);
        lines.push(`if (!${wrap(c, 16)}) throw new RangeError(${JSON.stringify(`${this.opts.where ?? ""}${e.msg}`)});`);
        return sub(e.body);
      }
      case "if": {
        const c = this.cond(e.c, lines, bound, names);
        const tl: string[] = [];
        const el: string[] = [];
        const t = this.expr(e.t, tl, bound, names);
        const f = this.expr(e.e, el, bound, names);
        if (tl.length === 0 && el.length === 0) return { text: `${wrap(c, 4)} ? ${wrap(t, 3)} : ${wrap(f, 3)}`, prec: 3 };
        const r = this.fresh("r");
        const block = (ls: string[], x: Printed) => [...ls, `${r} = ${x.text};`].map((l) => `  ${l}`);
        lines.push(`let ${r};`, `if (${c.text}) {`, ...block(tl, t), "} else {", ...block(el, f), "}");
        return { text: r, prec: ATOM };
      }
    }
  }
}

/** Prints `e` (folded first) as JS; free variables print as their names, renamed by `names`. */
export function printJs(e: Expr, opts: JsPrintOptions = {}, names: ReadonlyMap<string, string> = new Map()): JsPrinted {
  const p = new Printer(opts);
  const body: string[] = [];
  const value = p.expr(fold(e), body, new Set(), names).text;
  return { hoisted: p.hoisted, constants: p.constants, body, value };
}

/** A definition as a JS function declaration `function name(params) { … }`. */
export function printJsFunction(def: { readonly name: string; readonly params: readonly string[]; readonly body: Expr }, opts: JsPrintOptions = {}): string {
  const p = printJs(def.body, opts);
  const lines = [...p.hoisted, ...p.body, `return ${p.value};`];
  return `function ${def.name}(${def.params.join(", ")}) {\n${lines.map((l) => `  ${l}`).join("\n")}\n}`;
}
