/**
 * Requant in WebAssembly. Single rounding (kernels-requant.ts): when every
 * multiplier has 0 ≤ m < 2^31 and 1 ≤ s ≤ 62 (m = 0 is stored as (0, 1),
 * which also gives 0) and the clamp bounds minus the zero point fit int32;
 * channels with m ≥ 2^s (a multiplier ≥ 1) are flagged `wide` and clamped in
 * 64-bit lanes. Double rounding (kernels-requant-double.ts): when every
 * multiplier has 0 < m < 2^31 and 31 ≤ s ≤ 62 (no left shift); others, which
 * numerics may reject, stay on numerics. Its result equals numerics' requantize (the emulator tests
 * compare both engines with an independent reference).
 */
import type { RequantOp } from "../../../integer/program.js";
import type { Dyadic, RequantRounding } from "../../../numerics/requant.js";
import type { KernelContext, PreparedOp } from "../kernel.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function qualifies(d: Dyadic): boolean {
  if (d.m === 0) return true;
  return Number.isInteger(d.m) && d.m > 0 && d.m < 2 ** 31 && Number.isInteger(d.s) && d.s >= 1 && d.s <= 62;
}

/** Double rounding without a left shift: 0 < m < 2^31, 31 ≤ s ≤ 62 (kernels-requant-double.ts). */
function qualifiesDouble(d: Dyadic): boolean {
  return Number.isInteger(d.m) && d.m > 0 && d.m < 2 ** 31 && Number.isInteger(d.s) && d.s >= 31 && d.s <= 62;
}

export function simdRequantSupported(ms: readonly Dyadic[], rounding: RequantRounding): boolean {
  return rounding === "single" ? ms.every(qualifies) : ms.every(qualifiesDouble);
}

export function simdRequant(op: RequantOp, rows: number, channels: number, inner: number, ctx: KernelContext): PreparedOp | undefined {
  const ms = op.multipliers;
  const lo = op.clampLo - op.outZero;
  const hi = op.clampHi - op.outZero;
  if (!simdRequantSupported(ms, ctx.program.rounding) || op.clampLo > op.clampHi || lo < INT32_MIN || hi > INT32_MAX) return undefined;
  if (!Number.isSafeInteger(op.outZero) || op.outZero < INT32_MIN || op.outZero > INT32_MAX) return undefined;
  const double = ctx.program.rounding === "double";
  const table = new Int32Array(4 * channels);
  ms.forEach((d, c) => {
    table[4 * c] = d.m;
    if (double) {
      table[4 * c + 1] = d.s - 31;
      return;
    }
    table[4 * c + 1] = d.m === 0 ? 1 : d.s;
    table[4 * c + 2] = d.m !== 0 && d.m >= 2 ** d.s ? 1 : 0;
  });
  const off = ctx.reserve(table.byteLength);
  return {
    bind: (mem) => {
      new Int32Array(mem.buffer, off, table.length).set(table);
      const w = mem.wasm!;
      const run = double ? w.requantDouble : w.requant;
      return (inputs, out) => run(inputs[0]!.byteOffset, out.byteOffset, off, rows, channels, inner, op.outZero, lo, hi);
    },
  };
}
