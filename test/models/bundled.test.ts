/**
 * The bundled Fashion-MNIST models: each loads, verifies and re-encodes to
 * identical bytes, and its accuracy in onnxruntime-node on the committed
 * evaluation set matches what the training script measured in Python.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundledModels, MODELS_DIR } from "../../src/data/manifest.js";
import { evaluateClassifier } from "../../src/eval/classify.js";
import { readNpy } from "../../src/io/npy.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { assertValid } from "../../src/ir/verify.js";

const models = bundledModels();

describe("bundled models", () => {
  it("include the five required architectures and the unfolded-BN variants", () => {
    const keys = models.map((m) => m.key);
    for (const k of ["mlp", "cnn", "resnet", "resnet.bn", "mobilenetv2", "mobilenetv2.bn", "vit"]) expect(keys).toContain(k);
  });

  const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
  const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));

  for (const m of models) {
    it(`${m.key}: loads, verifies, round-trips, and scores ${m.accuracy.eval2000} on the eval set`, async () => {
      const path = join(MODELS_DIR, m.file);
      const model = loadModel(path);
      expect(assertValid(model)).toEqual([]);
      expect(Buffer.compare(encodeModel(model), readFileSync(path))).toBe(0);
      const ops = new Set(model.graph!.nodes.map((n) => n.opType));
      if (m.key.endsWith(".bn")) expect(ops.has("BatchNormalization")).toBe(true);
      if (m.bn_folded) expect(ops.has("BatchNormalization")).toBe(false);
      const r = await evaluateClassifier(model, { dtype: 1, dims: x.shape, data: x.data as Float32Array }, y.data as BigInt64Array, {
        threads: 1,
      });
      expect(r.count).toBe(2000);
      // Same onnxruntime version as the Python measurement; allow one image of float noise.
      expect(Math.abs(r.correct - Math.round(m.accuracy.eval2000 * 2000))).toBeLessThanOrEqual(1);
      expect(r.top1).toBeGreaterThan(0.85);
    });
  }
});
