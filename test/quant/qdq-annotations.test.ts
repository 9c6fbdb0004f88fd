/**
 * The exact format of every quantized tensor survives the file: the QDQ
 * writer's quantization annotations on fixq's default CNN (what they say,
 * that they name existing tensors and parse as qonnx DataTypes), their byte
 * and read/write round trips, and the reader without them (another tool's
 * model) or with bad ones; FP8 and MX files.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readTensorFile } from "../../src/io/npz.js";
import { quantAnnotations, tensorNames, withQuantAnnotations } from "../../src/ir/annotations.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph, Model, Node } from "../../src/ir/graph.js";
import { constantTensors } from "../../src/ir/infer-types.js";
import { decodeModel, loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { readQdq, stripQdq } from "../../src/quant/qdq-read.js";
import { writeQdq } from "../../src/quant/qdq-write.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { CNN, quantizedCnn, ternaryWeight } from "../helpers/qdq-models.js";
import { qonnxDatatypeProblem } from "../helpers/qonnx-datatype.js";

let q: Model;
beforeAll(async () => {
  q = (await quantizedCnn()).quantized;
}, 120_000);

const isQdq = (n: Node) => n.opType === "QuantizeLinear" || n.opType === "DequantizeLinear";

/** For every float node, the fixq_format of the codes tensor behind each of its inputs (through a DequantizeLinear), by node name. */
function formatsSeenByNodes(g: Graph): Map<string, (string | undefined)[]> {
  const ann = quantAnnotations(g);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const out = new Map<string, (string | undefined)[]>();
  for (const n of g.nodes) {
    if (isQdq(n)) continue;
    out.set(
      n.name ?? "",
      n.inputs.map((i) => {
        const dq = producer.get(i);
        return dq?.opType === "DequantizeLinear" ? ann.get(dq.inputs[0]!)?.get("fixq_format") : undefined;
      }),
    );
  }
  return out;
}

describe("the QDQ writer's quantization annotations", () => {
  it("give every integer tensor its exact format, on tensors that exist, in qonnx names that parse", () => {
    const g = q.graph!;
    const ann = quantAnnotations(g);
    const names = tensorNames(g);
    const consts = constantTensors(g);
    expect(ann.size).toBeGreaterThan(0);
    for (const [t, entries] of ann) {
      expect(names.has(t), `annotation of missing tensor '${t}'`).toBe(true);
      const finn = entries.get("finn_datatype");
      if (finn !== undefined) expect(qonnxDatatypeProblem(finn), t).toBeUndefined();
    }
    const readers = new Map<string, Node[]>();
    for (const n of g.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
    let weights = 0;
    for (const dq of g.nodes.filter((n) => n.opType === "DequantizeLinear")) {
      const codes = dq.inputs[0]!;
      const a = ann.get(codes);
      expect(a, `no annotation on '${codes}'`).toBeDefined();
      const c = consts.get(codes);
      const reader = readers.get(dq.outputs[0]!)?.[0];
      const slot = reader?.inputs.indexOf(dq.outputs[0]!);
      if (!c) expect([a!.get("fixq_format"), a!.get("finn_datatype")]).toEqual(["uint8", "UINT8"]); // activations: uint8
      else if (c.dtype === DataType.INT32) expect([a!.get("fixq_format"), a!.get("finn_datatype")]).toEqual(["int32", "INT32"]); // biases
      else if (slot === 1 && (reader?.opType === "Conv" || reader?.opType === "Gemm")) {
        // the default weights: int8 storage, values in [-64, 64] (README, "Quantization defaults")
        expect([a!.get("fixq_format"), a!.get("finn_datatype")]).toEqual(["int8[-64,64]", "INT8"]);
        weights++;
      }
    }
    expect(weights).toBeGreaterThanOrEqual(3);
  });

  it("survive the file byte for byte, and ONNX Runtime opens and runs it", async () => {
    const bytes = encodeModel(q);
    const back = decodeModel(bytes);
    expect(Buffer.from(encodeModel(back)).equals(Buffer.from(bytes))).toBe(true);
    expect([...quantAnnotations(back.graph!)]).toEqual([...quantAnnotations(q.graph!)]);
    const s = await OrtSession.create(back, { threads: 1 });
    try {
      const out = await s.run({ [s.inputNames[0]!]: { dtype: 1, dims: [1, 1, 28, 28], data: new Float32Array(784).fill(0.5) } });
      expect(out[s.outputNames[0]!]!.data.length).toBe(10);
    } finally {
      await s.release();
    }
  });

  it("a read/write round trip keeps every annotation: each node sees the same formats on its inputs", () => {
    const g = q.graph!;
    const { graph: stripped, view } = stripQdq(g);
    expect(view.notes).toEqual([]);
    // stripping removes the format keys: the formats now live in the specs
    expect([...quantAnnotations(stripped).values()].some((e) => e.has("fixq_format"))).toBe(false);
    const again = writeQdq(stripped);
    expect(formatsSeenByNodes(again)).toEqual(formatsSeenByNodes(g));
    const names = tensorNames(again);
    const ann = quantAnnotations(again);
    for (const t of ann.keys()) expect(names.has(t)).toBe(true);
    expect(ann.size).toBe(quantAnnotations(g).size);
  });
});

describe("the QDQ reader", () => {
  const firstConv = () => q.graph!.nodes.find((n) => n.opType === "Conv")!;
  const codesOf = (m: Model, n: Node) => m.graph!.nodes.find((d) => d.outputs[0] === n.inputs[1])!.inputs[0]!;

  it("without annotations, reads a weight as the narrowest format holding its codes, and says so", () => {
    const conv = firstConv();
    const m = ternaryWeight(q, conv.name!); // codes in {-32, 0, 32}: int7, as int6 stops at 31
    const bare = withQuantAnnotations(m.graph!, new Map());
    const view = readQdq(bare);
    const w = view.weights.get(conv.inputs[1]!)!;
    expect(w.spec.kind === "affine" && [w.spec.format.qmin, w.spec.format.qmax, w.spec.format.dtype]).toEqual([-64, 63, DataType.INT8]);
    expect(view.notes).toHaveLength(1); // the other weights reach ±64: int8, their storage type, nothing to say
    expect(view.notes[0]).toContain(`'${codesOf(m, conv)}'`);
    expect(view.notes[0]).toContain("int7");
    // the annotation, when present, wins over the codes
    const annotated = readQdq(m.graph!).weights.get(conv.inputs[1]!)!;
    expect(annotated.spec.kind === "affine" && [annotated.spec.format.qmin, annotated.spec.format.qmax]).toEqual([-64, 64]);
  });

  it("takes an integer finn_datatype when there is no fixq_format", () => {
    const conv = firstConv();
    const codes = codesOf(q, conv);
    const g = withQuantAnnotations(q.graph!, new Map([[codes, new Map([["finn_datatype", "INT8"]])]]));
    const w = readQdq(g).weights.get(conv.inputs[1]!)!;
    expect(w.spec.kind === "affine" && [w.spec.format.qmin, w.spec.format.qmax]).toEqual([-128, 127]);
  });

  it("refuses an annotation that does not hold the stored codes, naming the tensor and the key", () => {
    const conv = firstConv();
    const codes = codesOf(q, conv);
    const g = withQuantAnnotations(q.graph!, new Map([[codes, new Map([["fixq_format", "int3"]])]]));
    expect(() => readQdq(g)).toThrow(new RegExp(`tensor '${codes}': quantization_annotation fixq_format 'int3' does not hold the stored codes`));
    const h = withQuantAnnotations(q.graph!, new Map([[codes, new Map([["fixq_format", "int9"]])]]));
    expect(() => readQdq(h)).toThrow(/fixq_format: 'int9' does not fit the tensor's storage type int8/);
  });
});

describe("float formats", () => {
  it("annotate the codes tensor with the format's name only (no qonnx name is exact), and FP8 survives a read/write round trip", async () => {
    const float = loadModel(CNN);
    const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
    for (const [format, name] of [
      ["fp8-e4m3", "fp8e4m3fn"],
      ["mxfp4", "mxfp4"],
    ] as const) {
      const src = arraySource(feedsFor(float.graph!, calib, "calib.npy", 64));
      const m = (await quantizeModel(float, src, buildRecipe({ format }), { threads: 1 })).model;
      const g = m.graph!;
      const ann = quantAnnotations(g);
      const names = tensorNames(g);
      expect(ann.size, format).toBeGreaterThan(0);
      for (const [t, e] of ann) {
        expect(names.has(t), `${format}: '${t}'`).toBe(true);
        expect(e.has("finn_datatype"), `${format}: '${t}'`).toBe(false);
      }
      const formats = new Set([...ann.values()].map((e) => e.get("fixq_format")));
      expect([...formats], format).toEqual([name]);
      if (format === "fp8-e4m3") expect(formatsSeenByNodes(writeQdq(stripQdq(g).graph))).toEqual(formatsSeenByNodes(g));
    }
  }, 120_000);
});

describe("symmetric int8 activations (regression: annotated int8[-127,127] while QuantizeLinear saturates to -128)", () => {
  it("are annotated with the full int8 range their QuantizeLinear computes", async () => {
    const model = loadModel(CNN);
    const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
    const r = await quantizeModel(model, arraySource(feedsFor(model.graph!, calib, "calib.npy", 32)), buildRecipe({ acts: "int8", symmetricActs: true }), { threads: 1 });
    const g = r.model.graph!;
    const ann = quantAnnotations(g);
    const qOutputs = g.nodes.filter((n) => n.opType === "QuantizeLinear").map((n) => n.outputs[0]!);
    expect(qOutputs.length).toBeGreaterThan(0);
    for (const t of qOutputs) expect(ann.get(t)?.get("fixq_format"), t).toBe("int8");
  });
});
