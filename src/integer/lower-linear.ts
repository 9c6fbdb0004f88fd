/**
 * Lowers Conv, Gemm and MatMul with a constant, integer-quantized weight:
 *   acc[c] = bias[c] + Σ (x − z_x) · (W − z_W)[c]        (int32 accumulator)
 *   y      = clamp(requant(acc[c], m_c·2^−s_c) + z_y, lo, hi)
 * with the dyadic multiplier m_c·2^−s_c ≈ M_c = S_x · S_W[c] / S_y per output
 * channel and the clamp from the fused Relu/Clip (activation-tail.ts).
 * The bias becomes int32 at scale S_x·S_W[c]: read back as is when the model
 * stores it that way (fixq and ONNX Runtime's tool both do), otherwise
 * round(b / (S_x·S_W[c])) with a range check.
 *
 * Gemm's alpha and beta (Y = α·X·W + β·C, α > 0) fold in at compile time:
 * the accumulator's scale is α·S_x·S_W[c], so M_c = α·S_x·S_W[c] / S_y, and
 * the bias is β·C at that scale: the int32 codes of C as they are when C is
 * stored at α·S_x·S_W[c] / |β| (what fixq writes, and ONNX Runtime's QGemm
 * asks of its C), times sign(β); otherwise round(β·C / (α·S_x·S_W[c])).
 * β = 0 drops the bias. transA = 1 would transpose the batch axis away and is
 * refused (integer code runs each sample alone).
 *
 * A 1-D Conv ([N, C, L] by [M, C/g, K]) is the 2-D conv of [N, C, 1, L] by
 * [M, C/g, 1, K] (one-row.ts): its input is reshaped to one row and its
 * output back, with no arithmetic of its own.
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import type { AffineQuant } from "../ir/quant.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { DataType } from "../ir/dtype.js";
import { type IntType, roundHalfEven } from "../numerics/int.js";
import { formatType, narrowestIntType } from "../quant/format-annotation.js";
import { type Dyadic, INT32_MAX, INT32_MIN, quantizeMultiplier } from "../numerics/requant.js";
import { quantizeWithSpec } from "../quant/weights.js";
import { type ActivationTail, activationTail } from "./activation-tail.js";
import { type ActSpec, INT32, type LoweringContext, label } from "./lowering-context.js";
import { attrFloat, attrInt } from "../ir/attrs.js";
import { window2d } from "./node-attrs.js";
import { emitFixedRescale, singleScale } from "./lower-fixed.js";
import { asRow, reshapeInt, rowShape } from "./one-row.js";


interface IntWeight {
  /** (W − z_W) as integers, in the weight's own layout. */
  readonly q: Int32Array;
  /** The exact type of q (program.ts, `WeightTyped`). */
  readonly type: IntType;
  readonly dims: number[];
  /** S_W per output channel (length `channels`). */
  readonly scales: Float64Array;
}

/** The integer weight of a node's input `slot`; `channelAxis` is the output-channel axis of the weight. */
export function intWeight(ctx: LoweringContext, n: Node, slot: number, channelAxis: number): IntWeight {
  const name = n.inputs[slot] ?? "";
  const t = ctx.consts.get(name);
  if (!t) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has a non-constant weight '${name}'`);
  const spec = ctx.graph.quant?.get(name);
  if (!spec) throw new FixqError("unsupported", `not fully quantized: ${label(n)} has a float weight '${name}' (no quantization spec)`);
  if (spec.kind !== "affine") throw new FixqError("unsupported", `cannot integerize: ${label(n)} weight '${name}' is quantized as ${spec.kind}; integer-only code needs per-tensor or per-channel integer weights`);
  const dims = t.dims.map(Number);
  const channels = dims[channelAxis]!;
  if (spec.scale.length !== 1 && spec.axis !== channelAxis) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} weight '${name}' is quantized along axis ${spec.axis}, not its output-channel axis ${channelAxis}`);
  }
  const raw = quantizeWithSpec(tensorToFloat64(t), dims, spec);
  const q = subtractZeroPoints(raw, dims, spec, channelAxis);
  const scales = new Float64Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = spec.scale.length === 1 ? spec.scale[0]! : spec.scale[c]!;
  return { q, type: weightType(spec), dims, scales };
}

/** The type of W − z under `spec`'s exact format: the format's own type for z = 0, else signed over [qmin − max z, qmax − min z]. */
function weightType(spec: AffineQuant): IntType {
  if (spec.zeroPoint.every((z) => z === 0)) return formatType(spec.format);
  const zs = Array.from(spec.zeroPoint);
  return narrowestIntType(spec.format.qmin - Math.max(...zs), spec.format.qmax - Math.min(...zs), true);
}

function subtractZeroPoints(raw: Int32Array, dims: readonly number[], spec: AffineQuant, axis: number): Int32Array {
  if (spec.zeroPoint.every((z) => z === 0)) return raw;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = dims[axis]!;
  return raw.map((v, i) => v - spec.zeroPoint[spec.zeroPoint.length === 1 ? 0 : Math.floor(i / inner) % channels]!);
}

/**
 * The int32 bias β·b at the accumulator's scale sx·S_W[c] (sx = α·S_x for a
 * Gemm), or undefined without one (or with β = 0).
 */
export function intBias(ctx: LoweringContext, n: Node, slot: number, sx: number, sw: Float64Array, beta = 1): Int32Array | undefined {
  const name = n.inputs[slot];
  if (!name || beta === 0) return undefined;
  const t = ctx.consts.get(name);
  if (!t) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has a non-constant bias '${name}'`);
  const b = tensorToFloat64(t);
  const spec = ctx.graph.quant?.get(name);
  // A bias stored as int32 at the accumulator's scale sx·S_w[c] / |β| (to float32 precision) is read back exactly.
  if (spec?.kind === "affine" && spec.format.dtype === DataType.INT32 && spec.zeroPoint.every((z) => z === 0) && b.length === sw.length) {
    const scaleOf = (c: number) => spec.scale[spec.scale.length === 1 ? 0 : c]! * Math.abs(beta);
    if (sw.every((s, c) => Math.abs(scaleOf(c) - sx * s) <= 1e-6 * sx * s)) {
      const codes = quantizeWithSpec(b, t.dims.map(Number), spec);
      return beta < 0 ? codes.map((v) => -v) : codes;
    }
  }
  if (b.length !== sw.length) throw new FixqError("unsupported", `cannot integerize: ${label(n)} bias '${name}' has ${b.length} elements for ${sw.length} output channels`);
  const out = new Int32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    const v = roundHalfEven((beta * b[c]!) / (sx * sw[c]!));
    if (!(v >= INT32_MIN && v <= INT32_MAX)) {
      throw new FixqError("unsupported", `cannot integerize: ${label(n)} bias[${c}] = ${b[c]} is ${v} at scale S_x·S_w = ${sx * sw[c]!}, beyond int32; use wider activations or coarser weights`);
    }
    out[c] = v;
  }
  return out;
}

function multipliers(ctx: LoweringContext, n: Node, sx: number, sw: Float64Array, sy: number, accBound?: Float64Array): Dyadic[] {
  const out: Dyadic[] = [];
  for (let c = 0; c < sw.length; c++) out.push(checkedMultiplier(ctx, n, (sx * sw[c]!) / sy, accBound?.[c]));
  return out;
}

/**
 * quantizeMultiplier with the program's width, refusing shifts integer back
 * ends cannot apply (0 ≤ s ≤ 62). One exception, exact: a rescale whose
 * shift would pass 62 (M < 2⁻³², a dead channel, weights ~1e-35 at ordinary
 * input and output scales) where the accumulator is known to stay within
 * `accBound` and accBound·M < ½. Every reachable product acc·M then rounds to
 * 0 under both roundings, so the zero multiplier (output = zero point) gives
 * the same bits as the exact rescale would.
 */
export function checkedMultiplier(ctx: LoweringContext, n: Node, M: number, accBound?: number): Dyadic {
  const d = quantizeMultiplier(M, ctx.multiplierBits);
  if (d.m !== 0 && d.s > 62 && accBound !== undefined && accBound * M < 0.5) return { m: 0, s: 0 };
  if (d.m !== 0 && (d.s < 0 || d.s > 62)) {
    const e = Math.ceil(Math.log2(M));
    const hint =
      d.s < 0 ? "a smaller output scale ratio" : 62 + e >= 2 ? `a multiplier of at most ${62 + e} bits (--multiplier-bits)` : "scales less far apart (no multiplier width can hold this rescale)";
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} needs the rescale ${M} = ${d.m}·2^-${d.s}, whose shift is outside 0…62 at ${ctx.multiplierBits}-bit multipliers; use ${hint}`);
  }
  return d;
}

/**
 * Per output channel c, a bound on |acc[c]| = |Σ_k W[c,k]·(x_k − z_x) + b[c]|:
 * Σ_k |W[c,k]| · max(|q_min − z_x|, |q_max − z_x|) + |b[c]| (padding reads z_x
 * and adds 0). `w` holds the weight codes (zero points removed) with the
 * output channel on `channelAxis` of `dims`.
 */
export function accumulatorBounds(w: Int32Array, dims: readonly number[], channelAxis: number, xs: ActSpec, bias?: Int32Array): Float64Array {
  const channels = dims[channelAxis]!;
  const inner = dims.slice(channelAxis + 1).reduce((p, d) => p * d, 1);
  const xMax = Math.max(Math.abs(xs.qmin - xs.zeroPoint), Math.abs(xs.qmax - xs.zeroPoint));
  const sums = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) sums[Math.floor(i / inner) % channels]! += Math.abs(w[i]!);
  return sums.map((s, c) => s * xMax + Math.abs(bias?.[c] ?? 0));
}

/**
 * Emits the accumulate op's requant into the activation after any fused
 * clamps; `sx` is the accumulator's scale over S_W. The result takes the
 * float value's per-sample shape `floatShape` by a reshape where `shape`
 * differs (a 1-D conv's row).
 */
function emitRequant(ctx: LoweringContext, n: Node, acc: string, axis: number, sx: number, sw: Float64Array, shape: readonly number[], floatShape: readonly number[], accBound: Float64Array): void {
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const reshaped = floatShape !== shape;
  const out = ctx.addValue(`${tail.value}_q${reshaped ? "_row" : ""}`, shape, tail.spec.type, tail.spec);
  requantInto(ctx, n, acc, axis, sx, sw, tail, out, accBound);
  ctx.lowered.set(tail.value, reshaped ? reshapeInt(ctx, n, out, `${tail.value}_q`, floatShape) : out);
}

/** The requant of accumulator `acc` (scale sx·S_W[c]) into `out`, the tail's spec and clamps (a fixed-point rescale into a fixed-point spec). */
export function requantInto(ctx: LoweringContext, n: Node, acc: string, axis: number, sx: number, sw: Float64Array, tail: ActivationTail, out: string, accBound?: Float64Array): void {
  if (tail.spec.fixed) {
    emitFixedRescale(ctx, n, [acc], [sx * singleScale(sw, n, tail.spec)], tail.spec, out, tail.clampLo, tail.clampHi);
    return;
  }
  ctx.ops.push({
    kind: "requant",
    source: label(n),
    input: acc,
    output: out,
    multipliers: multipliers(ctx, n, sx, sw, tail.spec.scale, accBound),
    axis,
    outZero: tail.spec.zeroPoint,
    clampLo: tail.clampLo,
    clampHi: tail.clampHi,
  });
}

export function lowerConv(ctx: LoweringContext, n: Node): void {
  let x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const w = intWeight(ctx, n, 1, 0);
  const rank = w.dims.length - 2;
  if (rank !== 1 && rank !== 2) throw new FixqError("unsupported", `cannot integerize: ${label(n)} is a ${rank}-D convolution; integer code covers 1-D and 2-D Conv`);
  const win = window2d(n, w.dims.slice(2));
  const floatShape = ctx.sampleShape(n.outputs[0]!, label(n));
  let shape = floatShape;
  if (rank === 1) {
    // one row (one-row.ts): weight [M, C/g, K] → [M, C/g, 1, K] (the same data), output [M, 1, L'] → [M, L']
    x = asRow(ctx, n, x);
    shape = rowShape(floatShape);
  }
  const weightShape: [number, number, number, number] = rank === 1 ? [w.dims[0]!, w.dims[1]!, 1, w.dims[2]!] : (w.dims as [number, number, number, number]);
  const acc = ctx.addValue(`${n.outputs[0]}_acc`, shape, INT32);
  const bias = intBias(ctx, n, 2, xs.scale, w.scales);
  ctx.ops.push({
    kind: "conv",
    source: label(n),
    input: x,
    output: acc,
    inputZero: xs.zeroPoint,
    weight: w.q,
    weightType: w.type,
    weightShape,
    ...optional("bias", bias),
    strides: win.strides,
    pads: win.pads,
    dilations: win.dilations,
    group: attrInt(n, "group", 1),
  });
  emitRequant(ctx, n, acc, 0, xs.scale, w.scales, shape, floatShape, accumulatorBounds(w.q, w.dims, 0, xs, bias));
}

function optional<K extends string, V>(key: K, v: V | undefined): { [k in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [k in K]?: V };
}

/** Gemm (transA = 0, alpha > 0, any beta and transB) and MatMul with a constant 2-D right-hand side. */
export function lowerDense(ctx: LoweringContext, n: Node): void {
  const isGemm = n.opType === "Gemm";
  const alpha = isGemm ? attrFloat(n, "alpha", 1) : 1;
  const beta = isGemm ? attrFloat(n, "beta", 1) : 1;
  if (isGemm && attrInt(n, "transA", 0) !== 0) {
    throw new FixqError(
      "unsupported",
      `cannot integerize: ${label(n)} has transA = 1: its input's batch axis would become a feature axis, and integer code runs each sample alone; transpose the input before the Gemm in the model (transA = 0)`,
    );
  }
  if (!(alpha > 0 && Number.isFinite(alpha)) || !Number.isFinite(beta)) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} has alpha = ${alpha}, beta = ${beta}; integer code needs a finite alpha > 0 (fold a negative alpha into the weights)`);
  }
  if (!ctx.consts.has(n.inputs[1] ?? "")) {
    const why = ctx.consts.has(n.inputs[0] ?? "") ? "has its constant on the left" : "multiplies two activations";
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} ${why}; only an activation times a constant right-hand weight is supported`);
  }
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const transB = isGemm && attrInt(n, "transB", 0) === 1;
  const w = intWeight(ctx, n, 1, transB ? 0 : 1);
  if (w.dims.length !== 2) throw new FixqError("unsupported", `cannot integerize: ${label(n)} weight has rank ${w.dims.length}, not 2`);
  const [outFeatures, inFeatures] = transB ? [w.dims[0]!, w.dims[1]!] : [w.dims[1]!, w.dims[0]!];
  const weight = transB ? w.q : transpose2d(w.q, inFeatures, outFeatures);
  const shape = ctx.sampleShape(n.outputs[0]!, label(n));
  const acc = ctx.addValue(`${n.outputs[0]}_acc`, shape, INT32);
  const bias = isGemm ? intBias(ctx, n, 2, alpha * xs.scale, w.scales, beta) : undefined;
  ctx.ops.push({
    kind: "dense",
    source: label(n),
    input: x,
    output: acc,
    inputZero: xs.zeroPoint,
    weight,
    weightType: w.type,
    inFeatures,
    outFeatures,
    ...optional("bias", bias),
  });
  emitRequant(ctx, n, acc, shape.length - 1, alpha * xs.scale, w.scales, shape, shape, accumulatorBounds(weight, [outFeatures, inFeatures], 0, xs, bias));
}

/** [rows, cols] → [cols, rows]. */
function transpose2d(a: Int32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}
