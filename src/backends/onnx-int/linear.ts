/**
 * conv and dense as ConvInteger / MatMulInteger in the combinations measured
 * exact (test/backends/onnx-int/ort-int-ops.test.ts, run on whatever CPU runs the suite):
 *   ConvInteger   u8×s8 and s8×s8 (no weight zero point; ORT pads with x_zero_point)
 *   MatMulInteger s8×s8, and u8×u8 with the signed weight stored as w + 128
 *                 under b_zero_point 128 (u8×s8 saturates int16 pair sums
 *                 on x86 AVX2 without VNNI, so it is used on no CPU)
 * acc = bias + Σ_{i,j} K(D_i, W_j) · 256^i · 128^j over the activation and
 * weight digits of digits.ts (one term each for 8-bit activations and int8
 * weights); several terms are combined in int64 and cast back to int32, or
 * kept in int64 for an int64 accumulator (program.ts ACC64: the sum is exact,
 * each digit term staying far inside int32 and the total below 2^48).
 * An activation wider than 8 bits is padded with its zero point (Pad) first.
 * A weight held in one int8 digit is annotated (quantization_annotation) with
 * the layer's exact weight type: `fixq_format` int3, `finn_datatype` INT3.
 */
import { DataType } from "../../ir/dtype.js";
import { type ConvOp, type DenseOp, isWideValue, weightTypeOf } from "../../integer/program.js";
import { intTypeAnnotation } from "../../quant/format-annotation.js";
import { intMax, intMin } from "../../numerics/int.js";
import { intAttr, intsAttr } from "./builder.js";
import type { EmitContext, Emitted } from "./context.js";
import { type ActDigit, activationDigits, weightDigits } from "./digits.js";

interface Term {
  readonly acc: Emitted;
  readonly factor: number;
}

function is8bit(dtype: number): boolean {
  return dtype === DataType.UINT8 || dtype === DataType.INT8;
}

/** The activation's digits; for wider activations the digits of (x − z), with ConvInteger padding done first. */
function inputDigits(ctx: EmitContext, input: string, inputZero: number, where: string, pads?: readonly number[]): { digits: ActDigit[]; padded: boolean } {
  const x = ctx.get(input, where);
  if (is8bit(x.dtype)) return { digits: [{ x, zero: inputZero, factor: 1 }], padded: false };
  const t = ctx.value(input, where).type;
  let xp = x;
  if (pads?.some((p) => p !== 0)) {
    const [top, left, bottom, right] = pads;
    const spec = ctx.b.constant(DataType.INT64, [8], [0, 0, top!, left!, 0, 0, bottom!, right!], "pads");
    xp = { name: ctx.b.op("Pad", [x.name, spec, ctx.b.scalar(DataType.INT32, inputZero, "pad_value")], [], `${input}_padded`), dtype: DataType.INT32 };
  }
  const digits = activationDigits(ctx, xp, inputZero, intMin(t) - inputZero, intMax(t) - inputZero, input);
  return { digits, padded: true };
}

/**
 * acc = Σ terms·factor + bias, written as int32 program value `output`; when
 * a requant is its only reader, the bias is left for the requant to fold.
 */
function combine(ctx: EmitContext, terms: Term[], biasValues: Int32Array | undefined, axis: number, rank: number, output: string): void {
  const accType = isWideValue(ctx.value(output, output)) ? DataType.INT64 : DataType.INT32;
  let bias: string | undefined;
  if (biasValues?.some((v) => v !== 0)) {
    if (ctx.soleReaderIsRequant(output)) {
      const e = terms.length === 1 && terms[0]!.factor === 1 ? terms[0]!.acc : sumTerms(ctx, terms, `${output}_nobias`);
      ctx.setBiased(output, e, { values: biasValues, axis, rank });
      return;
    }
    bias = ctx.b.constant(DataType.INT32, [biasValues.length, ...Array<number>(rank - 1 - axis).fill(1)], biasValues, `${output}_bias`);
  }
  if (terms.length === 1 && terms[0]!.factor === 1 && accType === DataType.INT32) {
    const acc = terms[0]!.acc;
    ctx.set(output, bias ? { name: ctx.b.op("Add", [acc.name, bias], [], output, output), dtype: DataType.INT32 } : ctx.cast(acc, DataType.INT32, output, output));
    return;
  }
  let sum = sumTerms64(ctx, terms, output);
  if (bias) sum = ctx.binary("Add", sum, ctx.cast({ name: bias, dtype: DataType.INT32 }, DataType.INT64, `${output}_bias`).name, `${output}_sum`);
  ctx.set(output, ctx.cast(sum, accType, output, output));
}

/**
 * Σ terms·factor in int64 (wrapping Mul/Add: right modulo 2^64, so the int32
 * cast is the accumulator whenever it fits int32, as the program requires).
 */
function sumTerms64(ctx: EmitContext, terms: Term[], output: string): Emitted {
  let sum: Emitted | undefined;
  for (const t of terms) {
    let v = ctx.cast(t.acc, DataType.INT64, `${output}_part`);
    if (t.factor !== 1) v = ctx.binary("Mul", v, ctx.i64(t.factor, "place"), `${output}_part`);
    sum = sum ? ctx.binary("Add", sum, v.name, `${output}_sum`) : v;
  }
  return sum!;
}

function sumTerms(ctx: EmitContext, terms: Term[], name: string): Emitted {
  return ctx.cast(sumTerms64(ctx, terms, name), DataType.INT32, name);
}

/** A weight held in one int8 digit is the weight itself: its annotation declares the layer's exact weight type. */
function declareWeightType(ctx: EmitContext, op: ConvOp | DenseOp, name: string, digits: number): void {
  if (digits === 1) ctx.b.annotate(name, intTypeAnnotation(weightTypeOf(op)));
}

export function emitConv(ctx: EmitContext, op: ConvOp): void {
  const where = op.source;
  const { digits, padded } = inputDigits(ctx, op.input, op.inputZero, where, op.pads);
  const [O, Cg, kh, kw] = op.weightShape;
  const attrs = [
    intsAttr("kernel_shape", [kh, kw]),
    intsAttr("strides", op.strides),
    intsAttr("pads", padded ? [0, 0, 0, 0] : [op.pads[0], op.pads[1], op.pads[2], op.pads[3]]),
    intsAttr("dilations", op.dilations),
    intAttr("group", op.group),
  ];
  const terms: Term[] = [];
  const wds = weightDigits(op.weight);
  for (const wd of wds) {
    const w = ctx.b.constant(DataType.INT8, [O, Cg, kh, kw], wd.values, `${op.output}_w`);
    declareWeightType(ctx, op, w, wds.length);
    for (const xd of digits) {
      const inputs = [xd.x.name, w];
      if (xd.zero) inputs.push(ctx.b.scalar(xd.x.dtype, xd.zero, "x_zero"));
      terms.push({ acc: { name: ctx.b.op("ConvInteger", inputs, attrs, `${op.output}_conv`), dtype: DataType.INT32 }, factor: xd.factor * wd.factor });
    }
  }
  combine(ctx, terms, op.bias, 0, 3, op.output);
}

export function emitDense(ctx: EmitContext, op: DenseOp): void {
  const where = op.source;
  const { digits } = inputDigits(ctx, op.input, op.inputZero, where);
  const K = op.inFeatures;
  const N = op.outFeatures;
  const terms: Term[] = [];
  const wds = weightDigits(op.weight);
  for (const wd of wds) {
    const t = new Int32Array(K * N); // B = Wᵀ, [K, N]
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = wd.values[n * K + k]!;
    for (const xd of digits) {
      let inputs: string[];
      if (xd.x.dtype === DataType.UINT8) {
        // u8×u8: the weight digit offset by 128 under b_zero_point 128 (u8×s8 saturates)
        const b = ctx.b.constant(DataType.UINT8, [K, N], t.map((v) => v + 128), `${op.output}_w_u8`);
        inputs = [xd.x.name, b, ctx.b.scalar(DataType.UINT8, xd.zero ?? 0, "x_zero"), ctx.b.scalar(DataType.UINT8, 128, "w_zero")];
      } else {
        const w = ctx.b.constant(DataType.INT8, [K, N], t, `${op.output}_w`);
        declareWeightType(ctx, op, w, wds.length);
        inputs = [xd.x.name, w];
        if (xd.zero) inputs.push(ctx.b.scalar(DataType.INT8, xd.zero, "x_zero"));
      }
      terms.push({ acc: { name: ctx.b.op("MatMulInteger", inputs, [], `${op.output}_matmul`), dtype: DataType.INT32 }, factor: xd.factor * wd.factor });
    }
  }
  const rank = ctx.value(op.output, where).shape.length;
  combine(ctx, terms, op.bias, rank - 1, rank, op.output);
}
