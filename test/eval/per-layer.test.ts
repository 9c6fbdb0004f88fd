/**
 * Per-layer SQNR (`fixq eval --per-layer`): mapping CAND's quantized tensors
 * back to REF (fixq's names, ORT's names, and what cannot be mapped), and
 * finding the one layer whose weights were wrecked.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { bindEvalData, type EvalData } from "../../src/eval/eval-data.js";
import { type LayerError, localSqnr, mapQuantizedTensors, noisiestLayer, PER_LAYER_BATCH_BYTES, type PerLayerResult, perLayerBatch, perLayerErrors, referenceAfterFloatPasses, worstFirst } from "../../src/eval/per-layer.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { readNpy } from "../../src/io/npy.js";
import type { Model } from "../../src/ir/graph.js";
import { renameValues, quantizedCnn, ternaryWeight, toOrtNaming } from "../helpers/qdq-models.js";

const N = 256;
const WRECKED = "/features/features.3/Conv";
const AFTER_WRECKED = "/features/features.4/Relu_output_0";

let float: Model;
let quantized: Model;
let wrecked: Model;
let data: EvalData;
let good: PerLayerResult;
let bad: PerLayerResult;

const byTensor = (r: PerLayerResult) => new Map(r.activations.map((a) => [a.tensor, a]));

function expectWorstFirst(rows: readonly LayerError[]) {
  for (let i = 1; i < rows.length; i++) expect(worstFirst(rows[i - 1]!.sqnrDb, rows[i]!.sqnrDb)).toBeLessThanOrEqual(0);
}

beforeAll(async () => {
  ({ float, quantized } = await quantizedCnn());
  wrecked = ternaryWeight(quantized, WRECKED);
  const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
  const rows = { dtype: "f4" as const, shape: [N, ...x.shape.slice(1)], data: (x.data as Float32Array).slice(0, N * 784) };
  data = bindEvalData(float, new Map([["", rows]]), "eval.npy");
  good = await perLayerErrors(float, quantized, data, { batchSize: 100, threads: 1 });
  bad = await perLayerErrors(float, wrecked, data, { batchSize: 100, threads: 1 });
});

describe("mapping CAND's quantized tensors to REF", () => {
  it("maps fixq's QDQ by name: producer writes t__f, Q(t__f) → DQ → t stands for REF's t", () => {
    const m = mapQuantizedTensors(float.graph!, quantized.graph!);
    expect(m.unmapped).toEqual([]);
    const refValues = new Set([...float.graph!.nodes.flatMap((n) => n.outputs), "input"]);
    const candValues = new Set(quantized.graph!.nodes.flatMap((n) => n.outputs));
    for (const a of m.activations) {
      expect(refValues.has(a.ref)).toBe(true);
      if (a.ref === "input") expect(a.cand).toBe("input__dq");
      else {
        expect(a.cand).toBe(a.ref);
        expect(candValues.has(`${a.ref}__f`)).toBe(true);
      }
    }
    // Every Relu and MaxPool output, the Flatten, the logits and the input.
    const refs = m.activations.map((a) => a.ref);
    expect(refs).toContain(AFTER_WRECKED);
    expect(refs).toContain("logits");
    expect(refs).toContain("input");
    expect(m.activations.find((a) => a.ref === AFTER_WRECKED)!.node).toEqual({ opType: "Relu", name: "/features/features.4/Relu" });
    expect(m.activations.find((a) => a.ref === "input")!.node).toBeNull();
    // Weights and biases map through the node reading them to REF's initializers.
    const weightInits = float.graph!.initializers.map((t) => t.name).sort();
    expect(m.weights.map((w) => w.ref).sort()).toEqual(weightInits);
    expect(m.weights.find((w) => w.ref === "features.3.weight")!.node).toEqual({ opType: "Conv", name: WRECKED });
  });

  it("maps ORT quantize_static's names (t_DequantizeLinear_Output) through the QuantizeLinear to t", async () => {
    const ort = toOrtNaming(quantized);
    const m = mapQuantizedTensors(float.graph!, ort.graph!);
    expect(m.unmapped).toEqual([]);
    const fixqMap = mapQuantizedTensors(float.graph!, quantized.graph!);
    expect(m.activations.map((a) => a.ref).sort()).toEqual(fixqMap.activations.map((a) => a.ref).sort());
    for (const a of m.activations) expect(a.cand).toBe(a.ref === "logits" ? "logits" : `${a.ref}_DequantizeLinear_Output`);
    expect(m.weights.map((w) => w.cand)).toContain("features.3.weight_DequantizeLinear_Output");
    // Same tensors, same numbers.
    const r = await perLayerErrors(float, ort, data, { batchSize: 100, threads: 1 });
    const fixqByTensor = byTensor(good);
    expect(r.activations).toHaveLength(good.activations.length);
    for (const a of r.activations) expect(a.sqnrDb).toBeCloseTo(fixqByTensor.get(a.tensor)!.sqnrDb, 9);
  });

  it("lists what it cannot map, with the reason, instead of dropping it", async () => {
    const renamed = renameValues(
      quantized,
      new Map([
        [`${AFTER_WRECKED}__f`, "mystery__f"],
        [AFTER_WRECKED, "mystery"],
      ]),
      new Map([[WRECKED, "renamed-conv"]]),
    );
    const r = await perLayerErrors(float, renamed, data, { batchSize: 128, threads: 1 });
    const kinds = r.unmapped.map((u) => [u.candidateTensor, u.kind]);
    expect(kinds).toContainEqual(["mystery", "activation"]);
    expect(r.unmapped.find((u) => u.candidateTensor === "mystery")!.reason).toMatch(/REF has no tensor 'mystery' or 'mystery__f'/);
    // The renamed Conv's weight and bias have no reader with a namesake in REF.
    const weights = r.unmapped.filter((u) => u.kind === "weight");
    expect(weights).toHaveLength(2);
    for (const w of weights) expect(w.reason).toMatch(/Conv 'renamed-conv'/);
    expect(r.activations.map((a) => a.candidateTensor)).not.toContain("mystery");
    expect(r.activations).toHaveLength(good.activations.length - 1);
    expect(r.weights).toHaveLength(good.weights.length - 2);
  });
});

describe("per-layer SQNR", () => {
  it("is infinite with zero error for a model against itself", async () => {
    const r = await perLayerErrors(quantized, quantized, data, { threads: 1 });
    expect(r.unmapped).toEqual([]);
    expect(r.activations.length).toBe(good.activations.length);
    expect(r.weights.length).toBe(good.weights.length);
    for (const l of [...r.activations, ...r.weights]) {
      expect(l.sqnrDb).toBe(Number.POSITIVE_INFINITY);
      expect(l.maxAbsError).toBe(0);
    }
    expect(noisiestLayer(r)).toBeUndefined();
  });

  it("finds nothing to compare in a float candidate", async () => {
    const r = await perLayerErrors(float, float, data, { threads: 1 });
    expect(r).toMatchObject({ activations: [], weights: [], unmapped: [] });
  });

  it("is high everywhere for the default recipe, sorted worst first, over every sample", () => {
    expectWorstFirst(good.activations);
    expectWorstFirst(good.weights);
    for (const a of good.activations) expect(a.sqnrDb).toBeGreaterThan(25);
    for (const w of good.weights) expect(w.sqnrDb).toBeGreaterThan(25);
    // The 16×28×28 Relu output of the first conv, over all N samples.
    expect(byTensor(good).get("/features/features.1/Relu_output_0")!.elements).toBe(N * 16 * 28 * 28);
  });

  it("names the layer whose weights were made ternary as the worst, far below the layers before it", () => {
    expectWorstFirst(bad.activations);
    const worst = bad.activations[0]!;
    expect(worst.tensor).toBe(AFTER_WRECKED);
    expect(worst.node).toEqual({ opType: "Relu", name: "/features/features.4/Relu" });
    expect(worst.sqnrDb).toBeLessThan(15);
    const before = byTensor(bad);
    const goodByTensor = byTensor(good);
    // Upstream of the wrecked conv nothing changed; there the SQNR stays above 30 dB.
    for (const t of ["input", "/features/features.1/Relu_output_0", "/features/features.2/MaxPool_output_0"]) {
      expect(before.get(t)!.sqnrDb).toBe(goodByTensor.get(t)!.sqnrDb);
      expect(before.get(t)!.sqnrDb).toBeGreaterThan(worst.sqnrDb + 20);
    }
    // Downstream inherits the damage (cumulative SQNR), but only the wrecked layer adds it: its local SQNR is the lowest by far.
    expect(noisiestLayer(bad)!.tensor).toBe(AFTER_WRECKED);
    for (const a of bad.activations.slice(1)) expect(a.localSqnrDb).toBeGreaterThan(worst.localSqnrDb + 10);
    expect(worst.maxAbsError).toBeGreaterThan(5 * goodByTensor.get(AFTER_WRECKED)!.maxAbsError);
    // The weight table points at the same conv.
    expect(bad.weights[0]).toMatchObject({ tensor: "features.3.weight", node: { opType: "Conv", name: WRECKED } });
    expect(bad.weights[0]!.sqnrDb).toBeLessThan(10);
    for (const w of bad.weights.slice(1)) expect(w.sqnrDb).toBeGreaterThan(25);
  });
});

describe("local SQNR", () => {
  it("is the SQNR of the noise added beyond the input's", () => {
    // Input NSR 0.001 (30 dB), output NSR 0.011: the layer adds 0.01, i.e. 20 dB.
    expect(localSqnr(10 * Math.log10(1 / 0.011), 30)).toBeCloseTo(20, 9);
    expect(localSqnr(30, 30)).toBe(Number.POSITIVE_INFINITY);
    expect(localSqnr(35, 30)).toBe(Number.POSITIVE_INFINITY);
    expect(localSqnr(12, Number.POSITIVE_INFINITY)).toBeCloseTo(12, 9);
    expect(localSqnr(Number.NaN, 30)).toBeNaN();
  });

  it("orders NaN first, then ascending", () => {
    expect([3, Number.NaN, Number.POSITIVE_INFINITY, -1].sort(worstFirst)).toEqual([Number.NaN, -1, 3, Number.POSITIVE_INFINITY]);
  });
});

describe("per-layer against REF after CAND's float passes", () => {
  it("resnet.bn: every BN-folded weight is compared with its folded original (high SQNR), REF's passes named", async () => {
    const bn = loadModel(join(MODELS_DIR, "resnet.bn.onnx"));
    expect(bn.graph!.nodes.some((n) => n.opType === "BatchNormalization")).toBe(true);
    const calib = readNpy(join(MODELS_DIR, "data/calib.npy"));
    const source = arraySource({ input: { dtype: 1, dims: [64, 1, 28, 28], data: (calib.data as Float32Array).slice(0, 64 * 784) } });
    const q = (await quantizeModel(bn, source, buildRecipe({}))).model;
    const r = await perLayerErrors(bn, q, data, { batchSize: 128, threads: 1 });
    expect(r.referencePasses).toEqual(["fold-constants", "fold-batchnorm"]);
    expect(r.unmapped).toEqual([]);
    expect(r.weights.length).toBeGreaterThan(5);
    // Against the unfolded BN model the stem weight sat at −15 dB; 7-bit weights of the folded one are far above 20.
    for (const w of r.weights) expect(w.sqnrDb, w.tensor).toBeGreaterThan(20);
    for (const a of r.activations) expect(a.sqnrDb, a.tensor).toBeGreaterThan(15);
  });

  it("an IR < 4 REF (initializers also graph inputs) is folded as quantize folds it: the stem weight is not at −15 dB", async () => {
    const bn = loadModel(join(MODELS_DIR, "resnet.bn.onnx"));
    const g = bn.graph!;
    const ir3 = { ...bn, graph: { ...g, inputs: [...g.inputs, ...g.initializers.map((t) => ({ name: t.name!, type: { tensorType: { elemType: t.dtype, shape: { dim: t.dims.map((d) => ({ dimValue: Number(d) })) } } } }))] } };
    const calib = readNpy(join(MODELS_DIR, "data/calib.npy"));
    const source = arraySource({ input: { dtype: 1, dims: [64, 1, 28, 28], data: (calib.data as Float32Array).slice(0, 64 * 784) } });
    const q = (await quantizeModel(ir3, source, buildRecipe({}))).model;
    const r = await perLayerErrors(ir3, q, data, { batchSize: 128, threads: 1 });
    expect(r.referencePasses).toEqual(["fold-constants", "fold-batchnorm"]);
    for (const w of r.weights) expect(w.sqnrDb, w.tensor).toBeGreaterThan(20);
  });

  it("another tool's QDQ that kept its BatchNormalization nodes is compared with REF as given", () => {
    const bn = loadModel(join(MODELS_DIR, "resnet.bn.onnx"));
    expect(referenceAfterFloatPasses(bn, bn)).toEqual({ model: bn, passes: [] });
  });
});

describe("perLayerBatch (regression: PaddleOCR rec's 352 exposed tensors took 24 GB at the default batch)", () => {
  it("fits the exposed tensors of one run in the budget, between 1 sample and the batch size", () => {
    expect(perLayerBatch(256, 1000)).toBe(256);
    expect(perLayerBatch(256, PER_LAYER_BATCH_BYTES / 10)).toBe(10);
    expect(perLayerBatch(256, PER_LAYER_BATCH_BYTES / 10 + 1)).toBe(9);
    expect(perLayerBatch(256, PER_LAYER_BATCH_BYTES * 4)).toBe(1);
    expect(perLayerBatch(3, 0)).toBe(3);
  });
});
