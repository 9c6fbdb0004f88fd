/** numerics/gather.ts: the gather and slice kernels, and GatherBlockQuantized's dequantization, against hand-worked cases. */
import { describe, expect, it } from "vitest";
import { blockDequantizeRows, gatherKernel, sliceKernel } from "../../src/numerics/gather.js";

describe("index kernels", () => {
  it("gather copies rows, wraps −rows … −1, and refuses the rest", () => {
    const table = Int32Array.of(1, 2, 3, 4, 5, 6); // 3 rows of 2
    const y = new Int32Array(6);
    gatherKernel([2, -3, -1], y, table, 3, 2);
    expect(Array.from(y)).toEqual([5, 6, 1, 2, 5, 6]);
    expect(() => gatherKernel([3], new Int32Array(2), table, 3, 2)).toThrow(/index 3 is outside \[-3, 3\)/);
    expect(() => gatherKernel([-4], new Int32Array(2), table, 3, 2)).toThrow(/outside/);
  });

  it("slice keeps rows start … end − 1 of every block", () => {
    // 2 blocks of 3 rows of 2
    const x = Int32Array.from({ length: 12 }, (_, i) => i);
    const y = new Int32Array(4);
    sliceKernel(x, y, 2, 3, 2, 1, 2);
    expect(Array.from(y)).toEqual([2, 3, 8, 9]);
  });

  it("GatherBlockQuantized dequantizes each block with its own scale and zero point, in float32", () => {
    // 1 row of 4, blocks of 2: (u − z)·s
    const w = blockDequantizeRows([130, 120, 0, 255], [128, 100], [0.1, 0.5], 1, 4, 2);
    expect(Array.from(w)).toEqual([Math.fround(2 * Math.fround(0.1)), Math.fround(-8 * Math.fround(0.1)), -50, 77.5]);
  });
});
