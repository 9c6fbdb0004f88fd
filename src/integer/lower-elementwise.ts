/**
 * Lowers the ops between the linear layers:
 * - Add (HAWQ-V3 residual): each branch rescaled by its own M_i = S_i / S_y
 *   with one shared shift, summed exactly, rounded once:
 *     y = clamp(z_y + rshr(Σ_i (x_i − z_i)·m_i, s), lo, hi),  m_i ≈ M_i·2^s
 *   A branch that broadcasts (an attention mask) is first copied to the
 *   output's shape by concats (broadcastInto).
 * - Concat: each branch whose scale differs from the output's is rescaled
 *   the same way (one input), then the branches are joined.
 * - GlobalAveragePool / AveragePool: window sums of (x − z_x) times the dyadic
 *   reciprocal M = S_x / (S_y · window size).
 * - MaxPool, Flatten, Reshape, Squeeze, Unsqueeze, Identity, Transpose: data
 *   movement on the integers (max commutes with the monotone quantizer); a
 *   change of spec across them becomes a one-input rescale.
 * - Relu / Clip not fused into an accumulate op: a one-input rescale whose
 *   clamp carries the bounds.
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { RESCALE_MAX_SHIFT } from "../numerics/rescale.js";
import { quantizeMultiplier } from "../numerics/requant.js";
import { activationTail, clampBounds } from "./activation-tail.js";
import { checkedMultiplier } from "./lower-linear.js";
import { type ActSpec, INT32, type LoweringContext, label, quantizeBound } from "./lowering-context.js";
import { attrInt, attrInts } from "../ir/attrs.js";
import { type Window2d, window2d } from "./node-attrs.js";
import { emitFixedRescale } from "./lower-fixed.js";
import { asRow, reshapeInt, rowShape } from "./one-row.js";
import { quantizeValue } from "../numerics/int-group.js";
import { constantValues } from "./lower-addconst.js";
import { constantValue } from "./lower-constant.js";


/**
 * Integer multipliers sharing one shift for real rescales M_i ≥ 0: the largest
 * gets `bits` bits, m_i = round(M_i · 2^s) (ties up), 0 ≤ s ≤ RESCALE_MAX_SHIFT (52,
 * so that the emulator's double arithmetic stays exact).
 */
export function sharedShiftMultipliers(M: readonly number[], bits: number, where: string): { multipliers: number[]; shift: number } {
  const top = Math.max(...M);
  if (!(top > 0) || !Number.isFinite(top)) throw new FixqError("unsupported", `cannot integerize: rescale factors ${M.join(", ")} are not positive and finite`, where);
  let shift = quantizeMultiplier(top, bits).s;
  if (shift < 0) throw new FixqError("unsupported", `cannot integerize: rescale factor ${top} needs a left shift; its output scale is too small for its inputs`, where);
  shift = Math.min(shift, RESCALE_MAX_SHIFT);
  const multipliers = M.map((v) => Math.floor(v * 2 ** shift + 0.5));
  const lost = M.findIndex((v, i) => v > 0 && multipliers[i] === 0);
  if (lost >= 0) {
    throw new FixqError("unsupported", `cannot integerize: the rescale factor ${M[lost]} of input ${lost} rounds to 0 next to ${top} with one shared shift`, where);
  }
  return { multipliers, shift };
}

function sameSpec(a: ActSpec, b: ActSpec): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.type.bits === b.type.bits && a.type.signed === b.type.signed;
}

/** A one-input rescale of integer value `x` into `spec`, with a clamp. */
function rescaleInto(ctx: LoweringContext, n: Node, x: string, spec: ActSpec, base: string, clampLo = spec.qmin, clampHi = spec.qmax): string {
  const xs = ctx.specOfInt(x);
  const shape = ctx.values.get(x)!.shape;
  const out = ctx.addValue(base, shape, spec.type, spec);
  if (spec.fixed) {
    emitFixedRescale(ctx, n, [x], [xs.scale], spec, out, clampLo, clampHi);
    return out;
  }
  const identity = xs.scale === spec.scale;
  const { multipliers, shift } = identity ? { multipliers: [1], shift: 0 } : sharedShiftMultipliers([xs.scale / spec.scale], ctx.multiplierBits, label(n));
  ctx.ops.push({ kind: "rescale", source: label(n), inputs: [x], output: out, inputZeros: [xs.zeroPoint], multipliers, shift, outZero: spec.zeroPoint, clampLo, clampHi });
  return out;
}

export function lowerAdd(ctx: LoweringContext, n: Node): void {
  if (n.inputs.some((i) => ctx.consts.has(i))) throw new FixqError("unsupported", `cannot integerize: ${label(n)} adds a constant; only the sum of two activations is supported`);
  const target = ctx.sampleShape(n.outputs[0]!, label(n));
  const xs = n.inputs.map((i) => broadcastInto(ctx, n, ctx.intInput(i, n), target));
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const specs = xs.map((x) => ctx.specOfInt(x));
  if (tail.spec.fixed) {
    const out = ctx.addValue(`${tail.value}_q`, ctx.values.get(xs[0]!)!.shape, tail.spec.type, tail.spec);
    emitFixedRescale(ctx, n, xs, specs.map((s) => s.scale), tail.spec, out, tail.clampLo, tail.clampHi);
    ctx.lowered.set(tail.value, out);
    return;
  }
  const { multipliers, shift } = sharedShiftMultipliers(
    specs.map((s) => s.scale / tail.spec.scale),
    ctx.multiplierBits,
    label(n),
  );
  const out = ctx.addValue(`${tail.value}_q`, ctx.values.get(xs[0]!)!.shape, tail.spec.type, tail.spec);
  ctx.ops.push({
    kind: "rescale",
    source: label(n),
    inputs: xs,
    output: out,
    inputZeros: specs.map((s) => s.zeroPoint),
    multipliers,
    shift,
    outZero: tail.spec.zeroPoint,
    clampLo: tail.clampLo,
    clampHi: tail.clampHi,
  });
  ctx.lowered.set(tail.value, out);
}

/**
 * Value `x` broadcast to the per-sample shape `target` (numpy rules; an
 * attention mask [1, 1, L] added to scores [H, L, L]) with data movement
 * only: a reshape that prepends 1s, then per axis of size 1 a concat of
 * `target[a]` copies of it.
 */
export function broadcastInto(ctx: LoweringContext, n: Node, x: string, target: readonly number[]): string {
  const v = ctx.values.get(x)!;
  const spec = ctx.specOfInt(x);
  if (v.shape.join("x") === target.join("x")) return x;
  const pad = target.length - v.shape.length;
  const shape = [...Array<number>(Math.max(0, pad)).fill(1), ...v.shape];
  if (pad < 0 || shape.some((d, a) => d !== 1 && d !== target[a])) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} broadcasts [${v.shape}] to [${target}]`);
  }
  let cur = x;
  if (pad > 0) {
    cur = ctx.addValue(`${x}_r`, shape, v.type, spec);
    ctx.ops.push({ kind: "reshape", source: label(n), input: x, output: cur });
  }
  for (let a = 0; a < shape.length; a++) {
    if (shape[a] === target[a]) continue;
    shape[a] = target[a]!;
    const next = ctx.addValue(`${x}_b${a}`, [...shape], v.type, spec);
    ctx.ops.push({ kind: "concat", source: label(n), inputs: Array<string>(target[a]!).fill(cur), output: next, axis: a });
    cur = next;
  }
  return cur;
}

/** Relu or Clip on an integer activation (not fused into the op before it): a one-input rescale whose clamp carries the bounds. */
export function lowerClamp(ctx: LoweringContext, n: Node): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const bounds = clampBounds(ctx, n);
  if (!bounds) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has non-constant bounds`);
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const lo = Math.max(tail.clampLo, quantizeBound(bounds[0], tail.spec));
  const hi = Math.min(tail.clampHi, quantizeBound(bounds[1], tail.spec));
  ctx.lowered.set(tail.value, rescaleInto(ctx, n, x, tail.spec, `${tail.value}_q`, lo, hi));
}

export function lowerPool(ctx: LoweringContext, n: Node): void {
  let x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  // a 1-D pool ([C, L]) is the 2-D pool of one row, reshaped back after (one-row.ts)
  const row = ctx.values.get(x)!.shape.length === 2;
  if (row) x = asRow(ctx, n, x);
  const inShape = ctx.values.get(x)!.shape;
  if (inShape.length !== 3) throw new FixqError("unsupported", `cannot integerize: ${label(n)} is not a 1-D or 2-D pool`);
  if (attrInt(n, "ceil_mode", 0) !== 0) throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses ceil_mode`);
  const global = n.opType.startsWith("Global");
  const win: Window2d = global ? { kernel: [inShape[1]!, inShape[2]!], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] } : window2d(n);
  const { kernel, strides, pads } = win;
  const floatShape = ctx.sampleShape(n.outputs[0]!, label(n));
  const shape = row ? rowShape(floatShape) : floatShape;
  const back = (v: string, base: string) => (row ? reshapeInt(ctx, n, v, base, floatShape) : v);
  if (n.opType === "MaxPool" || n.opType === "GlobalMaxPool") {
    if (n.outputs.length > 1 && n.outputs[1]) throw new FixqError("unsupported", `cannot integerize: ${label(n)} returns indices`);
    const out = ctx.addValue(`${n.outputs[0]}_q${row ? "_row" : ""}`, shape, xs.type, xs);
    ctx.ops.push({ kind: "maxpool", source: label(n), input: x, output: out, kernel, strides, pads, dilations: win.dilations });
    finishMovement(ctx, n, back(out, `${n.outputs[0]}_q`));
    return;
  }
  if (win.dilations.some((d) => d !== 1)) throw new FixqError("unsupported", `cannot integerize: ${label(n)} is a dilated AveragePool`);
  if (pads.some((p) => p !== 0) && attrInt(n, "count_include_pad", 0) === 0) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} averages padded windows without counting the padding (count_include_pad = 0)`);
  }
  const acc = ctx.addValue(`${n.outputs[0]}_acc`, shape, INT32);
  ctx.ops.push({ kind: "sumpool", source: label(n), input: x, output: acc, inputZero: xs.zeroPoint, kernel, strides, pads });
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const out = ctx.addValue(`${tail.value}_q${row ? "_row" : ""}`, shape, tail.spec.type, tail.spec);
  if (tail.spec.fixed) {
    emitFixedRescale(ctx, n, [acc], [xs.scale / (kernel[0] * kernel[1])], tail.spec, out, tail.clampLo, tail.clampHi);
    ctx.lowered.set(tail.value, back(out, `${tail.value}_q`));
    return;
  }
  const M = xs.scale / (tail.spec.scale * kernel[0] * kernel[1]);
  ctx.ops.push({
    kind: "requant",
    source: label(n),
    input: acc,
    output: out,
    multipliers: [checkedMultiplier(ctx, n, M)],
    axis: 0,
    outZero: tail.spec.zeroPoint,
    clampLo: tail.clampLo,
    clampHi: tail.clampHi,
  });
  ctx.lowered.set(tail.value, back(out, `${tail.value}_q`));
}

/** After a movement op writing integer value `out` (in its input's spec): a rescale if the output carries another spec. */
export function finishMovement(ctx: LoweringContext, n: Node, out: string): void {
  const name = n.outputs[0]!;
  const spec = ctx.actSpec(name, label(n));
  const have = ctx.specOfInt(out);
  ctx.lowered.set(name, spec && !sameSpec(spec, have) ? rescaleInto(ctx, n, out, spec, `${name}_rq`) : out);
}

export function lowerMovement(ctx: LoweringContext, n: Node): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const inShape = ctx.values.get(x)!.shape;
  const shape = ctx.sampleShape(n.outputs[0]!, label(n));
  const outType = ctx.types.get(n.outputs[0]!)?.shape;
  const inType = ctx.types.get(n.inputs[0]!)?.shape;
  if (outType?.[0] !== inType?.[0] && shape.reduce((a, b) => a * b, 1) !== inShape.reduce((a, b) => a * b, 1)) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} changes the batch axis`);
  }
  const out = ctx.addValue(`${n.outputs[0]}_q`, shape, xs.type, xs);
  if (n.opType === "Transpose") {
    const perm = attrInts(n, "perm") ?? [...Array(inShape.length + 1).keys()].reverse();
    if (perm[0] !== 0) throw new FixqError("unsupported", `cannot integerize: ${label(n)} moves the batch axis`);
    ctx.ops.push({ kind: "transpose", source: label(n), input: x, output: out, perm: perm.slice(1).map((p) => p - 1) });
  } else {
    ctx.ops.push({ kind: "reshape", source: label(n), input: x, output: out });
  }
  finishMovement(ctx, n, out);
}

/**
 * A constant operand of a Concat (the ViT cls token once its Expand over the
 * batch folds, passes/fold-shapes.ts): C as the QDQ model reads it
 * (fake-quantized at its own spec, if any) quantized at the output spec,
 *   q_i = clamp(round(C_i / S_y) + z_y, qmin, qmax),
 * exactly the Q/DQ model's Concat output there. It is held as a constant value
 * (lower-constant.ts) shaped like `like` sliced to C's extent along the axis.
 */
function constantPart(ctx: LoweringContext, n: Node, name: string, like: string, axis: number, spec: ActSpec, base: string): string {
  const c = ctx.consts.get(name)!;
  const shape = ctx.values.get(like)!.shape;
  const dims = c.dims.map(Number);
  const per = dims.slice(1);
  if (dims[0] !== 1 || per.length !== shape.length || per.some((d, a) => a !== axis && d !== shape[a]) || per[axis]! > shape[axis]!) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} joins a constant [${dims}] that is not one sample of the shape of '${n.inputs.find((i) => !ctx.consts.has(i))}' along axis ${axis + 1}`);
  }
  const x = ctx.specOfInt(like);
  const sliced = ctx.addValue(`${base}_like`, per, x.type, x);
  ctx.ops.push({ kind: "slice", source: label(n), input: like, output: sliced, axis, start: 0, end: per[axis]! });
  const codes = constantValues(ctx, name).map((v) => quantizeValue(v, spec.scale, spec.zeroPoint, spec.qmin, spec.qmax));
  return constantValue(ctx, `${label(n)} (constant '${name}')`, base, sliced, codes, spec);
}

export function lowerConcat(ctx: LoweringContext, n: Node): void {
  const data = n.inputs.filter((i) => !ctx.consts.has(i));
  if (data.length === 0) throw new FixqError("unsupported", `cannot integerize: ${label(n)} joins constants only`);
  const xs = data.map((i) => ctx.intInput(i, n));
  const shape = ctx.sampleShape(n.outputs[0]!, label(n));
  if (!n.attributes.some((a) => a.name === "axis")) throw new FixqError("model", `${label(n)} has no axis attribute`);
  let axis = attrInt(n, "axis", 0);
  if (axis < 0) axis += shape.length + 1;
  if (axis === 0) throw new FixqError("unsupported", `cannot integerize: ${label(n)} concatenates along the batch axis`);
  const target = ctx.actSpec(n.outputs[0]!, label(n)) ?? ctx.specOfInt(xs[0]!);
  const parts = n.inputs.map((name, i) => {
    if (ctx.consts.has(name)) return constantPart(ctx, n, name, xs[0]!, axis - 1, target, `${n.outputs[0]}_in${i}`);
    const x = xs[data.indexOf(name)]!;
    return sameSpec(ctx.specOfInt(x), target) ? x : rescaleInto(ctx, n, x, target, `${n.outputs[0]}_in${i}`);
  });
  const out = ctx.addValue(`${n.outputs[0]}_q`, shape, target.type, target);
  ctx.ops.push({ kind: "concat", source: label(n), inputs: parts, output: out, axis: axis - 1 });
  ctx.lowered.set(n.outputs[0]!, out);
}
