/**
 * sumpool and maxpool.
 * - sumpool over the whole (unpadded) plane: ReduceSum on int32 (ORT has no
 *   int8/uint8 ReduceSum), minus z·H·W. Otherwise a depthwise conv with an
 *   all-ones kernel (linear.ts), whose padding contributes 0.
 * - maxpool on 8-bit carriers: ORT's MaxPool (uint8/int8 kernels; padding is
 *   ignored). int32 carriers (no MaxPool kernel): Pad with INT32_MIN, one
 *   strided Slice per window offset, and an elementwise Max over them.
 */
import { DataType } from "../../ir/dtype.js";
import { FixqError } from "../../ir/errors.js";
import type { MaxPoolOp, SumPoolOp } from "../../integer/program.js";
import { intAttr, intsAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";
import { emitConv } from "./linear.js";

export function emitSumPool(ctx: EmitContext, op: SumPoolOp): void {
  const where = op.source;
  const shape = ctx.value(op.input, where).shape;
  if (shape.length !== 3) throw new FixqError("unsupported", `integer ONNX export: sumpool needs a [C, H, W] input, not [${shape.join(",")}]`, where);
  const [C, H, W] = shape as [number, number, number];
  const global = op.kernel[0] === H && op.kernel[1] === W && op.pads.every((p) => p === 0);
  if (!global) {
    const [kh, kw] = op.kernel;
    emitConv(ctx, {
      kind: "conv",
      source: op.source,
      input: op.input,
      output: op.output,
      inputZero: op.inputZero,
      weight: new Int32Array(C * kh * kw).fill(1),
      weightShape: [C, 1, kh, kw],
      strides: op.strides,
      pads: op.pads,
      dilations: [1, 1],
      group: C,
    });
    return;
  }
  const x = ctx.cast(ctx.get(op.input, where), DataType.INT32, `${op.output}_i32`);
  const sum: Emitted = {
    name: ctx.b.op("ReduceSum", [x.name, ctx.b.constant(DataType.INT64, [2], [2, 3], "axes_hw")], [intAttr("keepdims", 1)], `${op.output}_sum`),
    dtype: DataType.INT32,
  };
  const offset = op.inputZero * H * W;
  ctx.set(op.output, offset === 0 ? ctx.cast(sum, DataType.INT32, op.output, op.output) : { name: ctx.b.op("Sub", [sum.name, ctx.b.scalar(DataType.INT32, offset, "zhw")], [], op.output, op.output), dtype: DataType.INT32 });
}

export function emitMaxPool(ctx: EmitContext, op: MaxPoolOp): void {
  const where = op.source;
  const x = ctx.get(op.input, where);
  const shape = ctx.value(op.input, where).shape;
  if (shape.length !== 3) throw new FixqError("unsupported", `integer ONNX export: maxpool needs a [C, H, W] input, not [${shape.join(",")}]`, where);
  const out = ctx.carrier(op.output, where);
  if (x.dtype === DataType.UINT8 || x.dtype === DataType.INT8) {
    const attrs = [intsAttr("kernel_shape", op.kernel), intsAttr("strides", op.strides), intsAttr("pads", op.pads), intsAttr("dilations", op.dilations)];
    const y: Emitted = { name: ctx.b.op("MaxPool", [x.name], attrs, `${op.output}_max`), dtype: x.dtype };
    ctx.set(op.output, ctx.cast(y, out, op.output, op.output));
    return;
  }
  const [, H, W] = shape as [number, number, number];
  const [top, left, bottom, right] = op.pads;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.strides;
  const [dh, dw] = op.dilations;
  const OH = Math.floor((H + top + bottom - (dh * (kh - 1) + 1)) / sh) + 1;
  const OW = Math.floor((W + left + right - (dw * (kw - 1) + 1)) / sw) + 1;
  const xi = ctx.cast(x, DataType.INT32, `${op.output}_i32`);
  const padded = op.pads.some((p) => p !== 0)
    ? ctx.b.op("Pad", [xi.name, ctx.b.constant(DataType.INT64, [8], [0, 0, top, left, 0, 0, bottom, right], "pads"), ctx.b.scalar(DataType.INT32, -(2 ** 31), "int32_min")], [], `${op.output}_padded`)
    : xi.name;
  const axes = ctx.b.constant(DataType.INT64, [2], [2, 3], "axes_hw");
  const steps = ctx.b.constant(DataType.INT64, [2], [sh, sw], "steps");
  const windows: string[] = [];
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const y0 = ky * dh;
      const x0 = kx * dw;
      const starts = ctx.b.constant(DataType.INT64, [2], [y0, x0], "starts");
      const ends = ctx.b.constant(DataType.INT64, [2], [y0 + (OH - 1) * sh + 1, x0 + (OW - 1) * sw + 1], "ends");
      windows.push(ctx.b.op("Slice", [padded, starts, ends, axes, steps], [], `${op.output}_window`));
    }
  }
  const y: Emitted = windows.length === 1 ? { name: windows[0]!, dtype: DataType.INT32 } : { name: ctx.b.op("Max", windows, [], `${op.output}_max`), dtype: DataType.INT32 };
  ctx.set(op.output, ctx.cast(y, out, op.output, op.output));
}
