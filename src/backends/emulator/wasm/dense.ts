/**
 * Dense on the SIMD engine: all rows of the batch in one GEMM, the packed
 * operand A[kp][r][t] = x[r, 2·kp + t] − inputZero (module.ts `im2col` with a
 * row-major gather), outputs stored row-major [R, N] (stride N per row).
 */
import type { DenseOp } from "../../../integer/program.js";
import type { KernelContext, PreparedOp } from "../kernel.js";
import { gemmPlan, packGather, packWeights } from "./pack.js";

export function simdDense(op: DenseOp, R: number, ctx: KernelContext): PreparedOp | undefined {
  const K = op.inFeatures;
  const N = op.outFeatures;
  const plan = gemmPlan(K, R, N);
  const { KP, P8, OB } = plan;
  const gather = packGather(K, R, plan, (r, k) => r * K + k);
  const weights = packWeights(op.weight, 0, N, K, plan);
  const bias = new Int32Array(N);
  if (op.bias) bias.set(op.bias);
  const gatherOff = ctx.reserve(gather.byteLength);
  const weightOff = ctx.reserve(weights.byteLength);
  const biasOff = ctx.reserve(bias.byteLength);
  ctx.scratch(KP * P8 * 4);
  const z = op.inputZero;
  return {
    bind: (mem) => {
      new Int32Array(mem.buffer, gatherOff, gather.length).set(gather);
      new Int16Array(mem.buffer, weightOff, weights.length).set(weights);
      new Int32Array(mem.buffer, biasOff, N).set(bias);
      const e = mem.wasm!;
      const aOff = mem.scratch;
      return (inputs, out) => {
        e.im2col(inputs[0]!.byteOffset, z, gatherOff, gather.length, aOff);
        e.gemm(aOff, weightOff, biasOff, out.byteOffset, KP, P8, R, OB, N, 4, N * 4);
      };
    },
  };
}
