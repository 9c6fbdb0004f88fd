/**
 * The printer core shared by the code generators (print-js.ts, print-c.ts):
 * walks a numerics definition (numerics/expr.ts) and prints it through a
 * `Syntax` that knows one target language's spelling. The core decides the
 * structure, the same for every language:
 *   add/sub/mul/div → infix (a + −c printed a − c);  if → a conditional
 *   expression, or if/else statements when a branch needs locals;  let → a
 *   constant local;  guard → a statement that fails where the condition does
 *   not hold;  everything else (shr, pow2, floor, f32, mulSat, min/max,
 *   call, literals) → the syntax's own spelling.
 * Constants are folded first (numerics/expr-fold.ts). Subexpressions over
 * `invariant` names only (the per-channel multiplier and shift of a loop) are
 * hoisted into `hoisted` lines, for the caller to place outside its loop.
 * Operator precedences are the ones C and JS share (unary 16 > × 13 > ± 12 >
 * relational 10 > equality 9 > && 5 > || 4 > ?: 3).
 */
import { type Cond, type Expr, isReal, substitute } from "../../numerics/expr.js";
import { evaluate } from "../../numerics/expr-eval.js";
import { fold } from "../../numerics/expr-fold.js";

export interface PrintOptions {
  /** Names constant over the caller's inner loop: subexpressions over only these are hoisted. */
  readonly invariant?: ReadonlySet<string>;
  /** Prepended to a guard's message ("requant 'Conv 3': "). */
  readonly where?: string;
  /** Prefix of the locals this printing declares (unique per caller scope). */
  readonly prefix?: string;
  /** Names of free variables that denote reals (the others are integers). */
  readonly reals?: ReadonlySet<string>;
}

export interface Printed {
  /** Loop-invariant constants: local declarations, to place before the loop. */
  readonly hoisted: readonly string[];
  /** The same constants as expressions over the invariant names and the constants before them (to evaluate ahead of time). */
  readonly constants: readonly { readonly name: string; readonly expr: Expr; readonly real: boolean }[];
  /** Statements computing the value (locals, guards, branches). */
  readonly body: readonly string[];
  /** The expression of the value, valid after `body`. */
  readonly value: string;
}

/**
 * The value of the hoisted constant `c` of `printed` for each channel whose
 * requant case is `k` (0 for the others): the constants are evaluated in
 * order over the channel's multiplier m and shift s, up to `c`, exactly as
 * the printed code would compute them.
 */
export function channelConstant(
  printed: Pick<Printed, "constants">,
  c: Printed["constants"][number],
  multipliers: readonly { readonly m: number; readonly s: number }[],
  cases: readonly string[],
  k: string,
): number[] {
  return multipliers.map((d, ch) => {
    if (cases[ch] !== k) return 0;
    const env: Record<string, number> = { m: d.m, s: d.s };
    for (const e of printed.constants) {
      env[e.name] = evaluate(e.expr, env);
      if (e === c) break;
    }
    return env[c.name]!;
  });
}

/** Printed text with its precedence (ATOM: never needs parentheses). */
export type Text = { readonly text: string; readonly prec: number };
export const ATOM = 20;
export const wrap = (p: Text, min: number) => (p.prec >= min ? p.text : `(${p.text})`);

/** One language's spelling of what the core does not print itself. */
export interface Syntax {
  /** A literal; `real` says whether the context is a real (double) rather than an integer. */
  num(v: number, real: boolean): Text;
  eq: string;
  /** floor(a / 2^s) for an integer a; absent: printed as floor(a · 2^−s), exact for a power of two. */
  shr?(a: Text, s: Text): Text;
  pow2(s: Text): Text;
  floor(a: Text): Text;
  f32(a: Text): Text;
  mulSat(a: Text, b: Text): Text;
  minMax(kind: "min" | "max", a: Text, b: Text): Text;
  call(name: string, args: readonly Text[]): Text;
  /** A constant local `name = value`; `e` is the value's definition (a typed syntax sizes the local from it). */
  constLocal(name: string, real: boolean, value: string, e?: Expr): string;
  /** A mutable local assigned by both branches of an if (`e`, the if). */
  varLocal(name: string, real: boolean, e?: Expr): string;
  /** The conditional expression c ? t : f of the if `e`; absent: printed `c ? t : f`. */
  select?(c: Text, t: Text, f: Text, e: Expr): Text;
  /** Called as a let binds `name` to `value`, before its body prints (a typed syntax tracks the bounds). */
  bind?(name: string, value: Expr): void;
  /** Called around the printing of an if's branch: `c` holds (then) or fails (else) there. */
  branch?(c: Cond, holds: boolean, print: () => Text): Text;
  /** The statement failing with `message` where `notCond` (the negated condition) holds. */
  fail(notCond: string, message: string): string;
}

class Printer {
  readonly hoisted: string[] = [];
  readonly constants: { name: string; expr: Expr; real: boolean }[] = [];
  /** Let names bound to hoisted constants, and those constants' names. */
  private readonly letConst = new Map<string, string>();
  private readonly hoistedText = new Map<string, string>();
  private readonly taken = new Set<string>();
  /** Invariant names: the caller's, plus locals bound to hoisted constants. */
  private readonly inv: Set<string>;
  private inHoist = false;

  constructor(
    private readonly syn: Syntax,
    private readonly opts: PrintOptions,
  ) {
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

  private hoist(text: string, expr: Expr, real: boolean): Text {
    let name = this.hoistedText.get(text);
    if (!name) {
      name = this.fresh("k");
      this.hoistedText.set(text, name);
      this.hoisted.push(this.syn.constLocal(name, real, text, expr));
      this.constants.push({ name, expr, real });
    }
    return { text: name, prec: ATOM };
  }

  /** The reals in scope: the caller's real variables and the real locals bound so far. */
  private reals = new Set<string>();

  private real(e: Expr): boolean {
    return isReal(e, new Set([...(this.opts.reals ?? []), ...this.reals]));
  }

  cond(c: Cond, lines: string[], bound: ReadonlySet<string>, names: ReadonlyMap<string, string>): Text {
    switch (c.k) {
      case "not":
        return { text: `!${wrap(this.cond(c.a, lines, bound, names), 16)}`, prec: 16 };
      case "and":
      case "or": {
        const p = c.k === "and" ? 5 : 4;
        // an && inside || gets parentheses too (gcc's -Wparentheses asks for them)
        const q = c.k === "or" ? 6 : p;
        return { text: `${wrap(this.cond(c.a, lines, bound, names), q)} ${c.k === "and" ? "&&" : "||"} ${wrap(this.cond(c.b, lines, bound, names), q + 1)}`, prec: p };
      }
      default: {
        const op = c.k === "lt" ? "<" : c.k === "le" ? "<=" : this.syn.eq;
        const p = c.k === "eq" ? 9 : 10;
        return { text: `${wrap(this.expr(c.a, lines, bound, names), p)} ${op} ${wrap(this.expr(c.b, lines, bound, names), p + 1)}`, prec: p };
      }
    }
  }

  expr(e: Expr, lines: string[], bound: ReadonlySet<string>, names: ReadonlyMap<string, string>): Text {
    if (this.inHoist || !this.invariant(e, bound)) return this.raw(e, lines, bound, names);
    this.inHoist = true;
    const text = this.raw(e, [], new Set(), names).text;
    this.inHoist = false;
    const bind = Object.fromEntries([...this.letConst].map(([l, k]): [string, Expr] => [l, { k: "var", name: k }]));
    return this.hoist(text, substitute(e, bind), this.real(e));
  }

  private raw(e: Expr, lines: string[], bound: ReadonlySet<string>, names: ReadonlyMap<string, string>): Text {
    const sub = (x: Expr) => this.expr(x, lines, bound, names);
    const syn = this.syn;
    switch (e.k) {
      case "num":
        return syn.num(e.v, !Number.isInteger(e.v));
      case "var":
        return { text: names.get(e.name) ?? e.name, prec: ATOM };
      case "add":
      case "sub": {
        // a + −c prints as a − c, and a − −c as a + c
        const negated = e.b.k === "num" && e.b.v < 0;
        const b = negated ? { k: "num" as const, v: -(e.b as { v: number }).v } : e.b;
        const plus = (e.k === "add") !== negated;
        const real = this.real(e);
        const bt = b.k === "num" ? syn.num(b.v, real) : sub(b);
        const at = e.a.k === "num" ? syn.num(e.a.v, real) : sub(e.a);
        return { text: `${wrap(at, 12)} ${plus ? "+" : "-"} ${wrap(bt, 13)}`, prec: 12 };
      }
      case "mul":
      case "div": {
        const real = this.real(e);
        const side = (x: Expr) => (x.k === "num" ? syn.num(x.v, real) : sub(x));
        return { text: `${wrap(side(e.a), 13)} ${e.k === "div" ? "/" : "*"} ${wrap(side(e.b), 14)}`, prec: 13 };
      }
      case "mulSat":
        return syn.mulSat(sub(e.a), sub(e.b));
      case "min":
      case "max":
        return syn.minMax(e.k, sub(e.a), sub(e.b));
      case "floor":
        return syn.floor(sub(e.a));
      case "f32":
        return syn.f32(sub(e.a));
      case "pow2":
        return syn.pow2(sub(e.a));
      case "shr":
        if (syn.shr && !this.real(e.a)) return syn.shr(sub(e.a), sub(e.s));
        return sub({ k: "floor", a: { k: "mul", a: e.a, b: fold({ k: "pow2", a: { k: "sub", a: { k: "num", v: 0 }, b: e.s } }) } });
      case "call":
        return syn.call(e.name, e.args.map((a) => sub(a)));
      case "let": {
        syn.bind?.(e.name, e.v);
        const value = sub(e.v);
        const real = this.real(e.v);
        if (this.invariant(e.v, bound)) {
          this.inv.add(e.name); // bound to a hoisted constant
          this.letConst.set(e.name, value.text);
          if (real) this.reals.add(e.name);
          return this.expr(e.body, lines, bound, new Map([...names, [e.name, value.text]]));
        }
        const name = this.fresh(e.name);
        lines.push(syn.constLocal(name, real, value.text, e.v));
        if (real) this.reals.add(e.name);
        else this.reals.delete(e.name);
        return this.expr(e.body, lines, new Set([...bound, e.name]), new Map([...names, [e.name, name]]));
      }
      case "guard": {
        const c = this.cond(e.c, lines, bound, names);
        lines.push(syn.fail(`!${wrap(c, 16)}`, `${this.opts.where ?? ""}${e.msg}`));
        return sub(e.body);
      }
      case "if": {
        const c = this.cond(e.c, lines, bound, names);
        const tl: string[] = [];
        const el: string[] = [];
        const inBranch = (holds: boolean, print: () => Text) => (syn.branch ? syn.branch(e.c, holds, print) : print());
        const t = inBranch(true, () => this.expr(e.t, tl, bound, names));
        const f = inBranch(false, () => this.expr(e.e, el, bound, names));
        if (tl.length === 0 && el.length === 0) return syn.select ? syn.select(c, t, f, e) : { text: `${wrap(c, 4)} ? ${wrap(t, 3)} : ${wrap(f, 3)}`, prec: 3 };
        const r = this.fresh("r");
        const block = (ls: string[], x: Text) => [...ls, `${r} = ${x.text};`].map((l) => `  ${l}`);
        lines.push(syn.varLocal(r, this.real(e), e), `if (${c.text}) {`, ...block(tl, t), "} else {", ...block(el, f), "}");
        return { text: r, prec: ATOM };
      }
    }
  }
}

/** Prints `e` (folded first) in `syntax`; free variables print as their names, renamed by `names`. */
export function printExpr(syntax: Syntax, e: Expr, opts: PrintOptions = {}, names: ReadonlyMap<string, string> = new Map()): Printed {
  const p = new Printer(syntax, opts);
  const body: string[] = [];
  const value = p.expr(fold(e), body, new Set(), names).text;
  return { hoisted: p.hoisted, constants: p.constants, body, value };
}
