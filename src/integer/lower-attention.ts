/**
 * Attention's integer ops:
 * - MatMul of two activations (Q·Kᵀ, probabilities·V), batched over equal
 *   leading axes: acc = Σ_k (a − z_a)·(b − z_b) in int32, then one requant
 *   with the dyadic multiplier of M = S_a·S_b / S_y.
 * - Softmax over the last axis (numerics/transformer.ts softmaxKernel):
 *   y = clamp(z + ⌊(e·c + Σ·2^(r−1)) / (Σ·2^r)⌋), the rounding of e / (Σ·S_y),
 *   with the constants and bounds of numerics/transformer-params.ts softmaxParams;
 *   Softmax(S + M) of an attention mask M excludes the masked keys
 *   (lower-key-mask.ts).
 */
import { attrInt } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { intMax, intMin } from "../numerics/int.js";
import { softmaxParams } from "../numerics/transformer-params.js";
import { activationTail } from "./activation-tail.js";
import { checkedMultiplier } from "./lower-linear.js";
import { INT32, type LoweringContext, label } from "./lowering-context.js";

/** MatMul with two activation operands. */
export function lowerActMatMul(ctx: LoweringContext, n: Node): void {
  const a = ctx.intInput(n.inputs[0]!, n);
  const b = ctx.intInput(n.inputs[1]!, n);
  const sa = ctx.values.get(a)!.shape;
  const sb = ctx.values.get(b)!.shape;
  const r = sa.length;
  if (r < 2 || sb.length !== r || sa[r - 1] !== sb[r - 2] || sa.slice(0, r - 2).some((d, i) => d !== sb[i])) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} multiplies [${sa}] by [${sb}]; integer MatMul of two activations needs equal leading axes (no broadcasting)`);
  }
  lowerActProduct(ctx, n, "matmul", a, b, [...sa.slice(0, r - 1), sb[r - 1]!]);
}

/** The int32 `kind` op (matmul, or mul: lower-mul.ts) of integer activations a and b into `shape`, then one requant of M = S_a·S_b / S_y with n's activation tail. */
export function lowerActProduct(ctx: LoweringContext, n: Node, kind: "matmul" | "mul", a: string, b: string, shape: readonly number[]): void {
  const acc = ctx.addValue(`${n.outputs[0]}_acc`, shape, INT32);
  const [xa, xb] = [ctx.specOfInt(a), ctx.specOfInt(b)];
  ctx.ops.push({ kind, source: label(n), inputs: [a, b], output: acc, inputZeros: [xa.zeroPoint, xb.zeroPoint] });
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const out = ctx.addValue(`${tail.value}_q`, shape, tail.spec.type, tail.spec);
  const m = checkedMultiplier(ctx, n, (xa.scale * xb.scale) / tail.spec.scale);
  ctx.ops.push({ kind: "requant", source: label(n), input: acc, output: out, multipliers: [m], axis: 0, outZero: tail.spec.zeroPoint, clampLo: tail.clampLo, clampHi: tail.clampHi });
  ctx.lowered.set(tail.value, out);
}


/** Softmax of its input, or (masked) of the scores `masked.scores` with the keys where integer value `masked.mask` (the input's shape) is not 0 excluded. */
export function lowerSoftmax(ctx: LoweringContext, n: Node, masked?: { scores: string; mask: string }): void {
  const x = ctx.intInput(masked?.scores ?? n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const shape = ctx.values.get(x)!.shape;
  const axis = attrInt(n, "axis", -1);
  if (axis !== -1 && axis !== shape.length) throw new FixqError("unsupported", `cannot integerize: ${label(n)} normalizes axis ${axis}; integer Softmax needs the last axis`);
  const span = intMax(xs.type) - intMin(xs.type);
  if (span >= 65536) throw new FixqError("unsupported", `cannot integerize: ${label(n)} reads a ${xs.type.bits}-bit input; integer Softmax takes at most 16 bits`);
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const L = shape[shape.length - 1]!;
  const params = softmaxParams(xs.scale, span, tail.spec.scale, L);
  if (!params) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has output scale ${tail.spec.scale} over rows of ${L}, beyond integer Softmax's exact range`);
  const { exp, numerator, shift } = params;
  const out = ctx.addValue(`${tail.value}_q`, shape, tail.spec.type, tail.spec);
  ctx.ops.push({ kind: "softmax", source: label(n), input: x, ...(masked ? { mask: masked.mask } : {}), output: out, exp, numerator, shift, outZero: tail.spec.zeroPoint, clampLo: tail.clampLo, clampHi: tail.clampHi });
  ctx.lowered.set(tail.value, out);
}
