/**
 * The fixed-point rescale (program.ts `fixedrescale`): the emulator calls
 * numerics' definition over whole arrays (numerics/fixed-rescale.ts
 * fixedRescaleArrays): y = clamp(O(round_Q(Σ_i x_i·m_i / 2^shift)), lo, hi).
 */
import { sampleSize } from "../../../integer/program.js";
import { fixedRescaleArrays } from "../../../numerics/fixed-rescale.js";
import type { Kernel } from "../kernel.js";
import { plain } from "../kernel.js";

export const fixedRescaleKernel: Kernel<"fixedrescale"> = (op, ctx) => {
  const n = sampleSize(ctx.value(op.output).shape);
  for (const name of op.inputs) {
    const s = ctx.value(name).shape;
    if (sampleSize(s) !== n) throw new Error(`${op.source}: fixed rescale input '${name}' [${s}] and output [${ctx.value(op.output).shape}] differ in size`);
  }
  const { multipliers, shift, cast, clampLo, clampHi } = op;
  return plain((inputs, out) => {
    fixedRescaleArrays(inputs as readonly Int32Array[], multipliers, shift, cast, clampLo, clampHi, out as Int32Array);
  });
};
