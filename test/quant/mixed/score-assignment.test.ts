/**
 * The real error of a whole assignment (score-assignment.ts), on the
 * bundled MLP: calibrated on one source, scored on another. The expected D
 * is computed here: the model quantized through quantizeModel with the same
 * rules and calibration data, both models run in ONNX Runtime directly on
 * the scored samples, and the mean KL divergence of their softmax outputs
 * written out. Scoring other samples gives another D; scoring the
 * calibration samples themselves is the default.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { encodeModel } from "../../../src/ir/onnx/save.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { readNpy } from "../../../src/io/npy.js";
import { arraySource, npyFileSource } from "../../../src/quant/feeds.js";
import type { LayerRuleInput } from "../../../src/quant/layer-rules.js";
import { assignmentScorer } from "../../../src/quant/mixed/score-assignment.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import type { Model } from "../../../src/ir/graph.js";
import { firstOutput, meanSoftmaxKl } from "../../helpers/softmax-kl.js";

const float = loadModel(join(MODELS_DIR, "mlp.onnx"));
const calib = readNpy(join(MODELS_DIR, "data/calib.npy"));
const per = calib.shape.slice(1).reduce((a, b) => a * b, 1);
const rows = (from: number, n: number) => ({ dtype: 1, dims: [n, ...calib.shape.slice(1)], data: (calib.data as Float32Array).slice(from * per, (from + n) * per) });

const logits = (m: Model, x: { dims: number[]; data: Float32Array }) => firstOutput(encodeModel(m), x);

describe("assignmentScorer", () => {
  it("scores the quantized model on the samples it is given, calibrated on the calibration source", async () => {
    const input = float.graph!.inputs[0]!.name;
    const rules: LayerRuleInput[] = [{ match: { nameRegex: ".*" }, weights: "int4" }];
    const recipeWith = (r: LayerRuleInput[]) => buildRecipe({ layers: r });
    const src = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 128);
    try {
      const other = rows(200, 64);
      const onOther = await assignmentScorer(float, src, recipeWith, { samples: 64, batchSize: 32, threads: 1 }, arraySource({ [input]: other }));
      const onCalib = await assignmentScorer(float, src, recipeWith, { samples: 64, batchSize: 32, threads: 1 });
      const q = (await quantizeModel(float, src, recipeWith(rules), { threads: 1 })).model;
      const expectOther = meanSoftmaxKl(await logits(float, other), await logits(q, other), 64);
      const first = rows(0, 64);
      const expectCalib = meanSoftmaxKl(await logits(float, first), await logits(q, first), 64);
      const [dOther, dCalib] = [await onOther(rules), await onCalib(rules)];
      expect(dOther).toBeGreaterThan(0);
      expect(Math.abs(dOther - expectOther) / expectOther).toBeLessThan(1e-3);
      expect(Math.abs(dCalib - expectCalib) / expectCalib).toBeLessThan(1e-3);
      expect(Math.abs(dOther - dCalib) / dCalib).toBeGreaterThan(1e-3);
    } finally {
      src.close();
    }
  });
});
