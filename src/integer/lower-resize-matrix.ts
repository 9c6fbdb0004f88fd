/**
 * Linear Resize where the taps move with the output position (align_corners,
 * fractional factors, downsampling): separable interpolation as two dense
 * layers with integer weights, one rounding at the end. Along an axis of
 * input length L, output o reads x_orig = T(o) (resize-index.ts, ONNX
 * Runtime's float32 steps), clamped into [0, L − 1]; with i_0 = ⌊x_orig⌋,
 * i_1 = min(i_0 + 1, L − 1) and f = x_orig − i_0:
 *
 *   A[o, i_0] += 2^F − round(f·2^F),  A[o, i_1] += round(f·2^F)     (each row sums to 2^F)
 *
 *   t   = A_w·(x − z_x) along W                       int32, then kept exactly as int16
 *                                                     (|t| ≤ 2^7·255 < 2^15 at F_w = 7, a requant by 1)
 *   acc = A_h·t along H (after a transpose)           int32 (|acc| < 2^12·2^15)
 *   y   = clamp(requant(acc, S_x/(2^(F_w+F_h)·S_y)) + z_y, lo, hi), transposed back
 *
 * The weights are exact where f·2^F is an integer and otherwise off by at
 * most 2^−(F+1); the dense rows hold every input position (most weights are
 * zero), so this costs L_in MACs per output and axis where the phase form
 * (lower-resize-linear.ts) costs two: it is the fallback, for 8-bit inputs.
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { intMax, intMin, intType } from "../numerics/int.js";
import { narrowestIntType } from "../quant/format-annotation.js";
import { activationTail } from "./activation-tail.js";
import { checkedMultiplier, requantInto } from "./lower-linear.js";
import { type ActSpec, INT32, type LoweringContext, label } from "./lowering-context.js";
import { type CoordinateMode, originalCoordinate } from "./resize-index.js";

/** Fraction bits of the width pass (its result must stay inside int16 for 8-bit inputs) and of the height pass. */
const WIDTH_BITS = 7;
const HEIGHT_BITS = 12;

/** The [lenOut, lenIn] interpolation matrix of one axis, rows summing to 2^bits. */
export function interpolationMatrix(coord: CoordinateMode, scale: number, lenIn: number, lenOut: number, bits: number): Int32Array {
  const one = 2 ** bits;
  const a = new Int32Array(lenOut * lenIn);
  for (let o = 0; o < lenOut; o++) {
    const xo = Math.min(Math.max(originalCoordinate(coord, o, scale, lenIn, lenOut), 0), lenIn - 1);
    const i0 = Math.floor(xo);
    const i1 = Math.min(i0 + 1, lenIn - 1);
    const w1 = Math.round((xo - i0) * one);
    a[o * lenIn + i0]! += one - w1;
    a[o * lenIn + i1]! += w1;
  }
  return a;
}

export function lowerResizeMatrix(ctx: LoweringContext, n: Node, coord: CoordinateMode, scales: readonly number[]): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  if (xs.type.bits > 8) throw new FixqError("unsupported", `cannot integerize: ${label(n)} resizes ${xs.type.bits}-bit activations with moving taps (linear mode, ${coord}); integer code covers 8-bit inputs there`);
  const [C, H, W] = ctx.values.get(x)!.shape as [number, number, number];
  const shape = ctx.sampleShape(n.outputs[0]!, label(n));
  const [, OH, OW] = shape as [number, number, number];
  const dense = (input: string, inputZero: number, weight: Int32Array, inFeatures: number, outFeatures: number, outShape: number[], tag: string): string => {
    const acc = ctx.addValue(`${n.outputs[0]}_${tag}`, outShape, INT32);
    let lo = 0;
    let hi = 0;
    for (const w of weight) [lo, hi] = [Math.min(lo, w), Math.max(hi, w)];
    ctx.ops.push({ kind: "dense", source: label(n), input, output: acc, inputZero, weight, weightType: narrowestIntType(lo, hi, true), inFeatures, outFeatures });
    return acc;
  };
  const moved = (input: string, outShape: number[], spec: ActSpec, tag: string): string => {
    const out = ctx.addValue(`${n.outputs[0]}_${tag}`, outShape, spec.type, spec);
    ctx.ops.push({ kind: "transpose", source: label(n), input, output: out, perm: [0, 2, 1] });
    return out;
  };
  // width pass, kept exactly: t = A_w·(x − z_x) at scale S_x/2^F_w, zero point 0
  const rowsAcc = dense(x, xs.zeroPoint, interpolationMatrix(coord, scales[2]!, W, OW, WIDTH_BITS), W, OW, [C, H, OW], "rows_acc");
  const t16 = intType(16, true);
  const rowSpec: ActSpec = { scale: xs.scale / 2 ** WIDTH_BITS, zeroPoint: 0, qmin: intMin(t16), qmax: intMax(t16), type: t16 };
  const rows = ctx.addValue(`${n.outputs[0]}_rows`, [C, H, OW], t16, rowSpec);
  ctx.ops.push({ kind: "requant", source: label(n), input: rowsAcc, output: rows, multipliers: [checkedMultiplier(ctx, n, 1)], axis: 2, outZero: 0, clampLo: rowSpec.qmin, clampHi: rowSpec.qmax });
  // height pass on [C, OW, H], then the one rounding into the output spec
  const cols = moved(rows, [C, OW, H], rowSpec, "cols");
  const acc = dense(cols, 0, interpolationMatrix(coord, scales[1]!, H, OH, HEIGHT_BITS), H, OH, [C, OW, OH], "cols_acc");
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const yt = ctx.addValue(`${tail.value}_qt`, [C, OW, OH], tail.spec.type, tail.spec);
  requantInto(ctx, n, acc, 2, rowSpec.scale, Float64Array.of(2 ** -HEIGHT_BITS), tail, yt);
  ctx.lowered.set(tail.value, moved(yt, [C, OH, OW], tail.spec, "q"));
}
