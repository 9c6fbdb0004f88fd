/**
 * FP8, MX and NVFP4 quantization flows end to end on the bundled MLP
 * (K = 784: the last block of 32 is 16 long) and CNN (Conv blocks along
 * Cin·kh·kw): what is stored, at which opset, that ONNX Runtime runs it, and
 * top-1 agreement with float on the 2,000-image eval set. Also: FP8 models
 * read back into specs and re-export to bit-identical outputs.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { calib, evalX, evalY } from "../helpers/bundled-data.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { evaluateClassifier } from "../../src/eval/classify.js";
import { DataType } from "../../src/ir/dtype.js";
import { type Model, opsetVersion } from "../../src/ir/graph.js";
import { decodeModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { readQdq } from "../../src/quant/qdq-read.js";
import { quantizeModel, reexportQuantized } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { loadModel } from "../../src/ir/onnx/load.js";


interface Case {
  readonly label: string;
  readonly flags: RecipeInput;
  readonly opset: number;
  /** Element type of the weights' DequantizeLinear input; undefined when weights are stored dequantized (float32). */
  readonly weightDtype?: number;
  /** Zero-point type of the activations' QuantizeLinear; undefined when there is none. */
  readonly actDtype?: number;
  /** Activations go through the dynamic block graph. */
  readonly dynamicActs?: boolean;
  /** Lowest top-1 agreement with float accepted (mlp, cnn). */
  readonly minAgreement: [number, number];
}

const FP8 = DataType.FLOAT8E4M3FN;
// Measured agreement with float, mlp / cnn (%), 256 calibration samples: see the comment of each case.
const CASES: Case[] = [
  { label: "FP8 E4M3 W8A8", flags: { format: "fp8-e4m3" }, opset: 19, weightDtype: FP8, actDtype: FP8, minAgreement: [0.98, 0.98] }, // 98.60 / 98.85
  { label: "FP8 E5M2 W8A8", flags: { format: "fp8-e5m2" }, opset: 19, weightDtype: DataType.FLOAT8E5M2, actDtype: DataType.FLOAT8E5M2, minAgreement: [0.965, 0.955] }, // 97.45 / 96.40
  { label: "MXFP8 W8A8", flags: { format: "mxfp8" }, opset: 21, weightDtype: FP8, dynamicActs: true, minAgreement: [0.985, 0.985] }, // 99.35 / 99.45
  { label: "MXFP4 weights", flags: { weights: "mxfp4", acts: "float", fp4Storage: "dequantized" }, opset: 17, minAgreement: [0.98, 0.98] }, // 98.75 / 98.80
  { label: "NVFP4 W4A8", flags: { weights: "nvfp4", acts: "fp8-e4m3", fp4Storage: "dequantized" }, opset: 19, actDtype: FP8, minAgreement: [0.98, 0.975] }, // 98.65 / 98.15
  { label: "NVFP4 W4A4", flags: { format: "nvfp4", fp4Storage: "dequantized" }, opset: 19, dynamicActs: true, minAgreement: [0.975, 0.975] }, // 98.30 / 98.35
];

async function quantize(float: Model, flags: RecipeInput): Promise<Model> {
  const q = await quantizeModel(float, arraySource(feedsFor(float.graph!, calib, "calib.npy", 256)), buildRecipe(flags), { threads: 2 });
  return decodeModel(encodeModel(q.model)); // as saved
}

describe.each([
  ["mlp", 0],
  ["cnn", 1],
] as const)("%s", (name, which) => {
  let float: Model;
  let floatPredictions: Int32Array;
  beforeAll(async () => {
    float = loadModel(join(MODELS_DIR, `${name}.onnx`));
    floatPredictions = (await evaluateClassifier(float, evalX, evalY, { threads: 2 })).predictions;
  });

  for (const c of CASES) {
    it(`${c.label}: stored as stated, opset ≥ ${c.opset}, runs in ORT, agrees with float on ≥ ${c.minAgreement[which] * 100}%`, async () => {
      const q = await quantize(float, c.flags);
      const g = q.graph!;
      expect(opsetVersion(q)).toBeGreaterThanOrEqual(c.opset);
      const inits = new Map(g.initializers.map((t) => [t.name, t]));
      const dqs = g.nodes.filter((n) => n.opType === "DequantizeLinear" && inits.has(n.inputs[0]!));
      const weightDqs = dqs.filter((n) => inits.get(n.inputs[0]!)!.dims.length >= 2);
      if (c.weightDtype === undefined) {
        expect(dqs).toEqual([]);
        // every Conv/Gemm weight is float32 on the format's grid
        for (const n of g.nodes.filter((k) => k.opType === "Conv" || k.opType === "Gemm")) expect(inits.get(n.inputs[1]!)!.dtype).toBe(DataType.FLOAT);
      } else {
        expect(weightDqs.length).toBe(name === "mlp" ? 3 : 5);
        for (const dq of weightDqs) expect(inits.get(dq.inputs[0]!)!.dtype).toBe(c.weightDtype);
      }
      const qs = g.nodes.filter((n) => n.opType === "QuantizeLinear");
      if (c.actDtype === undefined) expect(qs).toEqual([]);
      else {
        expect(qs.length).toBeGreaterThan(0);
        for (const ql of qs) expect(inits.get(ql.inputs[2]!)!.dtype).toBe(c.actDtype);
      }
      expect(g.nodes.some((n) => n.opType === "Pow")).toBe(c.dynamicActs === true && !c.label.startsWith("NVFP4"));
      expect(g.nodes.some((n) => n.opType === "ReduceMax")).toBe(c.dynamicActs === true);
      // Biases of float-format layers stay float: no int32 initializer.
      expect(g.initializers.filter((t) => t.dtype === DataType.INT32)).toEqual([]);

      const r = await evaluateClassifier(q, evalX, evalY, { threads: 2 });
      let agree = 0;
      for (let i = 0; i < r.count; i++) if (r.predictions[i] === floatPredictions[i]) agree++;
      expect(r.count).toBe(2000);
      expect(agree / r.count).toBeGreaterThanOrEqual(c.minAgreement[which]);
    });
  }

  it("MXFP4 and NVFP4 native: FLOAT4E2M1 weights with blocked DequantizeLinear at opset 23 (MX scales float32 below opset 24)", async () => {
    for (const weights of ["mxfp4", "nvfp4"]) {
      const q = await quantize(float, { weights, acts: "float" });
      expect(opsetVersion(q)).toBe(23);
      const g = q.graph!;
      const inits = new Map(g.initializers.map((t) => [t.name, t]));
      const fp4 = g.nodes.filter((n) => n.opType === "DequantizeLinear" && inits.get(n.inputs[0]!)?.dtype === DataType.FLOAT4E2M1);
      expect(fp4.length).toBe(name === "mlp" ? 3 : 5);
      for (const dq of fp4) {
        const w = inits.get(dq.inputs[0]!)!;
        const count = w.dims.reduce((a, b) => a * Number(b), 1);
        expect(w.raw!.length).toBe(Math.ceil(count / 2));
        expect(Number(dq.attributes.find((a) => a.name === "block_size")!.i)).toBe(weights === "mxfp4" ? 32 : 16);
        // Conv weights are stored as [Cout, Cin·kh·kw] and reshaped back after the DequantizeLinear
        expect(w.dims.length).toBe(2);
        if (weights === "mxfp4") expect(inits.get(dq.inputs[1]!)!.dtype).toBe(DataType.FLOAT);
        else expect(inits.has(dq.inputs[1]!)).toBe(false); // NVFP4: the block scales come from the first DequantizeLinear
      }
      expect(g.nodes.filter((n) => n.opType === "Reshape" && n.inputs[0]!.endsWith("__dq_view")).length).toBe(name === "cnn" ? 3 : 0);
      if (name === "mlp") {
        // K = 784 = 24·32 + 16 (MX) = 49·16 (NVFP4): ceil(D/B) scales
        const first = fp4.find((n) => n.outputs[0]!.startsWith("fc1"))!;
        const scaleDims = weights === "mxfp4" ? inits.get(first.inputs[1]!)!.dims : inits.get(g.nodes.find((n) => n.outputs[0] === first.inputs[1])!.inputs[0]!)!.dims;
        expect(scaleDims).toEqual([256, weights === "mxfp4" ? 25 : 49]);
      }
    }
  });
});

describe("FP8 QDQ reads back", () => {
  it("readQdq gives FP8 specs for weights and activations; re-exporting gives bit-identical outputs in ORT", async () => {
    const float = loadModel(join(MODELS_DIR, "cnn.onnx"));
    const q = await quantize(float, { format: "fp8-e4m3" });
    const view = readQdq(q.graph!);
    expect(view.unmatched).toEqual([]);
    expect(view.weights.size).toBe(5);
    for (const w of view.weights.values()) expect(w.spec.kind === "float" && w.spec.format.name).toBe("fp8e4m3fn");
    for (const a of view.activations.values()) expect(a.spec.kind === "float" && a.spec.scale.length).toBe(1);
    const again = reexportQuantized(q)!.model;
    const feeds = { input: { dtype: DataType.FLOAT, dims: [16, 1, 28, 28], data: evalX.data.slice(0, 16 * 784) } };
    const outs: Float32Array[] = [];
    for (const m of [q, again]) {
      const s = await OrtSession.create(m, { optimization: "disabled" });
      outs.push((await s.run(feeds))["logits"]!.data as Float32Array);
      await s.release();
    }
    expect(Array.from(outs[1]!)).toEqual(Array.from(outs[0]!));
    const qw = q.graph!.initializers.filter((t) => t.dtype === FP8).map((t) => Array.from(tensorToFloat64(t)));
    const aw = again.graph!.initializers.filter((t) => t.dtype === FP8).map((t) => Array.from(tensorToFloat64(t)));
    expect(aw).toEqual(qw);
  });

  it("a model in a form fixq cannot read back (MXFP4) is refused, not quantized twice", async () => {
    const float = loadModel(join(MODELS_DIR, "mlp.onnx"));
    const q = await quantize(float, { weights: "mxfp4", acts: "float" });
    expect(() => reexportQuantized(q)).toThrow(/already quantized in a form fixq cannot read back/);
  });
});
