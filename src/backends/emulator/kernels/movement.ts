/**
 * Data movement: reshape (the output shares the input's buffer), transpose of
 * the per-sample axes (one index map per sample, built once), and concat
 * along a per-sample axis (contiguous block copies).
 */
import { sampleSize } from "../../../integer/program.js";
import { permutationSources } from "../../../numerics/permute.js";
import type { Kernel } from "../kernel.js";
import { plain } from "../kernel.js";

export const reshapeKernel: Kernel<"reshape"> = (op, ctx) => {
  const n = sampleSize(ctx.value(op.input).shape);
  const m = sampleSize(ctx.value(op.output).shape);
  if (n !== m) throw new Error(`${op.source}: reshape of ${n} elements into ${m}`);
  return { alias: true, bind: () => () => {} };
};

export const transposeKernel: Kernel<"transpose"> = (op, ctx) => {
  const inShape = ctx.value(op.input).shape;
  const outShape = ctx.value(op.output).shape;
  const perm = op.perm;
  const rank = inShape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) throw new Error(`${op.source}: bad permutation [${perm}] of rank ${rank}`);
  for (let i = 0; i < rank; i++) {
    if (outShape[i] !== inShape[perm[i]!]) throw new Error(`${op.source}: transpose output shape [${outShape}] is not [${inShape}] permuted by [${perm}]`);
  }
  const size = sampleSize(inShape);
  // map[j] = input index of output element j (within one sample)
  const map = permutationSources(inShape, perm);
  const batch = ctx.batch;
  return plain((inputs, out) => {
    const x = inputs[0]!;
    for (let b = 0; b < batch; b++) {
      const o = b * size;
      for (let j = 0; j < size; j++) out[o + j] = x[o + map[j]!]!;
    }
  });
};

export const concatKernel: Kernel<"concat"> = (op, ctx) => {
  const outShape = ctx.value(op.output).shape;
  const axis = op.axis;
  if (axis < 0 || axis >= outShape.length) throw new Error(`${op.source}: concat axis ${axis} out of range for rank ${outShape.length}`);
  const outer = sampleSize(outShape.slice(0, axis));
  const inner = sampleSize(outShape.slice(axis + 1));
  const chunks = op.inputs.map((name) => {
    const s = ctx.value(name).shape;
    if (s.length !== outShape.length || s.some((d, i) => i !== axis && d !== outShape[i])) {
      throw new Error(`${op.source}: concat input '${name}' [${s}] does not match output [${outShape}] off axis ${axis}`);
    }
    return s[axis]! * inner;
  });
  const total = chunks.reduce((a, b) => a + b, 0);
  if (total !== outShape[axis]! * inner) throw new Error(`${op.source}: concat inputs sum to ${total / inner} along axis ${axis}, output has ${outShape[axis]}`);
  const rows = ctx.batch * outer;
  return plain((inputs, out) => {
    let o = 0;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!;
        const x = inputs[i]! as Int32Array;
        (out as Int32Array).set(x.subarray(r * c, r * c + c), o);
        o += c;
      }
    }
  });
};
