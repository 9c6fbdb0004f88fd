/**
 * Requant and rescale in the generated C, printed from numerics' definitions
 * (numerics/definitions.ts) by the C printer (shared/print-c.ts), never
 * re-derived here:
 *   requant: y = clamp(R(acc, m[c]·2^−s[c]) + outZero, lo, hi), per channel c along `axis`
 *   rescale: y = clamp(outZero + rshr(Σ_i (x_i − z_i)·m_i, shift), lo, hi)
 * R has a few cases by the shift (single rounding: m = 0 or s ≥ 64, s ≤ 0,
 * 17 ≤ s ≤ 63, 1 ≤ s ≤ 16; double rounding: m = 0, 31 ≤ s ≤ 62, s ≤ 30). Each
 * channel's case is known here, so the function holds one loop per case used;
 * the case's per-channel constants (the printer's hoisted subexpressions of m
 * and s) are evaluated here with numerics' exact evaluator and stored as
 * int32_t arrays where every value fits, else int64_t. All arithmetic is int64_t; every intermediate stays below
 * 2^53 in magnitude (the definitions' promise). Single-rounding channels of the 17 ≤ s ≤ 63 case take
 * numerics' narrow form instead where it exists (numerics/requant-narrow.ts: the same results, every
 * intermediate in int32, printed by print-c32.ts), which compilers vectorize on 32-bit lanes. On AVX2,
 * single-rounding channels run numerics' 64-bit lane form 16 sums at a time first (requant-avx2.ts), the
 * printed loop finishing the run.
 */
import type { FixedRescaleOp, RequantOp, RescaleOp } from "../../integer/program.js";
import { clampE, DOUBLE_CASES, requantCaseOf, rescaleDef, SINGLE_CASES } from "../../numerics/definitions.js";
import { add, type Expr, num as numE, substitute, v } from "../../numerics/expr.js";
import { narrowRequant, narrowRequantE } from "../../numerics/requant-narrow.js";
import { cInt, printC } from "../shared/print-c.js";
import { channelConstant, type Printed } from "../shared/print-expr.js";
import { cList } from "./c-types.js";
import { type CEmitCtx, type COpEmitter, opComment, opName, storage } from "./op-code.js";
import { printC32 } from "./print-c32.js";
import { laneRequantParts } from "./requant-avx2.js";
import { splitRescalePrinted } from "./rescale-split-c.js";

/** A channel's case: numerics' (requantCaseOf), or the narrow form with n levels (single rounding, where it exists). */
type Case = ReturnType<typeof requantCaseOf> | "narrow1" | "narrow2" | "narrow3" | "narrow4";
const CASE_CODES: readonly Case[] = ["zero", "mul", "high", "low", "right", "left", "narrow1", "narrow2", "narrow3", "narrow4"];
const NARROW_NAMES = ["alo", "ahi", "qz", "t", "s2"] as const;

function caseExpr(c: Case, rounding: "single" | "double"): Expr {
  const cases: Record<string, (acc: Expr, m: Expr, s: Expr) => Expr> = rounding === "single" ? SINGLE_CASES : DOUBLE_CASES;
  return cases[c]!(v("acc"), v("m"), v("s"));
}

const INVARIANT = new Set(["m", "s"]);

/** int32_t when every value fits (a product with an int32 accumulator is then one a vectorizer widens, 32×32 → 64 bits), else int64_t. */
const arrayType = (values: readonly number[]): string => (values.every((x) => x >= -(2 ** 31) && x < 2 ** 31) ? "int32_t" : "int64_t");

/**
 * The per-channel constants of a requant (decls) and the loop applying it to
 * `inner` accumulators of channel `c` (a count, or a C expression): reads xc[j] (int32_t), writes yc[j];
 * the caller declares c, xc and yc. Shared by the requant op and the conv /
 * dense epilogues that fuse it (batch-tile.ts).
 */
export function requantParts(op: RequantOp, ctx: CEmitCtx): { decls: string; loop: (inner: number | string, pad: string) => string } {
  const i = ctx.index;
  const C = op.multipliers.length;
  const rounding = ctx.program.rounding;
  // the 31-bit form where it exists (it vectorizes on 32-bit lanes), numerics' cases elsewhere
  const narrow = op.multipliers.map((d) => (rounding === "single" && requantCaseOf(d, rounding) === "high" ? narrowRequant(d.m, d.s, op.outZero, op.clampLo, op.clampHi) : undefined));
  const cases: Case[] = op.multipliers.map((d, c) => (narrow[c] ? (`narrow${narrow[c]!.m.length}` as Case) : requantCaseOf(d, rounding)));
  const used = CASE_CODES.filter((k) => cases.includes(k));
  const yT = storage(ctx, op.output);
  const arrays: string[] = [];
  let readsM = false;
  let readsS = false;
  const printed = used.map((k) => {
    if (k.startsWith("narrow")) {
      const n = Number(k.slice(6));
      const p = printC32(narrowRequantE(v("acc"), n, op.clampLo, op.clampHi), { where: `requant ${op.source}: ` }, new Map([["acc", "a"]]));
      // the constants the printed form reads (one level reads no digit width t)
      const code = [...p.body, p.value].join("\n");
      const names = [...NARROW_NAMES, ...Array.from({ length: n }, (_, j) => [`m${j}`, `r${j}`]).flat()].filter((name) => new RegExp(`\\b${name}\\b`).test(code));
      const locals = names.map((name) => {
        const array = `${name.toUpperCase()}_${k.toUpperCase()}${i}`;
        const values = narrow.map((x) => {
          if (!x || x.m.length !== n) return 0;
          const j = Number(name.slice(1));
          return name === "alo" ? x.aLo : name === "ahi" ? x.aHi : name === "qz" ? x.qz : name === "t" ? x.t : name === "s2" ? x.s2 : name[0] === "m" ? x.m[j]! : x.r[j]!;
        });
        arrays.push(`static const int32_t ${array}[${C}] = ${cList(values, cInt)};`);
        return `const int32_t ${name} = ${array}[c];`;
      });
      return { p, locals, text: "", wide: false };
    }
    const p: Printed = printC(clampE(add(caseExpr(k, rounding), op.outZero), op.clampLo, op.clampHi), { invariant: INVARIANT, where: `requant ${op.source}: ` }, new Map([["acc", "a"]]));
    // the case's per-channel constants, evaluated exactly for each channel in this case (0 elsewhere)
    const locals = p.constants.map((c) => {
      const array = `${c.name.toUpperCase()}_${k.toUpperCase()}${i}`;
      const values = channelConstant(p, c, op.multipliers, cases, k);
      arrays.push(`static const ${arrayType(values)} ${array}[${C}] = ${cList(values, cInt)};`);
      return `const int64_t ${c.name} = ${array}[c];`;
    });
    const text = [...p.body, p.value].join("\n").replace(/\/\*.*?\*\//g, ""); // code only: a guard's comment names no variable
    readsM ||= /\bm\b/.test(text);
    readsS ||= /\bs\b/.test(text);
    return { p, locals, text, wide: true };
  });
  const lanes = laneRequantParts(op, ctx);
  const from = lanes ? "" : "int j = 0";
  const scalar = (inner: number | string, pad: string): string => {
    const bodies = printed.map(({ p, locals, text, wide }) => {
      const ms = /\bm\b/.test(text) ? [`const int64_t m = M${i}[c];`] : [];
      const ss = /\bs\b/.test(text) ? [`const int64_t s = S${i}[c];`] : [];
      const acc = !wide ? ["  const int32_t a = xc[j];"] : /\ba\b/.test(text) ? ["  const int64_t a = xc[j];"] : [];
      const inner1 = used.length === 1 ? pad : `${pad}    `;
      return [...ms, ...ss, ...locals, `for (${from}; j < ${inner}; j++) {`, ...acc, ...p.body.map((l) => `  ${l}`), `  yc[j] = (${yT})(${p.value});`, "}"].map((l) => inner1 + l).join("\n");
    });
    if (used.length === 1) return bodies[0]!;
    return [`${pad}switch (CASE${i}[c]) {`, ...used.flatMap((k, n) => [`${pad}  case ${CASE_CODES.indexOf(k)}: {`, bodies[n]!, `${pad}    break;`, `${pad}  }`]), `${pad}}`].join("\n");
  };
  // with the lane form: its AVX2 steps, then the printed loop from where they stopped
  const loop = (inner: number | string, pad: string): string =>
    lanes ? [`${pad}{`, `${pad}  int j = 0;`, "#if FIXQ_USE_AVX2", lanes.loop(inner, `${pad}  `), "#endif", scalar(inner, `${pad}  `), `${pad}}`].join("\n") : scalar(inner, pad);
  const decls = [
    ...(readsM ? [`static const ${arrayType(op.multipliers.map((d) => d.m))} M${i}[${C}] = ${cList(op.multipliers.map((d) => d.m), cInt)};`] : []),
    ...(readsS ? [`static const ${arrayType(op.multipliers.map((d) => d.s))} S${i}[${C}] = ${cList(op.multipliers.map((d) => d.s), cInt)};`] : []),
    ...arrays,
    ...(used.length > 1 ? [`static const unsigned char CASE${i}[${C}] = ${cList(cases.map((k) => CASE_CODES.indexOf(k)))};`] : []),
    ...(lanes ? [lanes.decls] : []),
  ].join("\n");
  return { decls, loop };
}

export const emitRequant: COpEmitter<RequantOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const shape = ctx.value(op.input).shape;
  const perChannel = op.multipliers.length !== 1;
  if (perChannel && op.multipliers.length !== shape[op.axis]) throw new Error(`requant ${op.source}: ${op.multipliers.length} multipliers along axis ${op.axis} of [${shape.join(", ")}]`);
  const C = op.multipliers.length;
  const outer = perChannel ? shape.slice(0, op.axis).reduce((a, b) => a * b, 1) : 1;
  // in the batch layout a channel's elements stay contiguous, TILE times as many
  const inner = (perChannel ? shape.slice(op.axis + 1).reduce((a, b) => a * b, 1) : shape.reduce((a, b) => a * b, 1)) * lanes;
  const xT = storage(ctx, op.input);
  const yT = storage(ctx, op.output);
  const parts = requantParts(op, ctx);
  const what = `${ctx.program.rounding} rounding, ${perChannel ? `${C} channels along axis ${op.axis}` : "one multiplier"}: y = clamp(R(acc, m * 2^-s) + ${op.outZero}, ${op.clampLo}, ${op.clampHi})`;
  const text = `${opComment(op, ctx, what)}
static int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {
  for (int o = 0; o < ${outer}; o++) {
    for (int c = 0; c < ${C}; c++) {
      const ${xT} *xc = x + (o * ${C} + c) * ${inner};
      ${yT} *yc = y + (o * ${C} + c) * ${inner};
${parts.loop(inner, "      ")}
    }
  }
  return 0;
}`;
  return { name, decls: parts.decls, text };
};

export const emitRescale: COpEmitter<RescaleOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const n = op.inputs.length;
  if (op.inputZeros.length !== n || op.multipliers.length !== n) throw new Error(`rescale ${op.source}: ${n} inputs but ${op.inputZeros.length} zero points and ${op.multipliers.length} multipliers`);
  const consts: Record<string, Expr> = { s: numE(op.shift), z: numE(op.outZero), lo: numE(op.clampLo), hi: numE(op.clampHi) };
  op.inputs.forEach((_, k) => {
    consts[`z${k}`] = numE(op.inputZeros[k]!);
    consts[`m${k}`] = numE(op.multipliers[k]!);
  });
  // int32 where numerics' split form applies (rescale-split-c.ts), else the definition on int64
  const split = splitRescalePrinted(op, ctx);
  const p = split ?? printC(substitute(rescaleDef(n).body, consts), { where: `rescale ${op.source}: ` }, new Map(op.inputs.map((_, k) => [`x${k}`, `(int64_t)x${k}[j]`])));
  const what = `${split ? "int32 split form (numerics/rescale-split.ts) of " : ""}y = clamp(${op.outZero} + rshr(sum (x_i - z_i) * m_i, ${op.shift}), ${op.clampLo}, ${op.clampHi}), z = [${op.inputZeros.join(", ")}], m = [${op.multipliers.join(", ")}]`;
  const text = elementwiseSumFunction(op, ctx, name, lanes, p, what);
  return { name, text };
};

/**
 * The C function of an elementwise op over several inputs whose value per
 * element j is the printed expression `p` (inputs read as x0[j], x1[j], …):
 *   for j < |y|·lanes: y[j] = p(x0[j], x1[j], …)
 * Shared by the integer rescale and the fixed-point rescale.
 */
export function elementwiseSumFunction(op: RescaleOp | FixedRescaleOp, ctx: CEmitCtx, name: string, lanes: number, p: Printed, what: string): string {
  const yT = storage(ctx, op.output);
  const size = ctx.value(op.output).shape.reduce((a, b) => a * b, 1) * lanes; // elementwise: the batch layout is TILE times as long
  const args = op.inputs.map((x, k) => `const ${storage(ctx, x)} *restrict x${k}`);
  return `${opComment(op, ctx, what)}
static int ${name}(${args.join(", ")}, ${yT} *restrict y) {
${op.inputs.map((_, k) => `  (void)x${k}; /* a zero multiplier leaves an input unread */`).join("\n")}
  for (int j = 0; j < ${size}; j++) {
${[...p.hoisted, ...p.body, `y[j] = (${yT})(${p.value});`].map((l) => `    ${l}`).join("\n")}
  }
  return 0;
}`;
}
