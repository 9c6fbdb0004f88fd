/**
 * Requant in generated JS, printed from numerics' definition
 * (numerics/definitions.ts) rather than re-derived here:
 *   y = clamp(R(acc, m[c]·2^−s[c]) + outZero, lo, hi), per channel c along `axis`.
 * R has a few cases by the shift (single rounding: m = 0 or s ≥ 64, s ≤ 0,
 * 17 ≤ s ≤ 63, 1 ≤ s ≤ 16; double rounding: m = 0, 31 ≤ s ≤ 62, s ≤ 30), each an
 * exact double computation (the 62-bit acc·m is split at 2^16, never formed).
 * Each channel's case is known here, so the module holds one loop per case
 * used, and the case's per-channel constants (the printer's hoisted
 * subexpressions of m and s, evaluated here with numerics' exact evaluator)
 * as arrays. Double rounding's left shift keeps numerics' run-time check
 * (a guard in the definition): the back end's check refuses programs whose
 * certified accumulators could overflow it, and integer feeds beyond the
 * quantize range still throw.
 */
import type { RequantOp } from "../../integer/program.js";
import { clampE, DOUBLE_CASES, requantCaseOf, SINGLE_CASES } from "../../numerics/definitions.js";
import { add, type Expr, v } from "../../numerics/expr.js";
import type { RequantRounding } from "../../numerics/requant.js";
import { channelConstant } from "../shared/print-expr.js";
import { type JsPrinted, printJs } from "../shared/print-js.js";
import { type OpEmitter, numList, opFunctionName, opHeader, product, shapeText } from "./codegen.js";

type Case = ReturnType<typeof requantCaseOf>;
const CASE_CODES: readonly Case[] = ["zero", "mul", "high", "low", "right", "left"];

const CASE_DOCS: Readonly<Record<Case, string>> = {
  zero: "m = 0 (or single rounding with s ≥ 64): R = 0",
  mul: "s ≤ 0: R = acc·(m·2^−s)",
  high: "17 ≤ s ≤ 63: R = ⌊(h + 2^(s−17)) / 2^(s−16)⌋, acc·m = h·2^16 + l",
  low: "1 ≤ s ≤ 16: R = h·2^(16−s) + ⌊(l + 2^(s−1)) / 2^s⌋, acc·m = h·2^16 + l",
  right: "31 ≤ s ≤ 62: R = RoundingDivideByPOT(SRDHM(acc, m), s − 31)",
  left: "s ≤ 30: R = SRDHM(acc·2^(31−s), m), acc·2^(31−s) checked to fit int32",
};

function caseExpr(c: Case, rounding: RequantRounding): Expr {
  const cases: Record<string, (acc: Expr, m: Expr, s: Expr) => Expr> = rounding === "single" ? SINGLE_CASES : DOUBLE_CASES;
  return cases[c]!(v("acc"), v("m"), v("s"));
}

const INVARIANT = new Set(["m", "s"]);

export const emitRequant: OpEmitter<RequantOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const i = ctx.index;
  const shape = ctx.value(op.input).shape;
  const where = `requant '${op.source}'`;
  const perChannel = op.multipliers.length !== 1;
  if (perChannel && op.multipliers.length !== shape[op.axis]) {
    throw new Error(`${where}: ${op.multipliers.length} multipliers along axis ${op.axis} of ${shapeText(shape)}`);
  }
  const C = op.multipliers.length;
  const outer = perChannel ? product(shape.slice(0, op.axis)) : 1;
  const inner = perChannel ? product(shape.slice(op.axis + 1)) : product(shape);
  const rounding = ctx.program.rounding;
  const cases = op.multipliers.map((d) => requantCaseOf(d, rounding));
  const used = CASE_CODES.filter((k) => cases.includes(k));
  const printed = new Map<Case, JsPrinted>(
    used.map((k) => [k, printJs(clampE(add(caseExpr(k, rounding), op.outZero), op.clampLo, op.clampHi), { invariant: INVARIANT, where: `${where}: ` }, new Map([["acc", "a"]]))]),
  );
  const constArrays: string[] = [];
  let readsM = false;
  let readsS = false;
  const loop = (k: Case, pad: string) => {
    const p = printed.get(k)!;
    // the case's per-channel constants, evaluated exactly for each channel in this case (0 elsewhere)
    const consts = p.constants.map((c) => {
      const array = `${c.name.toUpperCase()}_${k.toUpperCase()}${i}`;
      const values = channelConstant(p, c, op.multipliers, cases, k);
      constArrays.push(`const ${array} = ${numList(values)};\n`);
      return `${c.name} = ${array}[c]`;
    });
    const text = [...p.body, p.value].join("\n");
    readsM ||= /\bm\b/.test(text);
    readsS ||= /\bs\b/.test(text);
    const locals = [...(/\bm\b/.test(text) ? [`m = M${i}[c]`] : []), ...(/\bs\b/.test(text) ? [`s = S${i}[c]`] : []), ...consts];
    return [
      ...(locals.length > 0 ? [`const ${locals.join(", ")};`] : []),
      `for (let j = i; j < i + ${inner}; j++) {`,
      "  const a = x[j];",
      ...p.body.map((l) => `  ${l}`),
      `  y[j] = ${p.value};`,
      "}",
    ]
      .map((l) => pad + l)
      .join("\n");
  };
  const dispatch =
    used.length === 1
      ? loop(used[0]!, "      ")
      : [
          `      switch (CASE${i}[c]) {`,
          ...used.flatMap((k) => [`        case ${CASE_CODES.indexOf(k)}: {`, loop(k, "          "), "          break;", "        }"]),
          "      }",
        ].join("\n");
  const what =
    `${rounding} rounding, ${perChannel ? `${C} channels along axis ${op.axis}` : "one multiplier"}: ` +
    `y = clamp(R(acc, m·2^−s) + ${op.outZero}, ${op.clampLo}, ${op.clampHi})`;
  const doc = [
    "// Printed from numerics' requant definition (numerics/definitions.ts). Per channel: multiplier m·2^−s (M, S);",
    "// each case's constants (upper-case arrays) are its subexpressions of m and s. By the shift:",
    ...used.map((k) => `//   ${used.length > 1 ? `case ${CASE_CODES.indexOf(k)}, ` : ""}${CASE_DOCS[k]}`),
  ].join("\n");
  const text = `${opHeader(op, ctx, what)}
${doc}
${readsM ? "const" : "//"} M${i} = ${numList(op.multipliers.map((d) => d.m))};
${readsS ? "const" : "//"} S${i} = ${numList(op.multipliers.map((d) => d.s))};
${constArrays.join("")}${used.length > 1 ? `const CASE${i} = ${numList(cases.map((k) => CASE_CODES.indexOf(k)))};\n` : ""}function ${name}(x, y, batch) {
  for (let o = 0, i = 0; o < batch * ${outer}; o++) {
    for (let c = 0; c < ${C}; c++, i += ${inner}) {
${dispatch}
    }
  }
}`;
  return { name, text };
};
