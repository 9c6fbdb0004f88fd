/**
 * Div of two activations (y = a / b: a gate's divisor, a decomposed norm's
 * x / √(mean(x²) + ε)) where the QDQ graph leaves it between quantized
 * values. It becomes a product by a reciprocal table:
 *   r[q − qmin] = clamp(round(1 / (DQ_b(q) · S_r)), ±32767)   for every code q of b
 * an int16 `table` of b's (at most 16-bit) codes at scale S_r, zero point 0;
 * then y = a · r as the `mul` op and one requant (lower-mul.ts,
 * lower-attention.ts lowerActProduct): q_y = z_y + round(S_a·S_r/S_y · (q_a − z_a)·r).
 * S_r = R / 32767 with R = min(max_q |1/DQ_b(q)|, Y / S_a), Y the largest
 * |y| the output's quantization holds: any r beyond Y / S_a drives every
 * nonzero a past the output's range, so clamping r there changes nothing
 * after the output clamp, and the finer S_r keeps the small reciprocals
 * exact to half a step of 1/R·32767. 1/0 saturates to +32767 (IEEE: +0 → +∞).
 * The relative error of r is at most 1/(2|r|) steps, so divisors whose codes
 * span a wide ratio lose precision on the large ones (|r| small).
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { intMax, intMin, intType } from "../numerics/int.js";
import { lowerActMul } from "./lower-mul.js";
import { type LoweringContext, label } from "./lowering-context.js";

const R_MAX = 32767;
const INT16 = intType(16, true);

/** Div whose two inputs are integer activations: the reciprocal table of the divisor, then the integer product. */
export function lowerActDiv(ctx: LoweringContext, n: Node): void {
  const a = ctx.intInput(n.inputs[0]!, n);
  const b = ctx.intInput(n.inputs[1]!, n);
  const [xa, xb] = [ctx.specOfInt(a), ctx.specOfInt(b)];
  const lo = intMin(xb.type);
  const hi = intMax(xb.type);
  if (hi - lo + 1 > 65536) throw new FixqError("unsupported", `cannot integerize: ${label(n)} divides by a ${xb.type.bits}-bit activation; the reciprocal table needs at most 16-bit divisors`);
  const dq = (q: number) => Math.fround(Math.fround(q - xb.zeroPoint) * xb.scale);
  let rMax = 0;
  for (let q = lo; q <= hi; q++) if (dq(q) !== 0) rMax = Math.max(rMax, Math.abs(1 / dq(q)));
  const ys = ctx.actSpec(n.outputs[0]!, label(n));
  if (ys) rMax = Math.min(rMax, (Math.max(Math.abs(ys.qmin - ys.zeroPoint), Math.abs(ys.qmax - ys.zeroPoint)) * ys.scale) / xa.scale);
  if (!(rMax > 0)) throw new FixqError("unsupported", `cannot integerize: ${label(n)} divides by '${n.inputs[1]}', which quantizes to 0 only`);
  const scale = rMax / R_MAX;
  const table = new Int32Array(hi - lo + 1);
  for (let q = lo; q <= hi; q++) table[q - lo] = Math.max(-R_MAX, Math.min(R_MAX, Math.round(1 / dq(q) / scale)));
  const r = ctx.addValue(`${n.inputs[1]}_reciprocal`, ctx.values.get(b)!.shape, INT16, { scale, zeroPoint: 0, qmin: -R_MAX, qmax: R_MAX, type: INT16 });
  ctx.ops.push({ kind: "table", source: `${label(n)} (1 / '${n.inputs[1]}')`, input: b, output: r, inputMin: lo, table });
  lowerActMul(ctx, n, r);
}
