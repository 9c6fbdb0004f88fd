/** The index ops (gather: embedding rows by integer ids; slice: rows along one axis), each calling its one definition in numerics/gather.ts. */
import { sampleSize } from "../../../integer/program.js";
import { gatherKernel, sliceKernel } from "../../../numerics/gather.js";
import type { Kernel } from "../kernel.js";
import { plain } from "../kernel.js";

export const gatherKernelOp: Kernel<"gather"> = (op) => plain((inputs, out) => gatherKernel(inputs[0]!, out as Int32Array, op.table, op.rows, op.width));

export const sliceKernelOp: Kernel<"slice"> = (op, ctx) => {
  const shape = ctx.value(op.input).shape;
  const outer = ctx.batch * sampleSize(shape.slice(0, op.axis));
  const inner = sampleSize(shape.slice(op.axis + 1));
  return plain((inputs, out) => sliceKernel(inputs[0]!, out as Int32Array, outer, shape[op.axis]!, inner, op.start, op.end));
};
