import { describe, expect, it } from "vitest";
import { permutationSources } from "../../src/numerics/permute.js";

describe("permutationSources", () => {
  it("a 2×3 matrix transposed reads columns (hand-computed)", () => {
    // x = [[0,1,2],[3,4,5]]; xᵀ = [[0,3],[1,4],[2,5]]
    expect([...permutationSources([2, 3], [1, 0])]).toEqual([0, 3, 1, 4, 2, 5]);
  });
  it("the identity permutation reads in order; rank 0 reads the one element", () => {
    expect([...permutationSources([2, 2, 2], [0, 1, 2])]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...permutationSources([], [])]).toEqual([0]);
  });
  it("a 2×3×4 tensor moved to [4, 2, 3] agrees with direct indexing", () => {
    const map = permutationSources([2, 3, 4], [2, 0, 1]);
    const got: number[] = [];
    for (let k = 0; k < 4; k++) for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) got.push(i * 12 + j * 4 + k);
    expect([...map]).toEqual(got);
  });
});
