import { describe, expect, it } from "vitest";
import { ranks, spearman } from "../../src/eval/rank-correlation.js";

describe("Spearman's rank correlation", () => {
  it("averages the ranks of ties", () => {
    expect(ranks([10, 30, 20, 30])).toEqual([0, 2.5, 1, 2.5]);
  });
  it("is ±1 for monotone relations, and the textbook value otherwise", () => {
    expect(spearman([1, 2, 3, 4], [10, 100, 1000, 1e4])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // d = rank differences (0, −1, 1, 0, 0): ρ = 1 − 6·Σd²/(n(n²−1)) = 1 − 12/120 = 0.9
    expect(spearman([1, 2, 3, 4, 5], [1, 3, 2, 4, 5])).toBeCloseTo(0.9, 12);
  });
});
