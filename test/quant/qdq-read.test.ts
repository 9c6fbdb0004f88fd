/**
 * QDQ import: Q/DQ nodes written by fixq and by ONNX Runtime's own tool become
 * specs on values, and stripping them gives the float graph the specs describe.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { assertValid } from "../../src/ir/verify.js";
import { readNpy } from "../../src/io/npy.js";
import { readTensorFile } from "../../src/io/npz.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { readQdq, stripQdq } from "../../src/quant/qdq-read.js";
import { writeQdq } from "../../src/quant/qdq-write.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/onnx");
const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));

async function fixqQuantized(name: string): Promise<Model> {
  const model = loadModel(join(MODELS_DIR, `${name}.onnx`));
  return (await quantizeModel(model, arraySource(feedsFor(model.graph!, calib, "calib.npy", 128)), buildRecipe({}), { threads: 1 })).model;
}

/** Runs the model with graph optimizations off and the given values exposed. */
async function values(m: Model, names: string[]): Promise<Record<string, Float32Array>> {
  const s = await OrtSession.create(m, { optimization: "disabled", threads: 1, extraOutputs: names });
  try {
    const x = calib.values().next().value!;
    const out = await s.run({ [s.inputNames[0]!]: { dtype: 1, dims: [2, ...x.shape.slice(1)], data: (x.data as Float32Array).subarray(0, 2 * 784) } });
    return Object.fromEntries(names.map((n) => [n, out[n]!.data as Float32Array]));
  } finally {
    await s.release();
  }
}

describe("readQdq / stripQdq", () => {
  it("reads every Q/DQ pair and weight of fixq's own output, and strips them to a float graph", async () => {
    const q = await fixqQuantized("cnn");
    const g = q.graph!;
    const view = readQdq(g);
    expect(view.unmatched).toEqual([]);
    expect(view.activations.size).toBe(g.nodes.filter((n) => n.opType === "QuantizeLinear").length);
    expect(view.weights.size).toBe(g.nodes.filter((n) => n.opType === "DequantizeLinear").length - view.activations.size);
    const { graph: f } = stripQdq(g, view);
    expect(f.nodes.some((n) => n.opType === "QuantizeLinear" || n.opType === "DequantizeLinear")).toBe(false);
    expect(f.nodes.map((n) => n.opType)).toEqual(loadModel(join(MODELS_DIR, "cnn.onnx")).graph!.nodes.map((n) => n.opType));
    // Every value that was quantized carries its spec; weight specs are per channel.
    for (const t of [...view.activations.keys(), ...view.weights.keys()]) expect(f.quant!.has(t) || f.inputs.some((v) => f.quant!.has(v.name))).toBe(true);
    const conv = f.nodes.find((n) => n.opType === "Conv")!;
    const wSpec = f.quant!.get(conv.inputs[1]!)!;
    expect(wSpec.kind === "affine" && wSpec.axis).toBe(0);
    expect(wSpec.kind === "affine" && wSpec.format.dtype).toBe(DataType.INT8);
    // The float weights are exactly what DequantizeLinear computes in ORT.
    const weightNames = [...view.weights.keys()];
    const dq = await values(q, weightNames);
    for (const w of weightNames) {
      const t = f.initializers.find((x) => x.name === w)!;
      expect(Float32Array.from(tensorToFloat64(t))).toEqual(dq[w]);
    }
  });

  it("reads ONNX Runtime's quantize_static output (per-channel, uint8 activations)", () => {
    const g = loadModel(join(FIXTURES, "cnn.ort-qdq-per-channel-u8.onnx")).graph!;
    const view = readQdq(g);
    expect(view.unmatched).toEqual([]);
    expect(view.activations.size).toBe(g.nodes.filter((n) => n.opType === "QuantizeLinear").length);
    for (const a of view.activations.values()) expect(a.spec.kind === "affine" && a.spec.format.dtype).toBe(DataType.UINT8);
    const convWeights = g.nodes.filter((n) => n.opType === "Conv").map((n) => n.inputs[1]!);
    expect(convWeights.length).toBeGreaterThan(0);
    for (const w of convWeights) {
      const spec = view.weights.get(w)!.spec;
      expect(spec.kind).toBe("affine");
      expect(spec.kind === "affine" && spec.axis).toBe(0);
    }
    const { graph: f } = stripQdq(g, view);
    expect(f.nodes.some((n) => n.opType.endsWith("Linear"))).toBe(false);
  });

  it("reads ONNX Runtime's defaults (per-tensor, int8 activations), where the quantizer's clamp stands in for Relu", () => {
    const m = loadModel(join(FIXTURES, "resnet.ort-qdq-defaults.onnx"));
    const view = readQdq(m.graph!);
    expect(view.unmatched).toEqual([]);
    for (const a of view.activations.values()) expect(a.spec.kind === "affine" && a.spec.format.dtype).toBe(DataType.INT8);
    const { graph: f } = stripQdq(m.graph!, view);
    // ORT's tool dropped the Relu nodes: the int8 spec of a former Relu output starts exactly at 0
    // (zero point −128), so QuantizeLinear's saturation is the Relu. A spec always implies its clamp.
    expect(f.nodes.some((n) => n.opType === "Relu")).toBe(false);
    const relus = [...view.activations.entries()].filter(([t]) => t.includes("Relu_output"));
    expect(relus.length).toBeGreaterThan(0);
    for (const [, a] of relus) expect(a.spec.kind === "affine" && a.spec.zeroPoint[0]).toBe(-128);
  });

  it("leaves a QuantizeLinear whose output a float op also reads, and says why", async () => {
    const q = await fixqQuantized("mlp");
    const g = q.graph!;
    const qn = g.nodes.find((n) => n.opType === "QuantizeLinear")!;
    // A float op (Identity) now also reads the quantized integers.
    const tampered = { ...g, nodes: [...g.nodes, { opType: "Identity", inputs: [qn.outputs[0]!], outputs: ["extra"], attributes: [] }] };
    const view = readQdq(tampered);
    expect(view.unmatched.map((u) => u.reason)).toContain("its QuantizeLinear output has other readers");
    expect(view.unmatched.map((u) => u.node)).toContain(qn);
  });
});

describe("QDQ round trip: read → strip → write", () => {
  /** Runs both models on the same 64 samples and returns whether every output bit matches. */
  async function sameOutputs(a: Model, b: Model, optimization: "all" | "disabled"): Promise<void> {
    const x = calib.values().next().value!;
    const feeds = { dtype: 1, dims: [64, ...x.shape.slice(1)], data: (x.data as Float32Array).subarray(0, 64 * 784) };
    const outs: Float32Array[] = [];
    for (const m of [a, b]) {
      const s = await OrtSession.create(m, { optimization, threads: 1 });
      try {
        const out = await s.run({ [s.inputNames[0]!]: feeds });
        outs.push(out[s.outputNames[0]!]!.data as Float32Array);
      } finally {
        await s.release();
      }
    }
    expect(new Uint8Array(outs[1]!.buffer)).toEqual(new Uint8Array(outs[0]!.buffer));
  }

  const cases: [string, () => Promise<Model>][] = [
    ...["cnn", "resnet", "mobilenetv2", "vit"].map((n): [string, () => Promise<Model>] => [`fixq ${n}`, () => fixqQuantized(n)]),
    ["ORT cnn per-channel u8", async () => loadModel(join(FIXTURES, "cnn.ort-qdq-per-channel-u8.onnx"))],
    ["ORT resnet defaults", async () => loadModel(join(FIXTURES, "resnet.ort-qdq-defaults.onnx"))],
  ];
  for (const [label, make] of cases) {
    it(`${label}: the re-exported model computes bit-identical outputs, fused and unfused`, async () => {
      const m = await make();
      const stripped = stripQdq(m.graph!);
      expect(stripped.view.unmatched).toEqual([]);
      const again: Model = { ...m, graph: writeQdq(stripped.graph) };
      assertValid(again);
      const count = (mm: Model, op: string) => mm.graph!.nodes.filter((n) => n.opType === op).length;
      expect(count(again, "QuantizeLinear")).toBe(count(m, "QuantizeLinear"));
      expect(count(again, "DequantizeLinear")).toBe(count(m, "DequantizeLinear"));
      await sameOutputs(m, again, "disabled");
      await sameOutputs(m, again, "all");
    });
  }
});

describe("QDQ round trip with subgraphs", () => {
  // Regression: stripping dropped an initializer that only an If branch reads (outer scope).
  it("keeps values that only a subgraph reads, and the model still computes the same", async () => {
    const m = loadModel(join(FIXTURES, "runnable-newer.onnx"));
    const again: Model = { ...m, graph: writeQdq(stripQdq(m.graph!).graph) };
    assertValid(again);
    const x = readNpy(join(FIXTURES, "runnable-newer.input.npy"));
    const y = readNpy(join(FIXTURES, "runnable-newer.output.npy"));
    const s = await OrtSession.create(again, { threads: 1 });
    try {
      const out = await s.run({ X: { dtype: 1, dims: x.shape, data: x.data as Float32Array } });
      expect(out["Y"]!.data).toEqual(y.data);
    } finally {
      await s.release();
    }
  });
});
