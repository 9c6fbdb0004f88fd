/** Small reconstruction problems for the rounding tests: random weights, a Gram matrix from random inputs, an int grid per row. */
import { intFormat, type IntQuantSpec } from "../../../src/ir/quant.js";
import type { GroupProblem } from "../../../src/quant/rounding/problem.js";
import { weightGrid } from "../../../src/quant/rounding/weight-grid.js";
import { seededRandom } from "../../../src/util/random.js";

/** R×K weights, symmetric `bits`-bit codes per row (scale max|w|/qmax), H from N random post-ReLU-like inputs x_j = max(0, z_j + c), c shared by the features of one input (correlated, nonzero mean, as activations are). */
export function randomProblem(seed: number, rows: number, cols: number, columns: number, bits = 3): GroupProblem {
  const rnd = seededRandom(seed);
  const w = Float64Array.from({ length: rows * cols }, () => rnd() * 2 - 1);
  const h = new Float64Array(cols * cols);
  const x = new Float64Array(cols);
  for (let n = 0; n < columns; n++) {
    const c = rnd() * 2;
    for (let j = 0; j < cols; j++) x[j] = Math.max(0, rnd() * 2 - 1 + c);
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) h[i * cols + j] += x[i]! * x[j]!;
  }
  const format = intFormat("int8", { valueBits: bits, symmetric: true });
  const scale = Float32Array.from({ length: rows }, (_, r) => {
    let m = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(w[r * cols + c]!));
    return m / format.qmax;
  });
  const spec: IntQuantSpec = { kind: "affine", format, scale, zeroPoint: new Int32Array(rows), axis: 0 };
  return { rows, cols, w, h, columns, grid: weightGrid([rows, cols], spec), index: Int32Array.from({ length: rows * cols }, (_, k) => k) };
}

/** Nearest codes of a problem. */
export function nearestOf(p: GroupProblem): Int32Array {
  return Int32Array.from(p.w, (v, k) => p.grid.nearest(p.index[k]!, v));
}
