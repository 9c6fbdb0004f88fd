/**
 * Rescale (one or two inputs) and max pooling on the SIMD engine
 * (kernels-extra.ts). The rescale runs when the numerics contract holds for
 * every value the inputs' types allow (|x − z| < 2^31 and |x − z|·m < 2^48,
 * shift ≤ 52), so it never differs from numerics' rescaleArrays, which
 * would otherwise throw; other rescales stay on numerics.
 */
import type { RescaleOp } from "../../../integer/program.js";
import { intMax, intMin } from "../../../numerics/int.js";
import { RESCALE_MAX_SHIFT, RESCALE_TERM_LIMIT } from "../../../numerics/rescale.js";
import type { KernelContext, PreparedOp, Runner } from "../kernel.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const isInt32 = (v: number) => Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;

export function simdRescale(op: RescaleOp, n: number, ctx: KernelContext): PreparedOp | undefined {
  const k = op.inputs.length;
  if (k < 1 || k > 2 || op.inputZeros.length !== k || op.multipliers.length !== k) return undefined;
  if (!Number.isInteger(op.shift) || op.shift < 0 || op.shift > RESCALE_MAX_SHIFT) return undefined;
  for (let i = 0; i < k; i++) {
    const t = ctx.value(op.inputs[i]!).type;
    const z = op.inputZeros[i]!;
    const m = op.multipliers[i]!;
    if (!Number.isInteger(m) || m < 0 || m >= 2 ** 31 || !isInt32(z)) return undefined;
    const d = Math.max(Math.abs(intMin(t) - z), Math.abs(intMax(t) - z));
    if (d > INT32_MAX || d * m >= RESCALE_TERM_LIMIT) return undefined;
  }
  const lo = op.clampLo - op.outZero;
  const hi = op.clampHi - op.outZero;
  if (!isInt32(op.outZero) || !isInt32(lo) || !isInt32(hi) || lo > hi) return undefined;
  const [za, zb] = [op.inputZeros[0]!, op.inputZeros[k - 1]!];
  const [ma, mb] = [op.multipliers[0]!, k === 2 ? op.multipliers[1]! : 0];
  return {
    bind: (mem): Runner => {
      const e = mem.wasm!;
      return (inputs, out) => {
        const a = inputs[0]!.byteOffset;
        const b = inputs[k - 1]!.byteOffset;
        e.rescale2(a, b, n, za, zb, ma, mb, op.shift, lo, hi, op.outZero, out.byteOffset);
      };
    },
  };
}

/** Max pooling from the tap lists of kernels/pool.ts (`start`, element `taps`). */
export function simdMaxpool(planes: number, inPlane: number, outPlane: number, start: Int32Array, taps: Int32Array, ctx: KernelContext): PreparedOp {
  const startOff = ctx.reserve(start.byteLength);
  const tapsOff = ctx.reserve(taps.byteLength);
  return {
    bind: (mem): Runner => {
      new Int32Array(mem.buffer, startOff, start.length).set(start);
      new Int32Array(mem.buffer, tapsOff, taps.length).set(taps.map((t) => t * 4));
      const e = mem.wasm!;
      return (inputs, out) => e.maxpool(inputs[0]!.byteOffset, out.byteOffset, planes, inPlane * 4, outPlane, startOff, tapsOff);
    },
  };
}

/** The 2×2, stride 2, unpadded max pool (kernels-extra.ts `maxpool2`). */
export function simdMaxpool2(planes: number, h: number, w: number, oh: number, ow: number): PreparedOp {
  return {
    bind: (mem): Runner => {
      const e = mem.wasm!;
      return (inputs, out) => e.maxpool2(inputs[0]!.byteOffset, out.byteOffset, planes, h, w, oh, ow);
    },
  };
}
