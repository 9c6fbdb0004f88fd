/**
 * Fully connected layer: rows of the input's last axis (K) times weight rows [N, K]:
 *
 *   acc[r, n] = bias[n] + Σ_k (x[r, k] − inputZero) · w[n, k]
 *
 * over r = every sample and leading index. The SIMD engine (wasm/dense.ts)
 * takes it when the operands fit int16 (and, under assertRanges, when no
 * accumulator can wrap); otherwise the exact double GEMM of gemm-js.ts runs.
 */
import { isWideValue, sampleSize } from "../../../integer/program.js";
import type { Kernel } from "../kernel.js";
import { simdDense } from "../wasm/dense.js";
import { gemmJs } from "./gemm-js.js";
import { accumulatorsFitInt32, checkWideExact, operandFitsInt16, weightsFitInt16 } from "./operands.js";

export const denseKernel: Kernel<"dense"> = (op, ctx) => {
  const is = ctx.value(op.input).shape;
  const os = ctx.value(op.output).shape;
  const K = op.inFeatures;
  const N = op.outFeatures;
  const bad = (why: string) => new Error(`${op.source}: ${why}`);
  if (is[is.length - 1] !== K || os[os.length - 1] !== N) throw bad(`dense ${K} → ${N} does not match [${is}] → [${os}]`);
  if (sampleSize(is) / K !== sampleSize(os) / N) throw bad(`dense rows differ: [${is}] → [${os}]`);
  if (op.weight.length !== N * K) throw bad(`weight has ${op.weight.length} elements, not ${N}·${K}`);
  if (op.bias && op.bias.length !== N) throw bad(`bias has ${op.bias.length} elements, not ${N}`);
  const R = (ctx.batch * sampleSize(is)) / K;
  const input = ctx.value(op.input);
  const wide = isWideValue(ctx.value(op.output));
  if (wide) checkWideExact(op.source, input, op.inputZero, op.weight, K, op.bias);
  // with assertRanges, SIMD (wrapping) results are used only where no accumulator can wrap; int64 accumulators take the exact doubles
  const simd = !wide && ctx.simd && (!ctx.range || accumulatorsFitInt32(input, op.inputZero, op.weight, K, op.bias));
  if (simd && operandFitsInt16(input, op.inputZero) && weightsFitInt16(op.weight)) {
    const gemm = simdDense(op, R, ctx);
    if (gemm) return gemm;
  }
  const weight = Float64Array.from(op.weight);
  const bias = new Float64Array(N);
  if (op.bias) bias.set(op.bias);
  const a = new Float64Array(R * K);
  const z = op.inputZero;
  const range = ctx.range;
  return {
    bind: () => (inputs, out) => {
      const x = inputs[0]!;
      for (let i = 0; i < R * K; i++) a[i] = x[i]! - z;
      gemmJs(a, weight, bias, { P: R, M: N, K }, out as Int32Array | Float64Array, 0, 1, N, range, op.source);
    },
  };
};
