/**
 * The remap op (numerics/remap.ts) in the integer-only ONNX export: the
 * sample flattened (Reshape to [N, size]), then one Gather along axis 1 at
 *   index[i_0, …, i_{r−1}] = Σ_a offsets[a][i_a]
 * built in the graph as a sum of int64 constants shaped to broadcast along
 * their axis ([d_0, 1, …], [1, d_1, 1, …], …), so the file holds Σ_a d_a
 * indices, not the product. Gather moves values of any carrier type as they are.
 */
import type { RemapOp } from "../../integer/program.js";
import { DataType } from "../../ir/dtype.js";
import { intAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";

export function emitRemapOp(ctx: EmitContext, op: RemapOp): void {
  const where = op.source;
  const x = ctx.get(op.input, where);
  const rank = op.offsets.length;
  const flat: Emitted = { name: ctx.b.op("Reshape", [x.name, ctx.b.constant(DataType.INT64, [2], [0, -1], "flat")], [], `${op.output}_flat`), dtype: x.dtype };
  let index: Emitted | undefined;
  op.offsets.forEach((t, a) => {
    const dims = Array.from({ length: rank }, (_, b) => (b === a ? t.length : 1));
    const c = ctx.b.constant(DataType.INT64, dims, Array.from(t), `${op.output}_axis${a}`);
    index = index ? ctx.binary("Add", index, c, `${op.output}_index`) : { name: c, dtype: DataType.INT64 };
  });
  const indices = index?.name ?? ctx.b.scalar(DataType.INT64, 0, `${op.output}_index`);
  const y: Emitted = { name: ctx.b.op("Gather", [flat.name, indices], [intAttr("axis", 1)], `${op.output}_gather`), dtype: x.dtype };
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}
