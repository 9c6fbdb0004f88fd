/**
 * Mul of two activations (a gated MLP's x·σ(y), SwiGLU's silu(x)·y, a
 * decomposed LayerNorm's products) where the QDQ graph leaves it between
 * quantized values: y = a·b with a = S_a·(q_a − z_a), b = S_b·(q_b − z_b), so
 *   q_y = z_y + round(M·acc),  acc = (q_a − z_a)·(q_b − z_b),  M = S_a·S_b / S_y
 * The product is one `mul` op (numerics/transformer.ts mulKernel: int32,
 * broadcast per sample as ONNX Mul), then the dyadic requant of M with the
 * activation tail's clamp, as after an activation × activation MatMul. The
 * inputs must share one per-sample rank (each axis equal or 1), and the
 * product of their largest centered magnitudes must stay below 2^31 (two
 * 8-bit inputs: below 2^16; 16-bit inputs may not fit and are refused).
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { intMax, intMin } from "../numerics/int.js";
import { lowerActProduct } from "./lower-attention.js";
import { type LoweringContext, label } from "./lowering-context.js";

/** Mul whose two inputs are integer activations (the second may be given already lowered: lower-div.ts's reciprocal). */
export function lowerActMul(ctx: LoweringContext, n: Node, second?: string): void {
  const a = ctx.intInput(n.inputs[0]!, n);
  const b = second ?? ctx.intInput(n.inputs[1]!, n);
  const sa = ctx.values.get(a)!.shape;
  const sb = ctx.values.get(b)!.shape;
  const shape = sa.map((d, i) => (d === sb[i] || sb[i] === 1 ? d : d === 1 ? sb[i]! : -1));
  if (sa.length !== sb.length || shape.includes(-1)) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} combines [${sa}] with [${sb}] (per sample); integer ${n.opType} of two activations needs one rank, each axis equal or 1`);
  }
  const [xa, xb] = [ctx.specOfInt(a), ctx.specOfInt(b)];
  const span = (s: typeof xa) => Math.max(Math.abs(intMin(s.type) - s.zeroPoint), Math.abs(intMax(s.type) - s.zeroPoint));
  if (span(xa) * span(xb) > 2 ** 31 - 1) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} multiplies ${xa.type.bits}-bit by ${xb.type.bits}-bit integers, whose product can exceed int32`);
  }
  lowerActProduct(ctx, n, "mul", a, b, shape);
}
