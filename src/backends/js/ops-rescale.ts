/**
 * Rescale in generated JS: residual Add, Concat branches, standalone ReLU,
 * a change of scale, as one rounding of an exact sum, printed from numerics'
 * definition (numerics/definitions.ts):
 *   y = clamp(outZero + rshr(Σ_i (x_i − z_i)·m_i, shift), lo, hi),  rshr(t, s) = ⌊(t + 2^(s−1)) / 2^s⌋
 * The program bounds every term below 2^48, so the sum is exact in doubles.
 */
import type { RescaleOp } from "../../integer/program.js";
import { rescaleDef } from "../../numerics/definitions.js";
import { type Expr, num as numE, substitute } from "../../numerics/expr.js";
import { printJs } from "../shared/print-js.js";
import { type OpEmitter, opFunctionName, opHeader, shapeText } from "./codegen.js";

export const emitRescale: OpEmitter<RescaleOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const where = `rescale '${op.source}'`;
  const n = op.inputs.length;
  if (op.inputZeros.length !== n || op.multipliers.length !== n) throw new Error(`${where}: ${n} inputs but ${op.inputZeros.length} zero points and ${op.multipliers.length} multipliers`);
  if (!Number.isInteger(op.shift) || op.shift < 0) throw new Error(`${where}: shift ${op.shift} is not a non-negative integer`);
  const consts: Record<string, Expr> = { s: numE(op.shift), z: numE(op.outZero), lo: numE(op.clampLo), hi: numE(op.clampHi) };
  op.inputs.forEach((_, k) => {
    consts[`z${k}`] = numE(op.inputZeros[k]!);
    consts[`m${k}`] = numE(op.multipliers[k]!);
  });
  const p = printJs(substitute(rescaleDef(n).body, consts), {}, new Map(op.inputs.map((_, k) => [`x${k}`, `x${k}[j]`])));
  const what =
    `y = clamp(${op.outZero} + rshr(Σ (x_i − z_i)·m_i, ${op.shift}), ${op.clampLo}, ${op.clampHi}), ` +
    `z = ${shapeText(op.inputZeros)}, m = ${shapeText(op.multipliers)}`;
  const args = op.inputs.map((_, k) => `x${k}`);
  const text = `${opHeader(op, ctx, what)}
function ${name}(${args.join(", ")}, y) {
  for (let j = 0; j < y.length; j++) {
${[...p.hoisted, ...p.body, `y[j] = ${p.value};`].map((l) => `    ${l}`).join("\n")}
  }
}`;
  return { name, text };
};
