import { describe, expect, it } from "vitest";
import { blockLayout } from "../../src/numerics/groups.js";
import { clippedGroupParams, clippedParams, groupSquaredError } from "../../src/numerics/int-group-clip.js";
import { type IntRange, intGroupParams } from "../../src/numerics/int-group.js";

const INT4: IntRange = { signed: true, qmin: -7, qmax: 7 };
const INT4_FULL: IntRange = { signed: true, qmin: -8, qmax: 7, fullGrid: true };

describe("clipped group scales", () => {
  it("picks the shrink of minimal squared error on a hand-computed block", () => {
    // [7, 3.5 ×6], int4 [−7, 7]: min-max s = 1 puts 3.5 on a tie (→ 4), error 6 · 0.5² = 1.5.
    // With s = α (α ∈ (7/9, 1)): 7 clips to 7α, 3.5 rounds to 4:
    //   E(α) = 49(1 − α)² + 6(3.5 − 4α)²,  minimum at α = 266/290 ≈ 0.917;
    //   on the 1/100 grid E(0.91) = 0.5145, E(0.92) = 0.5080, E(0.93) = 0.5305.
    const block = [7, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5];
    const p = clippedParams(block, INT4, true);
    expect(p.shrink).toBe(0.92);
    expect(p.scale).toBeCloseTo(0.92, 6);
    expect(p.zeroPoint).toBe(0);
    expect(groupSquaredError(block, p.scale, 0, INT4)).toBeCloseTo(0.508, 4);
    expect(groupSquaredError(block, 1, 0, INT4)).toBeCloseTo(1.5, 9);
  });

  it("keeps the min-max scale when nothing smaller is strictly better", () => {
    // Every value already on the min-max grid (s = 1): error 0, no shrink can beat it.
    const p = clippedParams([-7, -3, 0, 2, 5, 7], INT4, true);
    expect(p).toEqual({ scale: 1, zeroPoint: 0, shrink: 1 });
    expect(clippedParams([0, 0, 0], INT4, true)).toEqual({ scale: 1, zeroPoint: 0, shrink: 1 });
  });

  it("shrinks the full grid's negative scale too (the extreme stays on −8)", () => {
    // [8, 4 ×6] on the full grid: min-max s = 8/−8 = −1, 4 is exact. Error 0: kept.
    expect(clippedParams([8, 4, 4, 4, 4, 4, 4], INT4_FULL, true).scale).toBe(-1);
    // [8, 3.5 ×6]: s = −1 ties 3.5 to −4 (error 6 · 0.5² = 1.5); a smaller |s| puts 3.5 nearer a code.
    const p = clippedParams([8, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5], INT4_FULL, true);
    expect(p.scale).toBeLessThan(0);
    expect(p.shrink).toBeLessThan(1);
    expect(groupSquaredError([8, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5], p.scale, 0, INT4_FULL)).toBeLessThan(1.5);
  });

  it("searches each block of a tensor on its own", () => {
    // Two blocks of 7 along axis 0 of a [14, 1] weight: the first as above, the second already on its grid.
    const values = [7, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, -7, -3, 0, 2, 5, 7, 1];
    const { scale, zeroPoint } = clippedGroupParams(values, blockLayout([14, 1], 0, 7), INT4);
    expect(Array.from(scale)).toEqual([Math.fround(Math.fround(0.92 * 7) / 7), 1]);
    expect(Array.from(zeroPoint)).toEqual([0, 0]);
  });
});

describe("clipped group scales against min-max", () => {
  it("never reconstruct a block worse than min-max, and better on heavy-tailed blocks", () => {
    // Deterministic heavy-tailed blocks (a cube of a uniform spreads the values with a few large ones).
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const values = Array.from({ length: 32 * 40 }, () => (2 * rand() - 1) ** 3);
    const groups = blockLayout([32 * 40, 1], 0, 32);
    for (const [f, symmetric] of [[INT4, true], [INT4_FULL, true], [{ signed: false, qmin: 0, qmax: 15 }, false]] as const) {
      const clipped = clippedGroupParams(values, groups, f, symmetric);
      const minmax = intGroupParams(values, groups, f, symmetric);
      let better = 0;
      for (let g = 0; g < groups.count; g++) {
        const block = values.slice(g * 32, (g + 1) * 32);
        const e = groupSquaredError(block, clipped.scale[g]!, clipped.zeroPoint[g]!, f);
        const e0 = groupSquaredError(block, minmax.scale[g]!, minmax.zeroPoint[g]!, f);
        expect(e).toBeLessThanOrEqual(e0);
        if (e < e0) better++;
      }
      expect(better).toBeGreaterThan(groups.count / 2);
    }
  });
});
