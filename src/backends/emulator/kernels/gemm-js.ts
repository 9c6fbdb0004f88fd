/**
 * The exact integer GEMM of the JS engine, in doubles:
 *
 *   out[m·so + p·sp] = bias[m] + Σ_k a[p·K + k] · w[m·K + k]
 *
 * a holds (x − inputZero) rows (an im2col of a conv, or dense inputs), w the
 * weight rows. |a| ≤ 2^17 and |w| < 2^31 would bound a term by 2^48; the
 * program's integers are narrower (|a| ≤ 65535, |w| < 2^16), so every
 * partial sum is an integer far below 2^53 and exact. The result is checked
 * against `range` (assertRanges) and against int32 before it is stored, so a
 * wrap can never hide. A widened int64 accumulator (Float64Array `out`) is
 * checked against ±2^53 instead (its kernel proved the sums stay below).
 */
import { INT32_MAX, INT32_MIN } from "../../../numerics/requant.js";
import type { CheckedRange } from "../kernel.js";

export interface GemmShape {
  readonly P: number;
  readonly M: number;
  readonly K: number;
}

export function gemmJs(
  a: Float64Array,
  w: Float64Array,
  bias: Float64Array,
  { P, M, K }: GemmShape,
  out: Int32Array | Float64Array,
  outBase: number,
  so: number,
  sp: number,
  range: CheckedRange | undefined,
  source: string,
): void {
  const wide = out instanceof Float64Array;
  const lo = range ? range.lo : wide ? -(2 ** 53) : INT32_MIN;
  const hi = range ? range.hi : wide ? 2 ** 53 : INT32_MAX;
  const store = (m: number, p: number, v: number) => {
    const i = outBase + m * so + p * sp;
    if (v < lo || v > hi) {
      if (range) range.fail(i, v);
      throw new Error(`${source}: accumulator ${v} at element ${i} leaves ${wide ? "the exact double range" : "int32"}`);
    }
    out[i] = v;
  };
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const w0 = m * K;
    const w1 = w0 + K;
    const w2 = w1 + K;
    const w3 = w2 + K;
    for (let p = 0; p < P; p++) {
      const ab = p * K;
      let s0 = bias[m]!;
      let s1 = bias[m + 1]!;
      let s2 = bias[m + 2]!;
      let s3 = bias[m + 3]!;
      for (let k = 0; k < K; k++) {
        const x = a[ab + k]!;
        s0 += x * w[w0 + k]!;
        s1 += x * w[w1 + k]!;
        s2 += x * w[w2 + k]!;
        s3 += x * w[w3 + k]!;
      }
      store(m, p, s0);
      store(m + 1, p, s1);
      store(m + 2, p, s2);
      store(m + 3, p, s3);
    }
  }
  for (; m < M; m++) {
    const w0 = m * K;
    for (let p = 0; p < P; p++) {
      const ab = p * K;
      let s0 = bias[m]!;
      for (let k = 0; k < K; k++) s0 += a[ab + k]! * w[w0 + k]!;
      store(m, p, s0);
    }
  }
}
