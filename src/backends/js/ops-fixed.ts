/**
 * The fixed-point rescale in generated JS, printed from numerics' definition
 * (numerics/fixed-rescale.ts fixedRescaleDef), never re-derived here:
 *   y = clamp(O(round_Q(Σ_i x_i·m_i / 2^shift)), lo, hi)
 * with the op's ap rounding mode Q and overflow mode O into W bits. Every
 * term is below 2^48, so the sum and the shift are exact in doubles.
 */
import type { FixedRescaleOp } from "../../integer/program.js";
import { fixedRescaleBody, fixedRescaleSummary } from "../shared/fixed-rescale-body.js";
import { printJs } from "../shared/print-js.js";
import { type OpEmitter, opFunctionName, opHeader } from "./codegen.js";

export const emitFixedRescale: OpEmitter<FixedRescaleOp> = (op, ctx) => {
  const name = opFunctionName(ctx.index, op);
  const p = printJs(fixedRescaleBody(op), {}, new Map(op.inputs.map((_, k) => [`x${k}`, `x${k}[j]`])));
  const args = op.inputs.map((_, k) => `x${k}`);
  const text = `${opHeader(op, ctx, fixedRescaleSummary(op))}
function ${name}(${args.join(", ")}, y) {
  for (let j = 0; j < y.length; j++) {
${[...p.hoisted, ...p.body, `y[j] = ${p.value};`].map((l) => `    ${l}`).join("\n")}
  }
}`;
  return { name, text };
};
