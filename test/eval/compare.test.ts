// compareModels' arg-max agreement on token logits: per position over the
// vocabulary, not over a whole sample's values.
import { describe, expect, it } from "vitest";
import { compareModels } from "../../src/eval/compare.js";
import { bindEvalData } from "../../src/eval/eval-data.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { graph, model, node, value } from "../ir/builders.js";

describe("compareModels on token logits [N, S, V]", () => {
  it("takes the arg-max agreement per position over the vocabulary, not over a sample's S·V values", async () => {
    const ref = model(graph([node("Identity", ["x"], ["y"])], [value("x", 1, ["N", 2, 3])], [value("y", 1, ["N", 2, 3])]));
    const cand = model(graph([node("Add", ["x", "c"], ["y"])], [value("x", 1, ["N", 2, 3])], [value("y", 1, ["N", 2, 3])], [makeFloatTensor("c", [3], [0, 0, 0.5])]));
    // sample 0: position 0 [1, 0, 0.8] → 0, the candidate's [1, 0, 1.3] → 2 (differs); position 1 → 1 in both.
    // sample 1: positions → 2 and 0 in both. Over each sample's 6 values both models pick the same index (4, then 3).
    const x = Float32Array.from([1, 0, 0.8, 0, 2, 0, 0, 0, 3, 5, 0, 0]);
    const data = bindEvalData(ref, new Map([["x", { dtype: "f4", shape: [2, 2, 3], data: x }]]), "x.npy");
    const r = await compareModels(ref, cand, data, undefined);
    expect(r.candidate.all.outputs[0]!.agreement).toBe(0.75);
    expect(r.candidate.disabled.outputs[0]!.agreement).toBe(0.75);
  });
});
