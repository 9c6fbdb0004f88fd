/**
 * The transformer ops (matmul and mul of two activations, table, softmax, layernorm,
 * addconst): each calls its one definition in numerics/transformer.ts over the
 * whole batch. With assertRanges, matmul and mul sum into doubles and checks each
 * before storing it (an int32 store would wrap an overflow out of sight).
 */
import { sampleSize } from "../../../integer/program.js";
import { addConstKernel, layerNormKernel, matmulKernel, mulKernel, softmaxKernel, tableKernel } from "../../../numerics/transformer.js";
import type { Kernel } from "../kernel.js";
import { plain } from "../kernel.js";

export const matmulKernelOp: Kernel<"matmul"> = (op, ctx) => {
  const a = ctx.value(op.inputs[0]).shape;
  const b = ctx.value(op.inputs[1]).shape;
  const y = ctx.value(op.output).shape;
  const r = a.length;
  if (r < 2 || b.length !== r || y.length !== r || a[r - 1] !== b[r - 2] || a.slice(0, r - 2).some((d, i) => d !== b[i] || d !== y[i])) {
    throw new Error(`${op.source}: matmul of [${a}] and [${b}] into [${y}]`);
  }
  const [M, K, N] = [a[r - 2]!, a[r - 1]!, b[r - 1]!];
  const rows = ctx.batch * sampleSize(a.slice(0, r - 2));
  const [za, zb] = op.inputZeros;
  return checkedAcc(ctx, rows * M * N, (inputs, acc) => matmulKernel(inputs[0]!, za, inputs[1]!, zb, acc, rows, M, K, N));
};

/** Runs `compute` into the int32 output; with assertRanges, into doubles first, checking every value before the int32 store could wrap it. */
function checkedAcc(ctx: Parameters<Kernel>[1], size: number, compute: (inputs: readonly ArrayLike<number>[], acc: Int32Array | Float64Array) => void) {
  const range = ctx.range;
  if (!range) return plain((inputs, out) => compute(inputs, out as Int32Array));
  const exact = new Float64Array(size);
  return plain((inputs, out) => {
    compute(inputs, exact);
    for (let i = 0; i < exact.length; i++) {
      const v = exact[i]!;
      if (v < range.lo || v > range.hi) range.fail(i, v);
      out[i] = v;
    }
  });
}

export const mulKernelOp: Kernel<"mul"> = (op, ctx) => {
  const a = ctx.value(op.inputs[0]).shape;
  const b = ctx.value(op.inputs[1]).shape;
  const y = ctx.value(op.output).shape;
  if (a.length !== y.length || b.length !== y.length || y.some((d, i) => (a[i] !== d && a[i] !== 1) || (b[i] !== d && b[i] !== 1))) {
    throw new Error(`${op.source}: mul of [${a}] and [${b}] into [${y}]`);
  }
  const [za, zb] = op.inputZeros;
  const batch = ctx.batch;
  return checkedAcc(ctx, batch * sampleSize(y), (inputs, acc) => mulKernel(inputs[0]!, za, inputs[1]!, zb, acc, batch, y, a, b));
};

export const tableKernelOp: Kernel<"table"> = (op) => plain((inputs, out) => tableKernel(inputs[0]!, out as Int32Array, op.table, op.inputMin));

/** The length of the last axis of the op's input. */
function lastAxis(ctx: Parameters<Kernel>[1], input: string): number {
  const s = ctx.value(input).shape;
  return s[s.length - 1]!;
}

export const softmaxKernelOp: Kernel<"softmax"> = (op, ctx) => {
  const L = lastAxis(ctx, op.input);
  return plain((inputs, out) => softmaxKernel(inputs[0]!, out as Int32Array, L, op.exp, op.numerator, op.shift, op.outZero, op.clampLo, op.clampHi, inputs[1] ?? null));
};

export const layerNormKernelOp: Kernel<"layernorm"> = (op, ctx) => {
  const C = lastAxis(ctx, op.input);
  return plain((inputs, out) =>
    layerNormKernel(inputs[0]!, out as Int32Array, C, op.gamma, op.beta, op.varShift, op.fracBits, op.epsilon, op.outZero, op.clampLo, op.clampHi, op.rmsZero ?? null),
  );
};

export const addConstKernelOp: Kernel<"addconst"> = (op) =>
  plain((inputs, out) => addConstKernel(inputs[0]!, out as Int32Array, op.inputZero, op.multiplier, op.offset, op.shift, op.outZero, op.clampLo, op.clampHi));
