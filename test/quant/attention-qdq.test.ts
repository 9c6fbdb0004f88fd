/**
 * Static QDQ for attention (issue 17 §3): with the default recipe, both
 * operands of every activation × activation MatMul of the bundled ViT are
 * quantized (uint8), and every Softmax output is uint8 with zero point 0 and
 * a calibrated scale of at most 1/255 (probabilities lie in [0, 1]). Every
 * LayerNormalization input is quantized (the norm itself stays float in QDQ).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { constantTensors } from "../../src/ir/infer-types.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { readQdq, stripQdq } from "../../src/quant/qdq-read.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";

describe("static QDQ for attention", () => {
  it("quantizes both attention MatMul operands and the Softmax output (uint8, zero point 0, scale ≤ 1/255)", async () => {
    const float = loadModel(join(MODELS_DIR, "vit.onnx"));
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 64);
    const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 }).finally(() => source.close());
    const g = stripQdq(model.graph!, readQdq(model.graph!)).graph;
    const consts = constantTensors(g);
    const spec = (v: string) => {
      const q = g.quant?.get(v);
      return q?.kind === "affine" ? { type: `${q.format.signed ? "" : "u"}int${q.format.bits}`, scale: q.scale[0]!, zero: q.zeroPoint[0]! } : undefined;
    };
    const attention = g.nodes.filter((n) => n.opType === "MatMul" && !n.inputs.some((i) => consts.has(i)));
    expect(attention).toHaveLength(8);
    for (const n of attention) for (const i of n.inputs) expect(spec(i)?.type, `${n.name} input ${i}`).toBe("uint8");
    const softmax = g.nodes.filter((n) => n.opType === "Softmax");
    expect(softmax).toHaveLength(4);
    for (const n of softmax) {
      const s = spec(n.outputs[0]!)!;
      expect(s.zero).toBe(0);
      // calibrated min…max: probabilities in [0, 1], so the scale is at most 1/255 (not forced to 1/256)
      expect(s.scale).toBeLessThanOrEqual(Math.fround(1 / 255) * (1 + 1e-6));
      expect(s.scale).toBeGreaterThan(1 / 300);
    }
    expect(g.nodes.filter((n) => n.opType === "LayerNormalization").every((n) => spec(n.inputs[0]!) !== undefined)).toBe(true);
  }, 60_000);
});
