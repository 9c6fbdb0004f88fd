/**
 * Depthwise convolution (group = input channels > 1, one input channel per
 * group) on the SIMD engine, one call per sample: `dw3x3` (kernels-dw3.ts)
 * for 3×3 kernels, dilation 1, equal strides 1 or 2; `dwconv`
 * (kernels-extra.ts) otherwise. Their i32x4 multiply-adds wrap like int32, so
 * the result is exact whenever the accumulator fits int32, for operands of
 * any width.
 */
import type { ConvOp } from "../../../integer/program.js";
import type { KernelContext, PreparedOp } from "../kernel.js";
import type { ConvGeometry } from "../kernels/conv.js";

export function simdDepthwise(op: ConvOp, geo: ConvGeometry, ctx: KernelContext): PreparedOp | undefined {
  const { c, h, w, oc, oh, ow, kh, kw, icg, ocg } = geo;
  if (icg !== 1 || geo.group !== c || c === 1) return undefined;
  const [sh, sw] = op.strides;
  const [dh, dw] = op.dilations;
  const [pt, pl, pb, pr] = op.pads;
  const hp = h + pt + pb;
  const wp = w + pl + pr;
  const planeBytes = hp * wp * 4;
  const special = kh === 3 && kw === 3 && dh === 1 && dw === 1 && sh === sw && (sh === 1 || sh === 2);
  const pitch = Math.ceil(Math.ceil(wp / 2) / 4) * 4 + 4;
  const eoBytes = 2 * (2 * oh + 1) * pitch * 4;
  const planeArea = planeBytes + 2 * pitch * 4 + 64;
  ctx.scratch(planeArea + (special && sh === 2 ? eoBytes + 64 : 0));
  const bias = new Int32Array(oc);
  if (op.bias) bias.set(op.bias);
  const weightOff = ctx.reserve(op.weight.byteLength);
  const biasOff = ctx.reserve(bias.byteLength);
  const inSample = c * h * w * 4;
  const outSample = oc * oh * ow * 4;
  const batch = ctx.batch;
  const z = op.inputZero;
  return {
    bind: (mem) => {
      new Int32Array(mem.buffer, weightOff, op.weight.length).set(op.weight);
      new Int32Array(mem.buffer, biasOff, oc).set(bias);
      const e = mem.wasm!;
      const plane = mem.scratch;
      const eo = plane + planeArea;
      return (inputs, out) => {
        const x0 = inputs[0]!.byteOffset;
        const o0 = out.byteOffset;
        for (let b = 0; b < batch; b++) {
          if (special) e.dw3x3(x0 + b * inSample, z, weightOff, biasOff, o0 + b * outSample, plane, c, h, w, ocg, oh, ow, sh, pt, pl, wp, planeBytes, eo, pitch);
          else e.dwconv(x0 + b * inSample, z, weightOff, biasOff, o0 + b * outSample, plane, c, h, w, ocg, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, wp, planeBytes);
        }
      };
    },
  };
}
