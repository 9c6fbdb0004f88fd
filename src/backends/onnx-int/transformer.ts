/**
 * The transformer ops in the integer-only ONNX export, each equal to
 * numerics/transformer.ts bit for bit (int64 Add/Mul/Sub/Div are exact on the
 * values the lowering bounds below 2^52; no int64 comparison is used, see
 * shift.ts):
 * - matmul:    MatMulInteger with scalar zero points on 8-bit carriers; an
 *              int8 operand facing a uint8 one is moved to uint8 (x + 128
 *              under zero point z + 128), since u8×s8 saturates (emit.ts).
 * - mul:       (a − z_a)·(b − z_b) as int32 Sub and Mul (ONNX broadcasting over
 *              [N, …] is the per-sample broadcast; the lowering bounds the
 *              product below 2^31).
 * - table:     Gather of the int32 table at x − inputMin (int64 indices).
 * - softmax:   ReduceMax (int32) of the row, Gather of the exp table at
 *              max − x, ReduceSum (int64), then q = (e·c + Σ·2^(r−1)) Div (Σ·2^r),
 *              non-negative so truncation is the floor; z + q clamped in int32.
 * - layernorm: s = ReduceSum(x) (RMSNorm: the constant C·z_x), c = C·x − s, V = ReduceSum(c·c), n = V·4^k + E,
 *              D = isqrt(n) by the digit-by-digit method (one fixed step per
 *              bit pair of the bound on n; each step's test n ≥ t is the sign
 *              bit of n − t, uint64 BitShift 63), then
 *              q = (num − Mod(num, den)) Div den, the floor division
 *              (Mod with fmod = 0 takes the divisor's sign), and the clamp of
 *              z + q by shift.ts's rounding shift of 2q by 1.
 * - addconst:  (x − z_x)·m + o as int64 (o an initializer over the trailing
 *              axes it spans, broadcast over the rest and the batch), then shift.ts's rounding shift with
 *              the clamp (s = 0 runs as 2m, 2o and s = 1).
 */
import { DataType } from "../../ir/dtype.js";
import { FixqError } from "../../ir/errors.js";
import type { AddConstOp, LayerNormOp, MatMulOp, MulOp, SoftmaxOp, TableOp } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { layerNormCMax } from "../../numerics/transformer-params.js";
import { intAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";
import { negativeBit, roundingShift, toU64 } from "./shift.js";

const I64 = DataType.INT64;

function lastAxis(ctx: EmitContext): string {
  return ctx.b.constant(I64, [1], [-1], "last_axis");
}

function reduce(ctx: EmitContext, op: string, x: Emitted, hint: string): Emitted {
  return { name: ctx.b.op(op, [x.name, lastAxis(ctx)], [intAttr("keepdims", 1)], hint), dtype: x.dtype };
}

/** A uint8/int8 operand and its zero point, moved to uint8 when `toUnsigned`. */
function byteOperand(ctx: EmitContext, name: string, zero: number, toUnsigned: boolean, where: string): { x: string; z: string } {
  const e = ctx.get(name, where);
  if (!toUnsigned) return { x: e.name, z: ctx.b.scalar(e.dtype, zero, "zero") };
  const wide = ctx.binary("Add", ctx.cast(e, DataType.INT32, `${name}_i32`), ctx.b.scalar(DataType.INT32, 128, "k128"), `${name}_u`);
  return { x: ctx.cast(wide, DataType.UINT8, `${name}_u8`).name, z: ctx.b.scalar(DataType.UINT8, zero + 128, "zero") };
}

export function emitMatMulOp(ctx: EmitContext, op: MatMulOp): void {
  const where = op.source;
  const [a, b] = op.inputs;
  const types = [ctx.carrier(a, where), ctx.carrier(b, where)];
  const signed = types.map((t) => t === DataType.INT8);
  const mixed = signed[0] !== signed[1];
  const ops = [0, 1].map((i) => byteOperand(ctx, op.inputs[i]!, op.inputZeros[i]!, mixed && signed[i]!, where));
  const acc = ctx.b.op("MatMulInteger", [ops[0]!.x, ops[1]!.x, ops[0]!.z, ops[1]!.z], [], op.output, op.output);
  ctx.set(op.output, { name: acc, dtype: DataType.INT32 });
}

export function emitMulOp(ctx: EmitContext, op: MulOp): void {
  const [a, b] = op.inputs.map((name, i) => {
    const x = ctx.cast(ctx.get(name, op.source), DataType.INT32, `${name}_i32`);
    return ctx.binary("Sub", x, ctx.b.scalar(DataType.INT32, op.inputZeros[i]!, "zero"), `${name}_centered`);
  }) as [Emitted, Emitted];
  ctx.set(op.output, { name: ctx.b.op("Mul", [a.name, b.name], [], op.output, op.output), dtype: DataType.INT32 });
}

export function emitTableOp(ctx: EmitContext, op: TableOp): void {
  const where = op.source;
  const x = ctx.cast(ctx.get(op.input, where), I64, `${op.input}_i64`);
  const idx = op.inputMin === 0 ? x : ctx.binary("Sub", x, ctx.b.scalar(I64, op.inputMin, "table_min"), `${op.output}_idx`);
  const table = ctx.b.constant(DataType.INT32, [op.table.length], op.table, `${op.output}_table`);
  const y: Emitted = { name: ctx.b.op("Gather", [table, idx.name], [intAttr("axis", 0)], `${op.output}_gather`), dtype: DataType.INT32 };
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}

/** clamp(z + q, lo, hi) for an int32 q, in int32 (exact Max/Min), cast to the output's carrier. */
function clampOut(ctx: EmitContext, q: Emitted, op: { output: string; outZero: number; clampLo: number; clampHi: number }, where: string): void {
  const i32 = (v: number, hint: string) => ctx.b.scalar(DataType.INT32, v, hint);
  const y = ctx.binary("Min", ctx.binary("Max", ctx.binary("Add", q, i32(op.outZero, "zero")), i32(op.clampLo, "lo")), i32(op.clampHi, "hi"));
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}

export function emitSoftmaxOp(ctx: EmitContext, op: SoftmaxOp): void {
  if (op.mask !== undefined) {
    emitMaskedSoftmaxOp(ctx, op, op.mask);
    return;
  }
  const where = op.source;
  const x = ctx.cast(ctx.get(op.input, where), DataType.INT32, `${op.input}_i32`);
  const max = reduce(ctx, "ReduceMax", x, `${op.output}_max`);
  const d = ctx.cast(ctx.binary("Sub", max, x.name, `${op.output}_d`), I64, `${op.output}_d64`);
  const table = ctx.b.constant(I64, [op.exp.length], op.exp, `${op.output}_exp`);
  const e: Emitted = { name: ctx.b.op("Gather", [table, d.name], [intAttr("axis", 0)], `${op.output}_e`), dtype: I64 };
  const sum = reduce(ctx, "ReduceSum", e, `${op.output}_sum`);
  softmaxTail(ctx, op, e, sum, where);
}

/** num = e·c + Σ·2^(r−1), den = Σ·2^r (+ `none`: 1 where a row keeps no key), y = clamp(z + num / den). */
function softmaxTail(ctx: EmitContext, op: SoftmaxOp, e: Emitted, sum: Emitted, where: string, none?: Emitted): void {
  const k = (v: number, hint: string) => ctx.b.scalar(I64, v, hint);
  const num = ctx.binary("Add", ctx.binary("Mul", e, k(op.numerator, "c")), ctx.binary("Mul", sum, k(2 ** (op.shift - 1), "half")).name, `${op.output}_num`);
  const den0 = ctx.binary("Mul", sum, k(2 ** op.shift, "unit"), `${op.output}_den`);
  const den = none ? ctx.binary("Add", den0, none.name, `${op.output}_den1`) : den0;
  const q = ctx.binary("Div", num, den.name, `${op.output}_q`);
  clampOut(ctx, ctx.cast(q, DataType.INT32, `${op.output}_q32`), op, where);
}

/**
 * The key-masked Softmax (numerics/transformer.ts softmaxKernel with a mask),
 * in integer arithmetic only (the mask m is 0 or 1, lower-key-mask.ts): with
 * keep = 1 − m, the max runs over x·keep + L·m (L = −2^16, below every input
 * of at most 16 bits), the exp index is (max − x)·keep and e = E[·]·keep. An
 * excluded key then has num = Σ·2^(r−1) < den, so q = 0 and y = clamp(z); a
 * row with every key excluded has Σ = 0, and den = Σ·2^r + 1 gives q = 0.
 */
function emitMaskedSoftmaxOp(ctx: EmitContext, op: SoftmaxOp, mask: string): void {
  const where = op.source;
  const x = ctx.cast(ctx.get(op.input, where), DataType.INT32, `${op.input}_i32`);
  const m = ctx.cast(ctx.get(mask, where), DataType.INT32, `${mask}_i32`);
  const keep = ctx.binary("Sub", { name: ctx.b.scalar(DataType.INT32, 1, "one"), dtype: DataType.INT32 }, m.name, `${op.output}_keep`);
  const kept = ctx.binary("Add", ctx.binary("Mul", x, keep.name), ctx.binary("Mul", m, ctx.b.scalar(DataType.INT32, -(2 ** 16), "low")).name, `${op.output}_xk`);
  const max = ctx.cast(reduce(ctx, "ReduceMax", kept, `${op.output}_max`), I64, `${op.output}_max64`);
  const keep64 = ctx.cast(keep, I64, `${op.output}_keep64`);
  const d = ctx.binary("Mul", ctx.binary("Sub", max, ctx.cast(x, I64, `${op.input}_i64`).name, `${op.output}_d`), keep64.name, `${op.output}_dk`);
  const table = ctx.b.constant(I64, [op.exp.length], op.exp, `${op.output}_exp`);
  const e0: Emitted = { name: ctx.b.op("Gather", [table, d.name], [intAttr("axis", 0)], `${op.output}_e`), dtype: I64 };
  const e = ctx.binary("Mul", e0, keep64.name, `${op.output}_ek`);
  const sum = reduce(ctx, "ReduceSum", e, `${op.output}_sum`);
  // none = 1 − min(number of kept keys, 1), in int32 (ONNX Runtime's int64 Min is inexact)
  const count = reduce(ctx, "ReduceSum", keep, `${op.output}_kept`);
  const one = ctx.b.scalar(DataType.INT32, 1, "one");
  const none = ctx.binary("Sub", { name: one, dtype: DataType.INT32 }, ctx.binary("Min", count, one, `${op.output}_any`).name, `${op.output}_none`);
  softmaxTail(ctx, op, e, sum, where, ctx.cast(none, I64, `${op.output}_none64`));
}

/** ⌊√n⌋ for 0 ≤ n ≤ nMax < 2^62 (int64 tensor), digit by digit: one step per bit pair of nMax. */
function isqrt(ctx: EmitContext, n: Emitted, nMax: number, hint: string): Emitted {
  let bit = 1n;
  while (bit * 4n <= BigInt(Math.ceil(nMax))) bit *= 4n;
  let rem = n;
  let res: Emitted | undefined;
  const one = ctx.b.scalar(I64, 1, "one");
  for (; bit > 0n; bit /= 4n) {
    const b = ctx.b.scalar(I64, bit, "bit");
    const t = res ? ctx.binary("Add", res, b, `${hint}_t`) : { name: b, dtype: I64 };
    // ge = 1 − [rem − t < 0]
    const neg = ctx.cast(negativeBit(ctx, toU64(ctx, ctx.binary("Sub", rem, t.name, `${hint}_diff`), `${hint}_u`), `${hint}_neg`), I64, `${hint}_neg64`);
    const ge = { name: ctx.b.op("Sub", [one, neg.name], [], `${hint}_ge`), dtype: I64 };
    rem = ctx.binary("Sub", rem, ctx.binary("Mul", ge, t.name).name, `${hint}_rem`);
    const half = res ? ctx.binary("Div", res, ctx.b.scalar(I64, 2, "two"), `${hint}_half`) : undefined;
    const add = ctx.binary("Mul", ge, b, `${hint}_add`);
    res = half ? ctx.binary("Add", half, add.name, `${hint}_res`) : add;
  }
  return res!;
}

export function emitLayerNormOp(ctx: EmitContext, op: LayerNormOp): void {
  const where = op.source;
  const xv = ctx.value(op.input, where);
  const C = xv.shape[xv.shape.length - 1]!;
  const k = (v: number | bigint, hint: string) => ctx.b.scalar(I64, v, hint);
  const x = ctx.cast(ctx.get(op.input, where), I64, `${op.input}_i64`);
  // RMSNorm: s = C·z_x, a constant, instead of the row sum
  const s = op.rmsZero === undefined ? reduce(ctx, "ReduceSum", x, `${op.output}_s`) : { name: k(C * op.rmsZero, "Cz"), dtype: I64 };
  const c = ctx.binary("Sub", ctx.binary("Mul", x, k(C, "C")), s.name, `${op.output}_c`);
  const V = reduce(ctx, "ReduceSum", ctx.binary("Mul", c, c.name, `${op.output}_c2`), `${op.output}_V`);
  const n = ctx.binary("Add", ctx.binary("Mul", V, k(4n ** BigInt(op.varShift), "fourk")), k(op.epsilon, "E"), `${op.output}_n`);
  const span = intMax(xv.type) - intMin(xv.type);
  const nMax = C * layerNormCMax(C, span, op.rmsZero !== undefined) ** 2 * 4 ** op.varShift + op.epsilon;
  if (nMax >= 2 ** 62) throw new FixqError("unsupported", `integer ONNX export: layernorm variance bound ${nMax} is beyond int64`, where);
  const D = isqrt(ctx, n, nMax, `${op.output}_isqrt`);
  const g = ctx.b.constant(I64, [C], Array.from(op.gamma, BigInt), `${op.output}_g`);
  const b = ctx.b.constant(I64, [C], Array.from(op.beta, BigInt), `${op.output}_b`);
  const num = ctx.binary(
    "Add",
    ctx.binary("Add", ctx.binary("Mul", c, g), ctx.binary("Mul", D, b).name),
    ctx.binary("Mul", D, k(2 ** (op.fracBits - 1), "half")).name,
    `${op.output}_num`,
  );
  const den = ctx.binary("Mul", D, k(2 ** op.fracBits, "unit"), `${op.output}_den`);
  const rem = { name: ctx.b.op("Mod", [num.name, den.name], [intAttr("fmod", 0)], `${op.output}_mod`), dtype: I64 };
  const q = ctx.binary("Div", ctx.binary("Sub", num, rem.name), den.name, `${op.output}_q`);
  const rank = xv.shape.length;
  const y = roundingShift(
    ctx,
    ctx.binary("Mul", q, k(2, "two"), `${op.output}_2q`),
    { s: [1], post: [BigInt(op.outZero)], clamp: { lo: [BigInt(op.clampLo)], hi: [BigInt(op.clampHi)] } },
    { axis: rank - 1, rank },
    `${op.output}_y`,
  );
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}

/** The per-sample dims an offset of `length` broadcasts from: 1 on the leading axes, the sample's own on the trailing axes it spans. */
function offsetDims(shape: readonly number[], length: number, where: string): number[] {
  for (let k = shape.length; k >= 0; k--) {
    if (shape.slice(k).reduce((a, b) => a * b, 1) === length) return shape.map((d, a) => (a < k ? 1 : d));
  }
  throw new FixqError("model", `integer ONNX export: an offset of ${length} does not span trailing axes of [${shape.join(",")}]`, where);
}

export function emitAddConstOp(ctx: EmitContext, op: AddConstOp): void {
  const where = op.source;
  const shape = ctx.value(op.input, where).shape;
  const twice = op.shift === 0 ? 2 : 1;
  const x = ctx.cast(ctx.get(op.input, where), I64, `${op.input}_i64`);
  const v = ctx.binary("Mul", x, ctx.b.scalar(I64, op.multiplier * twice, "m"), `${op.output}_xm`);
  const dims = offsetDims(shape, op.offset.length, where);
  const offset = ctx.b.constant(I64, [1, ...dims], Array.from(op.offset, (o) => BigInt(o * twice - op.inputZero * op.multiplier * twice)), `${op.output}_offset`);
  const t = ctx.binary("Add", v, offset, `${op.output}_t`);
  const rank = shape.length;
  const y = roundingShift(
    ctx,
    t,
    { s: [Math.max(1, op.shift)], post: [BigInt(op.outZero)], clamp: { lo: [BigInt(op.clampLo)], hi: [BigInt(op.clampHi)] } },
    { axis: rank - 1, rank },
    `${op.output}_y`,
  );
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}
