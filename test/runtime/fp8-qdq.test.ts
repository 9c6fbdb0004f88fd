/**
 * Pins ONNX Runtime 1.30's (CPU) handling of FP8 QDQ models, the reason
 * OrtSession runs models with an FP8 QuantizeLinear unoptimized
 * (src/runtime/fp8-qdq.ts). When a newer ORT fixes these, these tests fail
 * and the workaround can go.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { readTensorFile } from "../../src/io/npz.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { hasFp8QuantizeLinear, safeOptimization } from "../../src/runtime/fp8-qdq.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-fp8qdq-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
const float = loadModel(join(MODELS_DIR, "cnn.onnx"));
const quantize = async (flags: Record<string, string>) => (await quantizeModel(float, arraySource(feedsFor(float.graph!, calib, "calib.npy", 64)), buildRecipe(flags), { threads: 1 })).model;

describe("ONNX Runtime 1.30 and FP8 QDQ", () => {
  let w8a8: Model;
  let weightOnly: Model;
  beforeAll(async () => {
    w8a8 = await quantize({ format: "fp8-e5m2" });
    weightOnly = await quantize({ weights: "fp8-e4m3", acts: "float" });
  });

  it("at 'extended'/'all' its QDQ fusion builds QLinearConv with FP8 inputs and refuses the model", async () => {
    await expect(ort.InferenceSession.create(encodeModel(w8a8), { graphOptimizationLevel: "all" })).rejects.toThrow(/tensor\(float8e5m2\).*QLinearConv/);
  });

  it("at 'basic' it rewrites the float biases into int32 DequantizeLinear at scale s_x·s_w (an integer assumption)", async () => {
    const optimized = join(tmp, "basic.onnx");
    const s = await ort.InferenceSession.create(encodeModel(w8a8), { graphOptimizationLevel: "basic", optimizedModelFilePath: optimized });
    await s.release();
    const g = loadModel(optimized).graph!;
    const int32 = new Set(g.initializers.filter((t) => t.dtype === DataType.INT32).map((t) => t.name));
    expect(g.nodes.filter((n) => n.opType === "DequantizeLinear" && int32.has(n.inputs[0]!)).length).toBe(5);
    expect(w8a8.graph!.initializers.some((t) => t.dtype === DataType.INT32)).toBe(false);
  });

  it("FP8 weights alone (float activations) load at 'all'", async () => {
    const s = await ort.InferenceSession.create(encodeModel(weightOnly), { graphOptimizationLevel: "all" });
    await s.release();
  });

  it("so fixq's sessions run models with an FP8 QuantizeLinear unoptimized, and only those", () => {
    expect(hasFp8QuantizeLinear(w8a8)).toBe(true);
    expect(hasFp8QuantizeLinear(weightOnly)).toBe(false);
    expect(safeOptimization(w8a8, "all")).toBe("disabled");
    expect(safeOptimization(weightOnly, "all")).toBe("all");
    expect(safeOptimization(float, "extended")).toBe("extended");
  });
});
