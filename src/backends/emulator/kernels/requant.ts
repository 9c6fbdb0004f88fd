/**
 * Requantization and rescale; the JS engine calls src/numerics directly:
 *
 *   requant: y = clamp(R(acc, m[c]) + outZero, clampLo, clampHi), c the index along `axis`,
 *            R single or double rounding per Program.rounding (requantizeArray / requantize)
 *   rescale: y = clamp(outZero + rshr(Σ_i (x_i − z_i)·m_i, shift), clampLo, clampHi)  (rescaleArrays)
 *
 * The SIMD engine runs the same arithmetic in WebAssembly with exact 64-bit
 * products where the operands qualify (wasm/requant.ts: single and double
 * rounding; wasm/elementwise.ts: rescales of one or two inputs), and falls
 * back to numerics otherwise. The tests hold both engines to an independent
 * BigInt reference, bit for bit.
 */
import { sampleSize } from "../../../integer/program.js";
import { requantize, requantizeArray } from "../../../numerics/requant.js";
import { rescaleArrays } from "../../../numerics/rescale.js";
import { simdRescale } from "../wasm/elementwise.js";
import type { Kernel } from "../kernel.js";
import { plain } from "../kernel.js";
import { simdRequant } from "../wasm/requant.js";

/** Below this many elements per channel run, per-element calls beat per-run array calls. */
const MIN_RUN = 8;

export const requantKernel: Kernel<"requant"> = (op, ctx) => {
  const shape = ctx.value(op.input).shape;
  const outShape = ctx.value(op.output).shape;
  if (sampleSize(shape) !== sampleSize(outShape)) throw new Error(`${op.source}: requant changes the size [${shape}] → [${outShape}]`);
  const ms = op.multipliers;
  const perTensor = ms.length === 1;
  if (!perTensor && (op.axis < 0 || op.axis >= shape.length || shape[op.axis] !== ms.length)) {
    throw new Error(`${op.source}: ${ms.length} multipliers along axis ${op.axis} of [${shape}]`);
  }
  const channels = perTensor ? 1 : ms.length;
  const inner = perTensor ? sampleSize(shape) * ctx.batch : sampleSize(shape.slice(op.axis + 1));
  const rows = perTensor ? 1 : ctx.batch * sampleSize(shape.slice(0, op.axis));
  const { outZero, clampLo, clampHi } = op;
  const rounding = ctx.program.rounding;
  if (ctx.simd) {
    const simd = simdRequant(op, rows, channels, inner, ctx);
    if (simd) return simd;
  }
  if (inner >= MIN_RUN) {
    return plain((inputs, out) => {
      const acc = inputs[0] as Int32Array;
      const y = out as Int32Array;
      let o = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < channels; c++, o += inner) {
          requantizeArray(acc.subarray(o, o + inner), ms[c]!, outZero, clampLo, clampHi, y.subarray(o, o + inner), rounding);
        }
      }
    });
  }
  return plain((inputs, out) => {
    const acc = inputs[0]!;
    let o = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < channels; c++) {
        const d = ms[c]!;
        for (let i = 0; i < inner; i++, o++) out[o] = requantize(acc[o]!, d, outZero, clampLo, clampHi, rounding);
      }
    }
  });
};

export const rescaleKernel: Kernel<"rescale"> = (op, ctx) => {
  const n = sampleSize(ctx.value(op.output).shape);
  for (const name of op.inputs) {
    const s = ctx.value(name).shape;
    if (sampleSize(s) !== n) throw new Error(`${op.source}: rescale input '${name}' [${s}] and output [${ctx.value(op.output).shape}] differ in size`);
  }
  if (ctx.simd) {
    const simd = simdRescale(op, n * ctx.batch, ctx);
    if (simd) return simd;
  }
  const { inputZeros, multipliers, shift, outZero, clampLo, clampHi } = op;
  return plain((inputs, out) => {
    rescaleArrays(inputs as readonly Int32Array[], inputZeros, multipliers, shift, outZero, clampLo, clampHi, out as Int32Array);
  });
};
