/**
 * The fixed-point rescale op's printable body, shared by the JS and C
 * printers: numerics' definition (numerics/fixed-rescale.ts fixedRescaleDef)
 * with the op's constants (multipliers, clamp) in place of its parameters,
 * leaving the inputs x0, x1, … free; and a one-line summary for comments.
 */
import type { FixedRescaleOp } from "../../integer/program.js";
import { type Expr, num as numE, substitute } from "../../numerics/expr.js";
import { fixedRescaleDef } from "../../numerics/fixed-rescale.js";

export function fixedRescaleBody(op: FixedRescaleOp): Expr {
  const consts: Record<string, Expr> = { lo: numE(op.clampLo), hi: numE(op.clampHi) };
  op.multipliers.forEach((m, k) => {
    consts[`m${k}`] = numE(m);
  });
  return substitute(fixedRescaleDef(op.inputs.length, op.shift, op.cast).body, consts);
}

export function fixedRescaleSummary(op: FixedRescaleOp): string {
  const c = op.cast;
  const into = `${c.signed ? "" : "u"}int${c.bits}${c.satBits ? ` N=${c.satBits}` : ""}`;
  return `y = clamp(${c.overflow}(${c.round}(sum x_i * m_i / 2^${op.shift})) into ${into}, ${op.clampLo}, ${op.clampHi}), m = [${op.multipliers.join(", ")}]`;
}
