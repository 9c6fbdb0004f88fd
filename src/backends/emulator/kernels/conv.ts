/**
 * 2-D convolution into int32 accumulators, NCHW samples, OIHW weights:
 *
 *   acc[oc, oy, ox] = bias[oc] + Σ_{ic ∈ group(oc), ky, kx} (x[ic, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw] − inputZero) · w[oc, ic, ky, kx]
 *
 * (padded taps hold inputZero, so they add 0). Lowered to a GEMM per sample
 * and group: an im2col A[p, k] = x − inputZero over output positions p and
 * taps k = (ic, ky, kx), from a gather map built once, times the weight rows.
 * The SIMD engine (wasm/conv.ts) takes it when the operands fit int16;
 * otherwise, and when assertRanges covers the output and a static bound
 * cannot rule out an int32 wrap, the exact double-precision GEMM of
 * gemm-js.ts runs (it checks every accumulator before storing it). It also
 * runs every widened int64 accumulator (program.ts ACC64, a Float64Array
 * buffer), after proving its partial sums stay below 2^53.
 */
import { type ConvOp, isWideValue } from "../../../integer/program.js";
import type { Kernel, KernelContext } from "../kernel.js";
import { simdConv } from "../wasm/conv.js";
import { simdDepthwise } from "../wasm/depthwise.js";
import { gemmJs } from "./gemm-js.js";
import { accumulatorsFitInt32, checkWideExact, operandFitsInt16, weightsFitInt16 } from "./operands.js";

/** Geometry of a conv, checked against the program's value shapes. */
export interface ConvGeometry {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly oc: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly group: number;
  /** Input channels per group. */
  readonly icg: number;
  /** Output channels per group. */
  readonly ocg: number;
  /** Taps per output: icg · kh · kw. */
  readonly K: number;
  /** Output positions per sample: oh · ow. */
  readonly P: number;
}

export function convGeometry(op: ConvOp, ctx: KernelContext): ConvGeometry {
  const is = ctx.value(op.input).shape;
  const os = ctx.value(op.output).shape;
  const [oc, icg, kh, kw] = op.weightShape;
  const bad = (why: string) => new Error(`${op.source}: ${why}`);
  if (is.length !== 3 || os.length !== 3) throw bad(`conv needs [C, H, W] samples, got [${is}] → [${os}]`);
  const [c, h, w] = is as [number, number, number];
  const g = op.group;
  if (!Number.isInteger(g) || g < 1 || c % g !== 0 || oc % g !== 0 || icg !== c / g) throw bad(`group ${g} does not fit ${c} input channels and weight [${op.weightShape}]`);
  if (os[0] !== oc) throw bad(`output has ${os[0]} channels, the weight ${oc}`);
  if (op.weight.length !== oc * icg * kh * kw) throw bad(`weight has ${op.weight.length} elements, shape [${op.weightShape}]`);
  if (op.bias && op.bias.length !== oc) throw bad(`bias has ${op.bias.length} elements for ${oc} channels`);
  const [sh, sw] = op.strides;
  const [dh, dw] = op.dilations;
  const [pt, pl, pb, pr] = op.pads;
  const oh = Math.floor((h + pt + pb - ((kh - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((w + pl + pr - ((kw - 1) * dw + 1)) / sw) + 1;
  if (os[1] !== oh || os[2] !== ow) throw bad(`output [${os}] but the conv gives [${oc}, ${oh}, ${ow}]`);
  return { c, h, w, oc, oh, ow, kh, kw, group: g, icg, ocg: oc / g, K: icg * kh * kw, P: oh * ow };
}

/** gather[p·K + k] = input index (within one group's channels of one sample) of tap k at output p, or −1 for padding. */
export function convGather(op: ConvOp, g: ConvGeometry): Int32Array {
  const { h, w, ow, kh, kw, icg, K, P } = g;
  const [sh, sw] = op.strides;
  const [dh, dw] = op.dilations;
  const [pt, pl] = op.pads;
  const gather = new Int32Array(P * K);
  for (let p = 0; p < P; p++) {
    const oy = Math.floor(p / ow);
    const ox = p - oy * ow;
    for (let ic = 0; ic < icg; ic++) {
      for (let ky = 0; ky < kh; ky++) {
        const y = oy * sh - pt + ky * dh;
        for (let kx = 0; kx < kw; kx++) {
          const x = ox * sw - pl + kx * dw;
          const k = (ic * kh + ky) * kw + kx;
          gather[p * K + k] = y < 0 || y >= h || x < 0 || x >= w ? -1 : (ic * h + y) * w + x;
        }
      }
    }
  }
  return gather;
}

export const convKernel: Kernel<"conv"> = (op, ctx) => {
  const geo = convGeometry(op, ctx);
  const input = ctx.value(op.input);
  const wide = isWideValue(ctx.value(op.output));
  if (wide) checkWideExact(op.source, input, op.inputZero, op.weight, geo.K, op.bias);
  // with assertRanges, SIMD (wrapping) results are used only where no accumulator can wrap; int64 accumulators take the exact doubles
  const simd = !wide && ctx.simd && (!ctx.range || accumulatorsFitInt32(input, op.inputZero, op.weight, geo.K, op.bias));
  if (simd) {
    const dw = simdDepthwise(op, geo, ctx);
    if (dw) return dw;
  }
  if (simd && operandFitsInt16(input, op.inputZero) && weightsFitInt16(op.weight)) {
    const gemm = simdConv(op, geo, ctx);
    if (gemm) return gemm;
  }
  const { c, h, w, oc, group, icg, ocg, K, P } = geo;
  const gather = convGather(op, geo);
  const weight = Float64Array.from(op.weight);
  const bias = new Float64Array(oc);
  if (op.bias) bias.set(op.bias);
  const a = new Float64Array(P * K);
  const z = op.inputZero;
  const inSample = c * h * w;
  const outSample = oc * P;
  const batch = ctx.batch;
  const range = ctx.range;
  return {
    bind: () => (inputs, out) => {
      const x = inputs[0]!;
      for (let b = 0; b < batch; b++) {
        for (let gi = 0; gi < group; gi++) {
          const base = b * inSample + gi * icg * h * w;
          for (let i = 0; i < P * K; i++) {
            const s = gather[i]!;
            a[i] = s < 0 ? 0 : x[base + s]! - z;
          }
          const wg = weight.subarray(gi * ocg * K, (gi + 1) * ocg * K);
          gemmJs(a, wg, bias.subarray(gi * ocg, (gi + 1) * ocg), { P, M: ocg, K }, out as Int32Array | Float64Array, b * outSample + gi * ocg * P, P, 1, range, op.source);
        }
      }
    },
  };
};
