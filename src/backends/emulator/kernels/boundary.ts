/**
 * The program's boundary: ONNX QuantizeLinear on the float inputs and
 * DequantizeLinear on the outputs.
 *
 *   quantize:   q = clamp(roundHalfEven(float32(x / scale)) + zeroPoint, qmin, qmax)   (numerics quantizeValue)
 *   dequantize: y = float32(float32(q − zeroPoint) · scale), scale float32
 *
 * The SIMD engine quantizes in float32 lanes (wasm/kernels-quantize.ts, the
 * same arithmetic, tested against quantizeValue) when qmin − zp and
 * qmax − zp are exact float32 integers.
 */
import { quantizeValue } from "../../../numerics/int-group.js";
import type { Kernel } from "../kernel.js";
import { plain } from "../kernel.js";

const F32_EXACT = 2 ** 24;

export const quantizeKernel: Kernel<"quantize"> = (op, ctx) => {
  const scale = Math.fround(op.scale);
  const { zeroPoint, qmin, qmax } = op;
  const lo = qmin - zeroPoint;
  const hi = qmax - zeroPoint;
  const n = ctx.batch * ctx.ioShape(op.input).reduce((a, b) => a * b, 1);
  if (ctx.simd && Number.isInteger(lo) && Number.isInteger(hi) && Math.abs(lo) <= F32_EXACT && Math.abs(hi) <= F32_EXACT && lo <= hi) {
    const paramsOff = ctx.reserve(16);
    ctx.scratch(n * 4 + 16);
    return {
      bind: (mem) => {
        const params = new DataView(mem.buffer, paramsOff, 16);
        params.setFloat32(0, scale, true);
        params.setFloat32(4, lo, true);
        params.setFloat32(8, hi, true);
        params.setInt32(12, zeroPoint, true);
        const staged = new Float32Array(mem.buffer, mem.scratch, n);
        const e = mem.wasm!;
        return (inputs, out) => {
          staged.set(inputs[0] as Float32Array);
          e.quantize(mem.scratch, out.byteOffset, n, paramsOff);
        };
      },
    };
  }
  return plain((inputs, out) => {
    const x = inputs[0]!;
    for (let i = 0; i < out.length; i++) out[i] = quantizeValue(Math.fround(x[i]!), scale, zeroPoint, qmin, qmax);
  });
};

export const dequantizeKernel: Kernel<"dequantize"> = (op) => {
  const scale = Math.fround(op.scale);
  const zp = op.zeroPoint;
  return plain((inputs, out) => {
    const q = inputs[0]!;
    // (q − zp) is an integer below 2^33 in magnitude; float32 of it, times a float32, is exact in a double, then rounded once.
    for (let i = 0; i < out.length; i++) out[i] = Math.fround(Math.fround(q[i]! - zp) * scale);
  });
};
