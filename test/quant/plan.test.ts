/**
 * Quantization plan: weights held in Constant nodes (as exporters write scalars,
 * and as Paddle2ONNX writes every weight) are told apart by the value they
 * define, so each keeps its own value through quantization.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { arraySource } from "../../src/quant/feeds.js";
import { planQuantization } from "../../src/quant/plan.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { graph, model, node, value } from "../ir/builders.js";
import { Rng } from "../helpers/prng.js";

/** x → MatMul(W) → Mul(c1 = 0.125) → Mul(c2 = 0.5) → y, with c1 and c2 unnamed tensors in Constant nodes. */
function twoScalarConstants() {
  const unnamed = (v: number) => ({ ...makeFloatTensor("", [], [v]), name: undefined });
  const w = makeFloatTensor("W", [4, 4], [1, 0.5, -0.25, 0, 0.5, 1, 0, -0.5, 0, 0.25, 1, 0.5, -0.5, 0, 0.5, 1]);
  return model(
    graph(
      [
        node("Constant", [], ["c1"], [{ name: "value", type: 4, t: unnamed(0.125) }], "const1"),
        node("Constant", [], ["c2"], [{ name: "value", type: 4, t: unnamed(0.5) }], "const2"),
        node("MatMul", ["x", "W"], ["h"], [], "mm"),
        node("Mul", ["h", "c1"], ["s"], [], "scale1"),
        node("Mul", ["s", "c2"], ["y"], [], "scale2"),
      ],
      [value("x", DataType.FLOAT, ["n", 4])],
      [value("y", DataType.FLOAT, ["n", 4])],
      [w],
    ),
  );
}

describe("planQuantization", () => {
  it("names each Constant-node weight after its value", () => {
    const plan = planQuantization(twoScalarConstants().graph!, buildRecipe({}));
    expect(plan.weights.map((u) => u.tensor.name).sort()).toEqual(["W", "c1", "c2"]);
  });

  it("keeps each scalar constant's own value through quantization", async () => {
    const m = twoScalarConstants();
    const rng = new Rng(7);
    const n = 64;
    const data = Float32Array.from({ length: n * 4 }, () => rng.range(-2, 2));
    const feeds = { x: { dtype: 1, dims: [n, 4], data } };
    const q = await quantizeModel(m, arraySource(feeds), buildRecipe({}), { threads: 1 });
    // The float constants are gone: both were replaced by quantized ones.
    expect(q.model.graph!.nodes.filter((x) => x.opType === "Constant")).toEqual([]);
    const run = async (mm: typeof m) => {
      const s = await OrtSession.create(mm, { threads: 1 });
      try {
        return (await s.run(feeds))["y"]!.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const ref = await run(m);
    const got = await run(q.model);
    let maxRef = 0;
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(ref[i]!));
      maxErr = Math.max(maxErr, Math.abs(ref[i]! - got[i]!));
    }
    // 8-bit activations over the calibrated range: a few steps of error at most.
    // Mixing up c1 and c2 would scale the output by 4 or 1/4.
    expect(maxErr / maxRef).toBeLessThan(0.05);
  });
});
