/**
 * `fixq compile --target onnx-int`: an integer Program as an ONNX model
 * (opset 21) that ONNX Runtime runs with integer ops only between the input
 * QuantizeLinear and the output DequantizeLinear, bit-exactly equal to the
 * emulator. Every choice rests on a measurement (onnxruntime-node 1.30, first
 * on an x86 AVX2 CPU without VNNI) and must be exact on every CPU; each is
 * re-checked on adversarial data, on whatever CPU runs the suite, by
 * test/backends/onnx-int/ort-int-ops.test.ts:
 *
 * - conv: ConvInteger, u8×s8 or s8×s8, no weight zero point (ORT rejects
 *   per-channel ones; program weights have theirs subtracted). Exact even
 *   where u8·s8 pair sums exceed int16 (x = 255, w = 127); ORT pads with
 *   x_zero_point, so padded positions contribute 0 as the program requires.
 * - dense: MatMulInteger. u8×s8 saturates int16 pair sums (measured
 *   16,776,704 for 1024·255·127 = 33,162,240, and wrong on random data), so
 *   uint8 activations use u8×u8 with the weight stored as w + 128 under
 *   b_zero_point 128; int8 activations use s8×s8. Both exact.
 * - Weights outside int8 and activations wider than 8 bits are split into
 *   8-bit digits (digits.ts), one kernel call per digit pair, combined in int64.
 * - requant / rescale: Cast to uint64 (every integer Cast wraps modulo
 *   2^bits), uint64 Mul/Add (wrapping), the clamp as uint64 Max/Min on the
 *   offset value before the shift, and BitShift (ORT runs it on unsigned
 *   types only); gemmlowp's ties-away rounding takes the sign bit with a
 *   BitShift by 63 (shift.ts, requant.ts). No int64 comparison: ORT 1.30's
 *   int64 Max/Min/Clip/Sign are wrong when both operands share their upper
 *   32 bits and differ in bit 31 of the lower word (measured: Min(7, 2^31) =
 *   2^31, Max(−7, −2^31 − 1) = −2^31 − 1, Sign(2^31) = −1; Clip to
 *   [−100, 2^31] wrong on 27% of random int64 values), while uint64 and
 *   int32 Max/Min are exact. A conv/dense bias whose only reader is a
 *   requant is folded into the shift's offset (bias·m).
 * - digits: int32 Mod (fmod = 0) is a floor modulo and Div is exact on the
 *   multiples of 256 it divides (digits.ts).
 * - sumpool: ReduceSum on int32 (no 8-bit kernel) or a depthwise ConvInteger
 *   with ones; maxpool: MaxPool on uint8/int8, else Pad + Slice + Max on int32.
 * - Reshape, Transpose, Concat move data; Cast changes carrier types.
 * - matmul and mul of two activations, table, softmax, layernorm, addconst: transformer.ts.
 * - integer inputs (ids, masks; int64), gather, slice: gather.ts.
 * - remap (nearest Resize, ConvTranspose's phase interleave): Gather at a
 *   compile-time index (remap.ts).
 * - Carriers: uint8/int8 for ≤ 8-bit values, int32 above (ORT has no Pad,
 *   Max/Min or MaxPool kernels for int16/uint16, and Clip on them expands
 *   to Where). QuantizeLinear / DequantizeLinear use the 8- or 16-bit type,
 *   a float32 scale (a program scale that is not a float32 is refused) and
 *   the program zero point; ORT's QuantizeLinear equals numerics'
 *   quantizeValue (float32 division, ties to even). Wider outputs are
 *   dequantized from int32 after an exact Sub of the zero point (ORT computes
 *   q − zp in int32, wrapping).
 * `verifyIntegerOnly` (verify.ts) proves the exported graph integer-only.
 */
import { type CheckOptions, checkWith, type Diagnostic, type IntegerBackend, type OpOf, refuseDiagnostics } from "../contract.js";
import { NUMERICS_CHECKS } from "../shared/numerics-checks.js";
import { ONNX_INT_CHECKS } from "./check.js";
import { DataType } from "../../ir/dtype.js";
import { FixqError } from "../../ir/errors.js";
import type { Model } from "../../ir/graph.js";
import {
  type ConcatOp,
  type DequantizeOp,
  integerOutputs,
  type IntOp,
  type IntOpKind,
  type Program,
  type QuantizeOp,
  type ReshapeOp,
  type TransposeOp,
} from "../../integer/program.js";
import { intMax, intMin, intTypeName } from "../../numerics/int.js";
import { intAttr, intsAttr, valueInfo } from "./builder.js";
import { carrierRange, qdqTypeOf } from "./carriers.js";
import { EmitContext, type Emitted } from "./context.js";
import { emitConv, emitDense } from "./linear.js";
import { emitMaxPool, emitSumPool } from "./pool.js";
import { emitRequant, emitRescale } from "./requant.js";
import { emitFixedRescale } from "./fixed.js";
import { emitAddConstOp, emitLayerNormOp, emitMatMulOp, emitMulOp, emitSoftmaxOp, emitTableOp } from "./transformer.js";
import { emitGatherOp, emitIntegerInput, emitSliceOp, quantizesIntegerInput } from "./gather.js";
import { emitRemapOp } from "./remap.js";

export interface EmitOptions {
  /** Certified value ranges for the check (computed when needed and absent). */
  readonly ranges?: CheckOptions["ranges"];
  /** Also expose the integer value feeding each output's DequantizeLinear, under its program value name. */
  readonly integerOutputs?: boolean;
  /** Name of the symbolic batch dimension (default "N"). */
  readonly batchDim?: string;
}

const BATCH = "N";
const ONNX_INT_BACKEND = "onnx-int";

/** Q/DQ scales are float32 in the program (program.ts); a double that is not one would change the result. */
function float32Scale(scale: number, where: string): number {
  if (!(scale > 0) || !Number.isFinite(scale) || Math.fround(scale) !== scale) {
    throw new FixqError("model", `integer ONNX export: scale ${scale} is not a positive finite float32`, where);
  }
  return scale;
}

function emitQuantize(ctx: EmitContext, op: QuantizeOp): void {
  if (quantizesIntegerInput(ctx, op)) {
    emitIntegerInput(ctx, op);
    return;
  }
  const where = op.source;
  const t = ctx.value(op.output, where).type;
  const qt = qdqTypeOf(t, where);
  const [lo, hi] = carrierRange(qt);
  const narrow = op.qmin > lo || op.qmax < hi;
  const direct = !narrow && ctx.carrier(op.output, where) === qt; // Q writes the program value itself
  const inputs = [op.input, ctx.b.scalar(DataType.FLOAT, float32Scale(op.scale, where), "scale"), ctx.b.scalar(qt, op.zeroPoint, "zero_point")];
  const q: Emitted = { name: ctx.b.op("QuantizeLinear", inputs, [], `${op.output}_q`, direct ? op.output : undefined), dtype: qt };
  if (direct) {
    ctx.set(op.output, q);
    return;
  }
  let y = q;
  if (narrow) {
    // narrower range than the Q type: saturating twice is saturating once to the narrower range
    const wide = ctx.cast(q, DataType.INT32, `${op.output}_wide`);
    y = ctx.binary("Min", ctx.binary("Max", wide, ctx.b.scalar(DataType.INT32, Math.max(op.qmin, intMin(t)), "qmin")), ctx.b.scalar(DataType.INT32, Math.min(op.qmax, intMax(t)), "qmax"));
  }
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), op.output, op.output));
}

/**
 * DequantizeLinear on the 8/16-bit type; wider values are dequantized as
 * int32 with no zero point after an exact int32 Sub (ORT computes q − zp in
 * int32, wrapping, so this is refused where q − zp can leave int32).
 */
function emitDequantize(ctx: EmitContext, op: DequantizeOp): void {
  const where = op.source;
  const t = ctx.value(op.input, where).type;
  const x = ctx.get(op.input, where);
  const scale = ctx.b.scalar(DataType.FLOAT, float32Scale(op.scale, where), "scale");
  if (t.bits <= 16) {
    const qt = qdqTypeOf(t, where);
    const q = ctx.cast(x, qt, `${op.input}_dq_in`);
    ctx.b.op("DequantizeLinear", [q.name, scale, ctx.b.scalar(qt, op.zeroPoint, "zero_point")], [], op.output, op.output);
    return;
  }
  if (intMin(t) - op.zeroPoint < -(2 ** 31) || intMax(t) - op.zeroPoint > 2 ** 31 - 1) {
    throw new FixqError("unsupported", `integer ONNX export: dequantizing ${intTypeName(t)} with zero point ${op.zeroPoint} can overflow int32`, where);
  }
  let q = ctx.cast(x, DataType.INT32, `${op.input}_dq_in`);
  if (op.zeroPoint !== 0) q = ctx.binary("Sub", q, ctx.b.scalar(DataType.INT32, op.zeroPoint, "zero_point"), `${op.input}_dq_in`);
  ctx.b.op("DequantizeLinear", [q.name, scale], [], op.output, op.output);
}

function emitReshape(ctx: EmitContext, op: ReshapeOp): void {
  const where = op.source;
  const x = ctx.get(op.input, where);
  const outShape = ctx.value(op.output, where).shape;
  const shape = ctx.b.constant(DataType.INT64, [outShape.length + 1], [0, ...outShape], "shape");
  const y: Emitted = { name: ctx.b.op("Reshape", [x.name, shape], [], op.output, op.output), dtype: x.dtype };
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), `${op.output}_cast`));
}

function emitTranspose(ctx: EmitContext, op: TransposeOp): void {
  const where = op.source;
  const x = ctx.get(op.input, where);
  const y: Emitted = { name: ctx.b.op("Transpose", [x.name], [intsAttr("perm", [0, ...op.perm.map((a) => a + 1)])], op.output, op.output), dtype: x.dtype };
  ctx.set(op.output, ctx.cast(y, ctx.carrier(op.output, where), `${op.output}_cast`));
}

function emitConcat(ctx: EmitContext, op: ConcatOp): void {
  const where = op.source;
  const out = ctx.carrier(op.output, where);
  const xs = op.inputs.map((i) => ctx.cast(ctx.get(i, where), out, `${i}_cast`).name);
  ctx.set(op.output, { name: ctx.b.op("Concat", xs, [intAttr("axis", op.axis + 1)], op.output, op.output), dtype: out });
}

/** The lowering of each op kind (exhaustive: a kind without one is a compile error). */
const EMITTERS = {
  quantize: emitQuantize,
  dequantize: emitDequantize,
  conv: emitConv,
  dense: emitDense,
  sumpool: emitSumPool,
  maxpool: emitMaxPool,
  requant: emitRequant,
  rescale: emitRescale,
  fixedrescale: emitFixedRescale,
  reshape: emitReshape,
  transpose: emitTranspose,
  concat: emitConcat,
  matmul: emitMatMulOp,
  mul: emitMulOp,
  table: emitTableOp,
  softmax: emitSoftmaxOp,
  layernorm: emitLayerNormOp,
  addconst: emitAddConstOp,
  gather: emitGatherOp,
  slice: emitSliceOp,
  remap: emitRemapOp,
} satisfies { readonly [K in IntOpKind]: (ctx: EmitContext, op: OpOf<K>) => void };

function emitOp(ctx: EmitContext, op: IntOp): void {
  (EMITTERS[op.kind] as (ctx: EmitContext, op: IntOp) => void)(ctx, op);
}

/** Why each op the integer-only ONNX export cannot express is refused (numerics' domain, then this back end's). */
export function checkIntegerOnnx(p: Program, opts?: CheckOptions): Diagnostic[] {
  return checkWith(p, [NUMERICS_CHECKS, ONNX_INT_CHECKS], opts);
}

/** The program as an integer-only ONNX model (see the module comment for the ops and why); refuses what `checkIntegerOnnx` reports. */
export function emitIntegerOnnx(p: Program, opts: EmitOptions = {}): Model {
  refuseDiagnostics(ONNX_INT_BACKEND, checkIntegerOnnx(p, opts));
  const ctx = new EmitContext(p);
  const batch = opts.batchDim ?? BATCH;
  for (const op of p.ops) emitOp(ctx, op);
  const inputs = p.inputs.map((io) => valueInfo(io.name, io.integer ? DataType.INT64 : DataType.FLOAT, [batch, ...io.shape]));
  const outputs = p.outputs.map((io) => valueInfo(io.name, DataType.FLOAT, [batch, ...io.shape]));
  if (opts.integerOutputs) {
    for (const name of new Set(integerOutputs(p))) {
      const e = ctx.get(name, `output '${name}'`);
      outputs.push(valueInfo(e.name, e.dtype, [batch, ...ctx.value(name, name).shape]));
    }
  }
  const doc = "fixq integer-only export: integer ops between the input QuantizeLinear and the output DequantizeLinear";
  return ctx.b.model(inputs, outputs, 21, doc);
}

/** The integer-only ONNX back end under the common contract. */
export const onnxIntBackend: IntegerBackend<EmitOptions, Model> = {
  name: ONNX_INT_BACKEND,
  check: checkIntegerOnnx,
  emit: emitIntegerOnnx,
};
