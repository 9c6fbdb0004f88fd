/**
 * The grid of every weight element as its spec fixes it: for int specs
 * (per channel with zero points, per block) and the float block formats
 * (MXFP4, NVFP4), the nearest code agrees with the writer's own encoder
 * (weights.ts) and its value with DequantizeLinear's; the codes below and
 * above bracket the weight.
 */
import { describe, expect, it } from "vitest";
import { intFormat, type QuantSpec } from "../../../src/ir/quant.js";
import { mxFormat, mxLayout, mxScales } from "../../../src/numerics/mx.js";
import { quantizeNvfp4 } from "../../../src/numerics/nvfp4.js";
import { weightGrid } from "../../../src/quant/rounding/weight-grid.js";
import { dequantizeWithSpec, quantizeWithSpec } from "../../../src/quant/weights.js";
import { seededRandom } from "../../../src/util/random.js";

const dims = [4, 64];
const rnd = seededRandom(21);
const w = Float64Array.from({ length: 256 }, () => (rnd() * 2 - 1) * (1 + rnd() * 3));
const x = Float32Array.from(w);

const specs: Record<string, QuantSpec> = {
  "uint4 per channel (zero points)": { kind: "affine", format: intFormat("uint4"), scale: Float32Array.of(0.5, 0.3, 0.25, 0.6), zeroPoint: Int32Array.of(8, 7, 9, 6), axis: 0 },
  "int4 per-block:16": { kind: "block", format: intFormat("int4", { symmetric: true }), axis: 1, blockSize: 16, dims: [4, 4], scale: Float32Array.from({ length: 16 }, (_, k) => 0.3 + k / 40), zeroPoint: new Int32Array(16) },
  mxfp4: { kind: "mx", format: mxFormat("mxfp4"), view: dims, axis: 1, blockSize: 32, scales: mxScales(mxFormat("mxfp4"), x, mxLayout(dims, 1)) },
  nvfp4: (() => {
    const t = quantizeNvfp4(x, dims, 1);
    return { kind: "nvfp4", view: dims, axis: 1, blockSize: t.layout.blockSize, tensorScale: t.tensorScale, blockScales: t.blockScales } as QuantSpec;
  })(),
};

describe("weightGrid", () => {
  it.each(Object.keys(specs))("%s: nearest, its value, and the bracketing codes agree with the writer's quantizer", (name) => {
    const spec = specs[name]!;
    const grid = weightGrid(dims, spec);
    const codes = quantizeWithSpec(w, dims, spec);
    const values = dequantizeWithSpec(codes, dims, spec);
    let same = 0;
    w.forEach((v, i) => {
      const q = grid.nearest(i, v);
      // Ties may go either way; the distance must be the same.
      expect(Math.abs(grid.value(i, q) - v)).toBeCloseTo(Math.abs(values[i]! - v), 5);
      // FP4's −0 and +0 are one value: count values, not codes.
      if (grid.value(i, q) === grid.value(i, codes[i]!)) same++;
      expect(grid.value(i, codes[i]!)).toBeCloseTo(values[i]!, 6);
      const lo = grid.value(i, grid.below(i, v));
      const hi = grid.value(i, grid.above(i, v));
      expect(lo).toBeLessThanOrEqual(hi);
      const inside = v >= grid.value(i, grid.below(i, -1e9)) && v <= grid.value(i, grid.above(i, 1e9));
      if (inside) {
        expect(lo).toBeLessThanOrEqual(v + 1e-7);
        expect(hi).toBeGreaterThanOrEqual(v - 1e-7);
      }
    });
    expect(same).toBeGreaterThan(250);
  });

  it("MXFP4: the E2M1 neighbours of hand-picked weights, at the grid's top (6·X), around zero and across a block boundary", () => {
    // Block 0 (elements 0–31): amax 3.5, X = 2^(⌊log2 3.5⌋ − 2) = 0.5, values 0, ±0.25, ±0.5, ±0.75, ±1, ±1.5, ±2, ±3.
    // Block 1 (elements 32–63): amax 7, X = 1, values 0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6.
    const cases: [number, number, number, number, number][] = [
      // element, weight, below, above, nearest (values)
      [0, 3.5, 3, 3, 3], // past the top 3 = 6·X: both neighbours are the top
      [1, -3.2, -3, -3, -3],
      [2, 2.6, 2, 3, 3],
      [3, 1.2, 1, 1.5, 1],
      [4, 0.1, 0, 0.25, 0],
      [5, -0.1, -0.25, 0, 0],
      [6, 0, 0, 0, 0],
      [7, 0.75, 0.75, 0.75, 0.75], // on the grid: one value
      [8, 0.3, 0.25, 0.5, 0.25],
      [31, -1.9, -2, -1.5, -2], // last element of block 0
      [32, 7, 6, 6, 6], // first of block 1: its own scale
      [33, 5, 4, 6, 4], // the widest interval, 2·X
      [34, -0.2, -0.5, 0, 0],
      [35, 0.3, 0, 0.5, 0.5],
      [63, -4.9, -6, -4, -4],
    ];
    const x = new Float32Array(64);
    for (const [i, v] of cases) x[i] = v;
    const dims2 = [1, 64];
    const grid = weightGrid(dims2, { kind: "mx", format: mxFormat("mxfp4"), view: dims2, axis: 1, blockSize: 32, scales: mxScales(mxFormat("mxfp4"), x, mxLayout(dims2, 1)) });
    // +0 for FP4's −0: one value.
    const val = (i: number, c: number) => grid.value(i, c) + 0;
    for (const [i, v, below, above, nearest] of cases) {
      expect([val(i, grid.below(i, v)), val(i, grid.above(i, v)), val(i, grid.nearest(i, v))]).toEqual([below, above, nearest]);
    }
  });
});
