/**
 * The fixed-point rescale in the generated C, printed from numerics'
 * definition (numerics/fixed-rescale.ts fixedRescaleDef) by the C printer:
 *   y = clamp(O(round_Q(Σ_i x_i·m_i / 2^shift)), lo, hi)
 * All arithmetic is int64_t; every intermediate stays below 2^53.
 */
import type { FixedRescaleOp } from "../../integer/program.js";
import { fixedRescaleBody, fixedRescaleSummary } from "../shared/fixed-rescale-body.js";
import { printC } from "../shared/print-c.js";
import { type COpEmitter, opName } from "./op-code.js";
import { elementwiseSumFunction } from "./ops-requant.js";

export const emitFixedRescale: COpEmitter<FixedRescaleOp> = (op, ctx) => {
  const lanes = ctx.lanes ?? 1;
  const name = opName(ctx.index, op, lanes);
  const p = printC(fixedRescaleBody(op), { where: `fixed rescale ${op.source}: ` }, new Map(op.inputs.map((_, k) => [`x${k}`, `(int64_t)x${k}[j]`])));
  const text = elementwiseSumFunction(op, ctx, name, lanes, p, fixedRescaleSummary(op));
  return { name, text };
};
