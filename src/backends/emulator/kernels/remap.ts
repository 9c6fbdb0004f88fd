/** The remap op (nearest Resize, ConvTranspose's phase interleave): each sample through numerics/remap.ts's one definition. */
import { sampleSize } from "../../../integer/program.js";
import { remapKernel } from "../../../numerics/remap.js";
import type { Kernel } from "../kernel.js";
import { plain } from "../kernel.js";

export const remapKernelOp: Kernel<"remap"> = (op, ctx) => {
  const inSize = sampleSize(ctx.value(op.input).shape);
  const outShape = ctx.value(op.output).shape;
  const outSize = sampleSize(outShape);
  if (op.offsets.length !== outShape.length || op.offsets.some((t, a) => t.length !== outShape[a])) {
    throw new Error(`${op.source}: remap tables of lengths [${op.offsets.map((t) => t.length)}] do not match the output [${outShape}]`);
  }
  const batch = ctx.batch;
  return plain((inputs, out) => {
    for (let b = 0; b < batch; b++) remapKernel(inputs[0]!, out as Int32Array, op.offsets, b * inSize, b * outSize);
  });
};
