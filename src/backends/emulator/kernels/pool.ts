/**
 * Pooling over NCHW samples ([C, H, W] per sample), window by window:
 *
 *   sumpool: acc[c, oy, ox] = Σ_{(y, x) in window ∩ input} (x[c, y, x] − inputZero)   (padding adds 0)
 *   maxpool: y[c, oy, ox]   = max_{(y, x) in window ∩ input} x[c, y, x]                (padding ignored)
 *
 * with window rows oy·sh − pt + ky·dh (ky < kh), columns likewise. The output
 * size is the output value's; each window's in-range taps are listed once at
 * prepare time.
 */
import type { Kernel, KernelContext } from "../kernel.js";
import { plain } from "../kernel.js";
import { simdMaxpool, simdMaxpool2 } from "../wasm/elementwise.js";

interface Windows {
  readonly planes: number;
  readonly inPlane: number;
  readonly outPlane: number;
  /** Per output position: taps[start[j] … start[j+1]) are the in-plane indices it reads. */
  readonly start: Int32Array;
  readonly taps: Int32Array;
}

function windows(
  source: string,
  ctx: KernelContext,
  input: string,
  output: string,
  kernel: readonly [number, number],
  strides: readonly [number, number],
  pads: readonly [number, number, number, number],
  dilations: readonly [number, number],
): Windows {
  const [c, h, w] = ctx.value(input).shape as [number, number, number];
  const os = ctx.value(output).shape;
  if (ctx.value(input).shape.length !== 3 || os.length !== 3 || os[0] !== c) throw new Error(`${source}: pooling needs [C, H, W] samples, got [${ctx.value(input).shape}] → [${os}]`);
  const [oh, ow] = [os[1]!, os[2]!];
  const start = new Int32Array(oh * ow + 1);
  const taps: number[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let ky = 0; ky < kernel[0]; ky++) {
        const y = oy * strides[0] - pads[0] + ky * dilations[0];
        if (y < 0 || y >= h) continue;
        for (let kx = 0; kx < kernel[1]; kx++) {
          const x = ox * strides[1] - pads[1] + kx * dilations[1];
          if (x >= 0 && x < w) taps.push(y * w + x);
        }
      }
      start[oy * ow + ox + 1] = taps.length;
    }
  }
  return { planes: ctx.batch * c, inPlane: h * w, outPlane: oh * ow, start, taps: Int32Array.from(taps) };
}

export const sumpoolKernel: Kernel<"sumpool"> = (op, ctx) => {
  const win = windows(op.source, ctx, op.input, op.output, op.kernel, op.strides, op.pads, [1, 1]);
  const { planes, inPlane, outPlane, start, taps } = win;
  const z = op.inputZero;
  return plain((inputs, out) => {
    const x = inputs[0]!;
    for (let p = 0; p < planes; p++) {
      const ib = p * inPlane;
      const ob = p * outPlane;
      for (let j = 0; j < outPlane; j++) {
        const t1 = start[j + 1]!;
        let s = 0;
        for (let t = start[j]!; t < t1; t++) s += x[ib + taps[t]!]!;
        out[ob + j] = s - (t1 - start[j]!) * z;
      }
    }
  });
};

export const maxpoolKernel: Kernel<"maxpool"> = (op, ctx) => {
  const win = windows(op.source, ctx, op.input, op.output, op.kernel, op.strides, op.pads, op.dilations);
  const { planes, inPlane, outPlane, start, taps } = win;
  for (let j = 0; j < outPlane; j++) if (start[j] === start[j + 1]) throw new Error(`${op.source}: maxpool window ${j} lies entirely in the padding`);
  if (ctx.simd) {
    const [, h, w] = ctx.value(op.input).shape as [number, number, number];
    const [, oh, ow] = ctx.value(op.output).shape as [number, number, number];
    const k2s2 = op.kernel.every((k) => k === 2) && op.strides.every((s) => s === 2) && op.dilations.every((d) => d === 1) && op.pads.every((p) => p === 0);
    if (k2s2 && oh === Math.floor(h / 2) && ow === Math.floor(w / 2)) return simdMaxpool2(planes, h, w, oh, ow);
    return simdMaxpool(planes, inPlane, outPlane, start, taps, ctx);
  }
  return plain((inputs, out) => {
    const x = inputs[0]!;
    for (let p = 0; p < planes; p++) {
      const ib = p * inPlane;
      const ob = p * outPlane;
      for (let j = 0; j < outPlane; j++) {
        const t1 = start[j + 1]!;
        let m = x[ib + taps[start[j]!]!]!;
        for (let t = start[j]! + 1; t < t1; t++) {
          const v = x[ib + taps[t]!]!;
          if (v > m) m = v;
        }
        out[ob + j] = m;
      }
    }
  });
};
