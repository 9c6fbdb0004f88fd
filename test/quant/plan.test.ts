/**
 * Quantization plan: weights held in Constant nodes (as exporters write scalars,
 * and as Paddle2ONNX writes every weight) are told apart by the value they
 * define, so each keeps its own value through quantization.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { DataType } from "../../src/ir/dtype.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { arraySource } from "../../src/quant/feeds.js";
import { planQuantization } from "../../src/quant/plan.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { graph, model, node, value } from "../ir/builders.js";
import { Rng } from "../helpers/prng.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-plan-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const optimizedPath = join(tmp, "optimized.onnx");

/** The op types of ORT's optimized graph (level "all"), saved to `optimizedPath`. */
async function optimizedOps(m: Model): Promise<string[]> {
  const s = await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: "all", optimizedModelFilePath: optimizedPath, intraOpNumThreads: 1 });
  await s.release();
  return loadModel(optimizedPath).graph!.nodes.map((n) => n.opType);
}

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

/** x → Conv → Sigmoid → Resize(mode) → Conv → LeakyRelu → HardSwish → y. */
function activationsModel(resizeMode: string) {
  const rng = new Rng(3);
  const conv = (name: string) => makeFloatTensor(name, [4, 4, 3, 3], Array.from({ length: 144 }, () => rng.range(-0.5, 0.5)));
  const s = (v: string) => ({ name: "mode", type: 3, s: new TextEncoder().encode(v) });
  return model(
    graph(
      [
        node("Conv", ["x", "w1"], ["c1"], [{ name: "pads", type: 7, ints: [1, 1, 1, 1] }], "conv1"),
        node("Sigmoid", ["c1"], ["s1"], [], "sigmoid"),
        node("Resize", ["s1", "", "scales"], ["r1"], [s(resizeMode)], "resize"),
        node("Conv", ["r1", "w2"], ["c2"], [{ name: "pads", type: 7, ints: [1, 1, 1, 1] }], "conv2"),
        node("LeakyRelu", ["c2"], ["l2"], [], "leaky"),
        node("HardSwish", ["l2"], ["y"], [], "hardswish"),
      ],
      [value("x", DataType.FLOAT, ["n", 4, 6, 6])],
      [value("y", DataType.FLOAT, ["n", 4, 12, 12])],
      [conv("w1"), conv("w2"), makeFloatTensor("scales", [4], [1, 1, 2, 2])],
    ),
  );
}

describe("activations ORT runs on integers", () => {
  it("quantizes Sigmoid, LeakyRelu and nearest Resize; keeps HardSwish and linear Resize float, with a reason", () => {
    const nearest = planQuantization(activationsModel("nearest").graph!, buildRecipe({}));
    const byName = new Map(nearest.decisions.map((d) => [d.node.name, d]));
    expect(byName.get("sigmoid")!.quantized).toBe(true);
    expect(byName.get("leaky")!.quantized).toBe(true);
    expect(byName.get("resize")!.role).toBe("pass-through");
    expect(byName.get("hardswish")!.quantized).toBe(false);
    expect(byName.get("hardswish")!.reason).toMatch(/no integer kernel/);
    const linear = planQuantization(activationsModel("linear").graph!, buildRecipe({}));
    const resize = linear.decisions.find((d) => d.node.name === "resize")!;
    expect(resize.quantized).toBe(false);
    expect(resize.reason).toMatch(/non-nearest Resize/);
  });

  it("ORT fuses them into integer kernels", async () => {
    const m = activationsModel("nearest");
    const rng = new Rng(5);
    const n = 16;
    const feeds = { x: { dtype: 1, dims: [n, 4, 6, 6], data: Float32Array.from({ length: n * 144 }, () => rng.range(-1, 1)) } };
    const q = await quantizeModel(m, arraySource(feeds), buildRecipe({}), { threads: 1 });
    const ops = await optimizedOps(q.model);
    expect(ops).toContain("QLinearSigmoid");
    expect(ops).toContain("QLinearLeakyRelu");
    expect(ops).not.toContain("Sigmoid");
    expect(ops).not.toContain("LeakyRelu");
    // Resize reads the uint8 tensor directly: no DequantizeLinear feeds it.
    const g = loadModel(optimizedPath).graph!;
    const resize = g.nodes.find((x) => x.opType === "Resize")!;
    expect(g.nodes.find((x) => x.outputs.includes(resize.inputs[0]!))?.opType).toBe("QLinearSigmoid");
  });
});
