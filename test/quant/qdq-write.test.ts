/**
 * The QDQ writer on models exported before IR 4, which list every
 * initializer as a graph input too (ONNX's own pytorch-converted test models
 * do): a weight written as integer codes takes its graph input with it, so
 * the quantized model asks for the data inputs only.
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";

/** models/mlp.onnx with each initializer also declared as a graph input, as IR 3 exporters wrote them. */
function withInitializersAsInputs(m: Model): Model {
  const g = m.graph!;
  const asInputs = g.initializers.map((t) => ({
    name: t.name!,
    type: { tensorType: { elemType: t.dtype, shape: { dim: t.dims.map((d) => ({ dimValue: Number(d) })) } } },
  }));
  return { ...m, graph: { ...g, inputs: [...g.inputs, ...asInputs] } };
}

describe("writeQdq on initializers listed as graph inputs", () => {
  it("drops the graph input of every weight it replaces, so the model runs on its data input alone", async () => {
    const float = withInitializersAsInputs(loadModel(join(MODELS_DIR, "mlp.onnx")));
    const dataInputs = loadModel(join(MODELS_DIR, "mlp.onnx")).graph!.inputs.map((v) => v.name);
    expect(float.graph!.inputs.length).toBeGreaterThan(dataInputs.length);
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 64);
    try {
      const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
      const g = model.graph!;
      const inits = new Set(g.initializers.map((t) => t.name));
      expect(g.inputs.map((v) => v.name).filter((n) => !inits.has(n))).toEqual(dataInputs);
      const s = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
      try {
        expect(s.inputNames).toEqual(dataInputs);
        const x = new ort.Tensor("float32", new Float32Array(784).fill(0.5), [1, 1, 28, 28]);
        const y = await s.run({ [dataInputs[0]!]: x });
        expect(y[s.outputNames[0]!]!.dims).toEqual([1, 10]);
      } finally {
        await s.release();
      }
      expect(g.initializers.some((t) => t.dtype === DataType.INT8)).toBe(true);
    } finally {
      source.close();
    }
  });
});
