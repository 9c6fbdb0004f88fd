import { describe, expect, it } from "vitest";
import { rescale, rescaleArrays, rshr } from "../../../src/numerics/rescale.js";
import { Rng } from "../../helpers/prng.js";
import { refRshr } from "./reference.js";

/** The definition with BigInt: clamp(outZero + rshr(Σ (x_i − z_i)·m_i, s), lo, hi). */
function ref(xs: number[], zs: number[], ms: number[], s: number, oz: number, lo: number, hi: number): number {
  let acc = 0n;
  xs.forEach((x, i) => {
    acc += BigInt(x - zs[i]!) * BigInt(ms[i]!);
  });
  const y = BigInt(oz) + refRshr(acc, s);
  return Number(y < BigInt(lo) ? BigInt(lo) : y > BigInt(hi) ? BigInt(hi) : y);
}

describe("numerics rescale", () => {
  it("rescale and rescaleArrays equal the BigInt definition, ties included", () => {
    const rng = new Rng(71);
    for (let t = 0; t < 300; t++) {
      const k = rng.range(1, 5);
      const shift = rng.pick([0, 1, rng.range(2, 52)]);
      const zs = Array.from({ length: k }, () => rng.range(-40000, 70000));
      const ms = Array.from({ length: k }, () => rng.range(0, 2 ** 31 - 1));
      const n = 17;
      const inputs = Array.from({ length: k }, (_, i) =>
        Int32Array.from({ length: n }, () => {
          // keep |x − z| ≤ 2^17 - 1 and the term below 2^48
          const dmax = Math.min(2 ** 17 - 1, Math.floor((2 ** 48 - 1) / Math.max(1, ms[i]!)));
          return zs[i]! + rng.range(-dmax, dmax);
        }),
      );
      if (k === 1 && shift >= 1 && shift <= 16) {
        // a tie: (x − z)·m = ±(odd)·2^(shift−1) with m = 1
        ms[0] = 1;
        inputs[0]![0] = zs[0]! + (rng.chance(0.5) ? 1 : -1) * (2 * rng.range(0, 1) + 1) * 2 ** (shift - 1);
      }
      const oz = rng.range(-200, 200);
      const [lo, hi] = rng.chance(0.5) ? [-(2 ** 31), 2 ** 31 - 1] : [rng.range(-300, 0), rng.range(0, 300)];
      const out = rescaleArrays(inputs, zs, ms, shift, oz, lo, hi);
      for (let j = 0; j < n; j++) {
        const xs = inputs.map((x) => x[j]!);
        const r = ref(xs, zs, ms, shift, oz, lo, hi);
        expect(rescale(xs, zs, ms, shift, oz, lo, hi)).toBe(r);
        expect(out[j]).toBe(r);
      }
    }
  });

  it("rshr rounds half toward +∞", () => {
    expect([rshr(5, 1), rshr(-5, 1), rshr(-6, 2), rshr(6, 2), rshr(7, 0)]).toEqual([3, -2, -1, 2, 7]);
  });

  it("rejects terms of 2^48, too many inputs, bad shifts and multipliers", () => {
    expect(() => rescale([2 ** 17 + 1], [0], [2 ** 31 - 1], 3, 0, -9, 9)).toThrow(/2\^48/);
    expect(() => rescaleArrays([Int32Array.from([0, 2 ** 30])], [0], [2 ** 20], 3, 0, -9, 9)).toThrow(/2\^48/);
    expect(() => rescale(new Array(17).fill(0), new Array(17).fill(0), new Array(17).fill(1), 0, 0, 0, 1)).toThrow(/inputs/);
    expect(() => rescale([1], [0], [1], 53, 0, 0, 1)).toThrow(/shift/);
    expect(() => rescale([1], [0], [2 ** 31], 1, 0, 0, 1)).toThrow(/multiplier/);
    expect(() => rescale([1], [0], [1.5], 1, 0, 0, 1)).toThrow(/multiplier/);
  });
});
