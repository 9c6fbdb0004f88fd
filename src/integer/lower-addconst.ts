/**
 * Add of an activation and a constant tensor (a bias after MatMul, a position
 * embedding): the constant C (as the QDQ model dequantizes it, when it is
 * quantized) broadcast over the trailing axes of a sample it spans (it
 * repeats over the leading ones: a bias is one row), pre-scaled into the rounding:
 *   y = clamp(z_y + rshr((x − z_x)·m + o_i, s), lo, hi),
 *   m = round(S_x / S_y · 2^s),  o_i = round(C_i / S_y · 2^s)
 * (numerics/transformer-params.ts addConstParams).
 * Scalar constants go to tables instead (lower-unary.ts).
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { intMax, intMin } from "../numerics/int.js";
import { quantizeValue } from "../numerics/int-group.js";
import { addConstParams } from "../numerics/transformer-params.js";
import { activationTail } from "./activation-tail.js";
import { type LoweringContext, label } from "./lowering-context.js";

/** The constant's float values as the QDQ model reads them. */
export function constantValues(ctx: LoweringContext, name: string): Float64Array {
  const v = tensorToFloat64(ctx.consts.get(name)!);
  const q = ctx.graph.quant?.get(name);
  if (q?.kind !== "affine" || q.scale.length !== 1) return v;
  const s = q.scale[0]!;
  const z = q.zeroPoint[0] ?? 0;
  return v.map((x) => Math.fround(Math.fround(quantizeValue(x, s, z, q.format.qmin, q.format.qmax) - z) * s));
}

/** Broadcasts `c` (dims `cd`) to one sample of `shape` (numpy rules; the batch axis of `cd` must be 1). */
export function broadcastToSample(c: Float64Array, cd: readonly number[], shape: readonly number[], where: string): Float64Array {
  const full = [1, ...shape];
  if (cd.length > full.length) throw new FixqError("unsupported", `cannot integerize: ${where} adds a constant of rank ${cd.length} to rank ${full.length}`);
  const dims = [...Array<number>(full.length - cd.length).fill(1), ...cd];
  if (dims.some((d, i) => d !== 1 && d !== full[i])) throw new FixqError("unsupported", `cannot integerize: ${where} adds a constant [${cd}] that does not broadcast to one sample [${shape}]`);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(size);
  const idx = new Array<number>(shape.length).fill(0);
  for (let j = 0; j < size; j++) {
    let src = 0;
    for (let a = 0; a < shape.length; a++) src = src * dims[a + 1]! + (dims[a + 1] === 1 ? 0 : idx[a]!);
    out[j] = c[src]!;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

export function lowerAddConst(ctx: LoweringContext, n: Node): void {
  const ci = n.inputs.findIndex((i) => ctx.consts.has(i));
  const xName = n.inputs[1 - ci]!;
  const x = ctx.intInput(xName, n);
  const xs = ctx.specOfInt(x);
  const shape = ctx.values.get(x)!.shape;
  const cname = n.inputs[ci]!;
  const cdims = ctx.consts.get(cname)!.dims.map(Number);
  const full = broadcastToSample(constantValues(ctx, cname), cdims, shape, label(n));
  // The broadcast repeats over the axes the constant does not span: keep one period (the trailing axes it spans).
  const aligned = [...Array<number>(Math.max(0, shape.length - cdims.length)).fill(1), ...cdims.slice(Math.max(0, cdims.length - shape.length))];
  const first = aligned.findIndex((d) => d !== 1);
  const c = full.subarray(0, first < 0 ? 1 : shape.slice(first).reduce((a, b) => a * b, 1));
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const t of tail.nodes) ctx.consumed.add(t);
  const span = Math.max(Math.abs(intMin(xs.type) - xs.zeroPoint), Math.abs(intMax(xs.type) - xs.zeroPoint));
  const params = addConstParams(xs.scale, span, c, tail.spec.scale, ctx.multiplierBits);
  if (!params) throw new FixqError("unsupported", `cannot integerize: ${label(n)} adds a constant too large for its output scale ${tail.spec.scale} (beyond the exact range of an integer add)`);
  const { multiplier, offset, shift } = params;
  const out = ctx.addValue(`${tail.value}_q`, shape, tail.spec.type, tail.spec);
  ctx.ops.push({
    kind: "addconst",
    source: label(n),
    input: x,
    output: out,
    inputZero: xs.zeroPoint,
    multiplier,
    offset,
    shift,
    outZero: tail.spec.zeroPoint,
    clampLo: tail.clampLo,
    clampHi: tail.clampHi,
  });
  ctx.lowered.set(tail.value, out);
}
