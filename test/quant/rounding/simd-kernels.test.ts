/**
 * The WebAssembly SIMD kernels against the scalar loops they stand for, bit
 * for bit: the 4×4 tile s −= a_r[t]·b_c[t] in ascending t (from a packed b),
 * and GPTQ's rank-1 update w_r[j] −= e_r·u[j], with zeros of both signs and
 * ragged lengths.
 */
import { describe, expect, it } from "vitest";
import { SimdArena } from "../../../src/quant/rounding/simd-kernels.js";
import { seededRandom } from "../../../src/util/random.js";

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

describe("SIMD kernels", () => {
  it.each([
    [0, 1],
    [3, 10],
    [0, 37],
  ])("tile equals four-by-four scalar running sums (t from %i to %i)", (t0, t1) => {
    const rnd = seededRandom(t1);
    const pick = () => (rnd() < 0.2 ? (rnd() < 0.5 ? 0 : -0) : rnd() - 0.5);
    const n = 40;
    const arena = SimdArena.open([6 * n, 4 * n]);
    const [a, packed] = arena.arrays as [Float64Array, Float64Array];
    for (let i = 0; i < a.length; i++) a[i] = pick();
    const b = Array.from({ length: 4 }, () => Float64Array.from({ length: n }, pick));
    for (let t = 0; t < n; t++) for (let c = 0; c < 4; c++) packed[4 * t + c] = b[c]![t]!;
    const start = Array.from({ length: 16 }, (_, i) => (i === 5 ? -0 : i === 6 ? 0 : pick()));
    arena.acc.set(start);
    const rows = [2 * n, 0, 5 * n, 3 * n];
    arena.tile(a, rows[0]!, rows[1]!, rows[2]!, rows[3]!, packed, 0, t0, t1);
    const want = start.slice();
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let t = t0; t < t1; t++) want[r * 4 + c] -= a[rows[r]! + t]! * b[c]![t]!;
    expect(sameBits(arena.acc, want)).toBe(true);
  });

  it.each([
    [5, 0],
    [3, 1],
    [7, 6],
  ])("rank1 equals w_r[j] −= e_r·u[j] over %i rows and 2·%i columns, leaving the rest alone", (rows, pairs) => {
    const rnd = seededRandom(rows * 10 + pairs);
    const pick = () => (rnd() < 0.2 ? (rnd() < 0.5 ? 0 : -0) : rnd() - 0.5);
    const k = 2 * pairs + 5;
    const arena = SimdArena.open([rows * k, rows * 3, 2 * pairs]);
    const [w, e, u] = arena.arrays as [Float64Array, Float64Array, Float64Array];
    for (let i = 0; i < w.length; i++) w[i] = pick();
    for (let i = 0; i < e.length; i++) e[i] = pick();
    for (let i = 0; i < u.length; i++) u[i] = pick();
    const want = Array.from(w);
    // Columns 2 … 2 + 2·pairs − 1 of each row, e_r at e[1 + 3r].
    for (let r = 0; r < rows; r++) for (let j = 0; j < 2 * pairs; j++) want[r * k + 2 + j] -= e[1 + 3 * r]! * u[j]!;
    arena.rank1(w, 2, k, e, 1, 3, u, rows, pairs);
    expect(sameBits(w, want)).toBe(true);
  });
});
