/** The report's weight histograms: 64 bins over [min, max] and per-channel extremes, checked on a weight small enough to bin by hand. */
import { describe, expect, it } from "vitest";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { REPORT_BINS, weightHistograms } from "../../src/quant/range-histograms.js";
import type { ResolvedPlan } from "../../src/quant/resolve-plan.js";

describe("weightHistograms", () => {
  it("bins a [2, 3] weight into 64 bins over [min, max] with per-channel extremes along axis 0", () => {
    const w = makeFloatTensor("w", [2, 3], [0, 1, 2, -3, 4, 5]);
    const bias = makeFloatTensor("b", [2], [0.5, -0.5]);
    const node = { opType: "Gemm", name: "fc", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [] };
    const plan = { weights: [{ node, slot: 1, tensor: w, axis: 0 }, { node, slot: 2, tensor: bias, axis: 0 }] } as unknown as ResolvedPlan;
    const [h, ...rest] = weightHistograms(plan);
    expect(rest).toEqual([]); // biases are not drawn
    expect(h).toMatchObject({ tensor: "w", node: "fc", min: -3, max: 5, lo: -3, width: 0.125, channels: { axis: 0, min: [0, -3], max: [2, 5] } });
    // Bin j holds [−3 + j/8, −3 + (j+1)/8): −3 → 0, 0 → 24, 1 → 32, 2 → 40, 4 → 56, and the maximum 5 in the last bin.
    const expected = new Array(REPORT_BINS).fill(0);
    for (const j of [0, 24, 32, 40, 56, 63]) expected[j] = 1;
    expect(h!.counts).toEqual(expected);
  });

  it("gives a per-tensor weight (axis −1) no channel band, and a constant weight one bin", () => {
    const w = makeFloatTensor("w", [4], [0.25, 0.25, 0.25, 0.25]);
    const node = { opType: "Mul", name: "scale", inputs: ["x", "w"], outputs: ["y"], attributes: [] };
    const [h] = weightHistograms({ weights: [{ node, slot: 1, tensor: w, axis: -1 }] } as unknown as ResolvedPlan);
    expect(h).toMatchObject({ min: 0.25, max: 0.25, width: 0, channels: null });
    expect(h!.counts[0]).toBe(4);
    expect(h!.counts.reduce((a, b) => a + b, 0)).toBe(4);
  });
});
