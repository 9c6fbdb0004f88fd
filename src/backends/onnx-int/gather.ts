/**
 * The index ops and integer inputs in the integer-only ONNX export:
 * - quantize of an integer input (int64 ids or a mask; scale 1, zero point 0):
 *   an exact clamp of the int64 to [qmin, qmax] with no int64 comparison
 *   (ORT's int64 Max/Min are wrong on some operands, emit.ts): Cast to
 *   uint64 (two's complement, wrapping), Add 2^63 (wrapping; now unsigned
 *   order is signed order), uint64 Max/Min with the shifted bounds, Sub 2^63,
 *   Cast to int32 (exact: the value lies within the bounds).
 * - gather: Gather of the int32 table [rows, width] at the ids as int64 (ONNX
 *   Gather wraps −rows … −1 and refuses other indices, as the program does).
 * - slice: Slice of rows start … end − 1 along the axis (+1 for the batch).
 */
import type { GatherOp, QuantizeOp, SliceOp } from "../../integer/program.js";
import { DataType } from "../../ir/dtype.js";
import { intAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";

const BIAS = 2n ** 63n;
const mod64 = (v: bigint) => BigInt.asUintN(64, v);

/** Whether the quantize op reads an integer graph input. */
export function quantizesIntegerInput(ctx: EmitContext, op: QuantizeOp): boolean {
  return ctx.p.inputs.some((io) => io.name === op.input && io.integer === true);
}

export function emitIntegerInput(ctx: EmitContext, op: QuantizeOp): void {
  const where = op.source;
  const u: Emitted = { name: ctx.b.op("Cast", [op.input], [intAttr("to", DataType.UINT64)], `${op.output}_u64`), dtype: DataType.UINT64 };
  const shifted = ctx.binary("Add", u, ctx.b.scalar(DataType.UINT64, BIAS, "sign_bias"));
  const lo = ctx.binary("Max", shifted, ctx.b.scalar(DataType.UINT64, mod64(BigInt(op.qmin) + BIAS), "qmin"));
  const hi = ctx.binary("Min", lo, ctx.b.scalar(DataType.UINT64, mod64(BigInt(op.qmax) + BIAS), "qmax"));
  const back = ctx.binary("Sub", hi, ctx.b.scalar(DataType.UINT64, BIAS, "sign_bias"));
  const i32 = ctx.cast(back, DataType.INT32, `${op.output}_i32`);
  ctx.set(op.output, ctx.cast(i32, ctx.carrier(op.output, where), op.output, op.output));
}

export function emitGatherOp(ctx: EmitContext, op: GatherOp): void {
  const where = op.source;
  const ids = ctx.cast(ctx.get(op.input, where), DataType.INT64, `${op.output}_ids`);
  const table = ctx.b.constant(DataType.INT32, [op.rows, op.width], op.table, `${op.output}_table`);
  const y: Emitted = { name: ctx.b.op("Gather", [table, ids.name], [intAttr("axis", 0)], `${op.output}_rows`), dtype: DataType.INT32 };
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}

export function emitSliceOp(ctx: EmitContext, op: SliceOp): void {
  const where = op.source;
  const x = ctx.get(op.input, where);
  const k = (v: number, hint: string) => ctx.b.constant(DataType.INT64, [1], [v], hint);
  const y: Emitted = { name: ctx.b.op("Slice", [x.name, k(op.start, "starts"), k(op.end, "ends"), k(op.axis + 1, "axes")], [], `${op.output}_slice`), dtype: x.dtype };
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}
