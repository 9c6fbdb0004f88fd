/**
 * The fixed-point rescale in the generated C, printed from numerics'
 * definition (numerics/fixed-rescale.ts fixedRescaleDef) by the C printer:
 *   y = clamp(O(round_Q(Σ_i x_i·m_i / 2^shift)), lo, hi)
 * All arithmetic is int64_t; every intermediate stays below 2^53.
 */
import type { FixedRescaleOp } from "../../integer/program.js";
import { printC } from "../shared/print-c.js";
import { fixedRescaleBody, fixedRescaleSummary } from "../shared/fixed-rescale-body.js";
import { type COpEmitter, opComment, opName, storage } from "./op-code.js";

export const emitFixedRescale: COpEmitter<FixedRescaleOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const p = printC(fixedRescaleBody(op), { where: `fixed rescale ${op.source}: ` }, new Map(op.inputs.map((_, k) => [`x${k}`, `(int64_t)x${k}[j]`])));
  const yT = storage(ctx, op.output);
  const size = ctx.value(op.output).shape.reduce((a, b) => a * b, 1) * lanes; // elementwise: the batch layout is TILE times as long
  const args = op.inputs.map((x, k) => `const ${storage(ctx, x)} *restrict x${k}`);
  const text = `${opComment(op, ctx, fixedRescaleSummary(op))}
static int ${name}(${args.join(", ")}, ${yT} *restrict y) {
${op.inputs.map((_, k) => `  (void)x${k}; /* a zero multiplier leaves an input unread */`).join("\n")}
  for (int j = 0; j < ${size}; j++) {
${[...p.hoisted, ...p.body, `y[j] = (${yT})(${p.value});`].map((l) => `    ${l}`).join("\n")}
  }
  return 0;
}`;
  return { name, text };
};
