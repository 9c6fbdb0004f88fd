/**
 * Mixed integer formats in one model, through the file: a 3-bit weight stored
 * as INT4, a 7-bit weight stored as INT8, native int4 and full int8 weights
 * in the layers after; in the residual Add, int16 activations in one branch
 * and 6-bit unsigned ones (inside UINT8 storage) in the other. Built through
 * the QDQ writer (quantized with int4 weights, then per-layer formats set on
 * the specs), written to bytes and read back. The integer program must carry
 * each layer's exact types (from the file's annotations), the certificate
 * must hold on every value, and the emulator, the integer-only ONNX export
 * and the generated JS must agree bit for bit (and track the QDQ model in
 * ONNX Runtime).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { emitJsModule } from "../../src/backends/js/emit.js";
import { emitIntegerOnnx } from "../../src/backends/onnx-int/emit.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { ConvOp, DenseOp, Program } from "../../src/integer/program.js";
import { quantAnnotations, tensorNames, withQuantAnnotations } from "../../src/ir/annotations.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { constantTensors } from "../../src/ir/infer-types.js";
import { decodeModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { type AffineQuant, affineParams, type IntFormat, intFormat, type QuantSpec } from "../../src/ir/quant.js";
import { intTypeName } from "../../src/numerics/int.js";
import { arraySource } from "../../src/quant/feeds.js";
import { stripQdq } from "../../src/quant/qdq-read.js";
import { writeQdq } from "../../src/quant/qdq-write.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { quantizeWeight } from "../../src/quant/weights.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { Rng } from "../helpers/prng.js";
import { qonnxDatatypeProblem } from "../helpers/qonnx-datatype.js";
import { floatVector, graph, int, ints, model, node, randomWeight, value } from "../ir/builders.js";

const rng = new Rng(23);
const weights = (name: string, dims: number[]) => randomWeight(rng, name, dims);
const floats = floatVector;

/** x → conv1 → relu → {conv2 (int16 out), avgpool} → Add → conv3 → relu → GAP → Gemm. */
function floatModel(): Model {
  const g = graph(
    [
      node("Conv", ["x", "w1", "b1"], ["c1"], [ints("pads", [1, 1, 1, 1]), ints("kernel_shape", [3, 3])], "conv1"),
      node("Relu", ["c1"], ["r1"], [], "relu1"),
      node("Conv", ["r1", "w2", "b2"], ["c2"], [ints("kernel_shape", [1, 1])], "conv2"),
      node("AveragePool", ["r1"], ["a1"], [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), int("count_include_pad", 1)], "avg"),
      node("Add", ["c2", "a1"], ["s"], [], "add"),
      node("Conv", ["s", "w3", "b3"], ["c3"], [ints("pads", [1, 1, 1, 1]), ints("kernel_shape", [3, 3])], "conv3"),
      node("Relu", ["c3"], ["r3"], [], "relu3"),
      node("GlobalAveragePool", ["r3"], ["gap"], [], "gap"),
      node("Flatten", ["gap"], ["flat"], [], "flatten"),
      node("Gemm", ["flat", "wf", "bf"], ["y"], [int("transB", 1)], "fc"),
    ],
    [value("x", 1, ["N", 1, 8, 8])],
    [value("y", 1, ["N", 5])],
    [
      weights("w1", [4, 1, 3, 3]),
      floats("b1", [0.1, -0.05, 0.02, 0]),
      weights("w2", [4, 4, 1, 1]),
      floats("b2", [0.3, -0.3, 0.1, 0.2]),
      weights("w3", [6, 4, 3, 3]),
      floats("b3", [0, 0.1, -0.1, 0.05, 0, 0.02]),
      weights("wf", [5, 6]),
      floats("bf", [0, 0.1, -0.1, 0.2, -0.2]),
    ],
  );
  return model(g, 17);
}

const N = 128;
const x = Float32Array.from({ length: N * 64 }, () => rng.float() * 1.2 - 0.1);

/** The per-layer weight formats: 3 bits in INT4, 7 bits in INT8, native int4 (from the recipe), full int8. */
const WEIGHT_FORMATS = {
  w1: intFormat("int4", { valueBits: 3, symmetric: true }),
  w2: intFormat("int8", { valueBits: 7, symmetric: true }),
  wf: intFormat("int8"),
} as const;

/** The quantized model with per-layer formats, written by the QDQ writer and read back from its bytes. */
async function mixedModel(): Promise<Model> {
  const source = arraySource({ x: { dtype: 1, dims: [N, 1, 8, 8], data: x } });
  const int4 = (await quantizeModel(floatModel(), source, buildRecipe({ weights: "int4" }), { threads: 1 })).model;
  const { graph: g } = stripQdq(int4.graph!);
  const consts = constantTensors(g);
  const quant = new Map<string, QuantSpec>(g.quant);
  const weightValue = (nodeName: string) => g.nodes.find((n) => n.name === nodeName)!.inputs[1]!;
  for (const [w, format] of Object.entries(WEIGHT_FORMATS)) {
    const v = weightValue(w === "w1" ? "conv1" : w === "w2" ? "conv2" : "fc");
    quant.set(v, quantizeWeight(consts.get(v)!, 0, format).spec);
  }
  // conv2's output, one branch of the Add, becomes int16 over the same real range; the other
  // branch (the pool) 6-bit unsigned inside UINT8 storage
  const reformat = (v: string, format: IntFormat) => {
    const old = quant.get(v) as AffineQuant;
    const [s, z] = [old.scale[0]!, old.zeroPoint[0]!];
    const p = affineParams((old.format.qmin - z) * s, (old.format.qmax - z) * s, format, false);
    quant.set(v, { kind: "affine", format, scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint) });
  };
  reformat("c2", intFormat("int16"));
  reformat("a1", intFormat("uint8", { valueBits: 6 }));
  const written = { ...int4, graph: writeQdq({ ...g, quant }) };
  return decodeModel(encodeModel(written));
}

let mixed: Model;
let p: Program;
const tmp = mkdtempSync(join(tmpdir(), "fixq-mixed-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  mixed = await mixedModel();
  p = integerizeModel(mixed);
  // For scripts/check_annotations.py (onnx.checker), run by hand: FIXQ_MIXED_OUT=dir writes the QDQ and integer-only files.
  const out = process.env["FIXQ_MIXED_OUT"];
  if (out) {
    writeFileSync(join(out, "mixed.qdq.onnx"), encodeModel(mixed));
    writeFileSync(join(out, "mixed.int-only.onnx"), encodeModel(emitIntegerOnnx(p)));
  }
}, 120_000);

const layer = (prog: Program, name: string) => prog.ops.find((o) => (o.kind === "conv" || o.kind === "dense") && o.source.includes(`'${name}'`)) as ConvOp | DenseOp;
const weightTypes = (prog: Program) => ["conv1", "conv2", "conv3", "fc"].map((n) => intTypeName(layer(prog, n).weightType!));

describe("mixed integer formats through the file", () => {
  it("the file records each weight's exact format, in annotations that name existing tensors and parse as qonnx names", () => {
    const g = mixed.graph!;
    const ann = quantAnnotations(g);
    const names = tensorNames(g);
    for (const [t, e] of ann) {
      expect(names.has(t)).toBe(true);
      expect(qonnxDatatypeProblem(e.get("finn_datatype") ?? "INT8")).toBeUndefined();
    }
    const formatOf = (nodeName: string) => {
      const n = g.nodes.find((k) => k.name === nodeName)!;
      const dq = g.nodes.find((k) => k.outputs[0] === n.inputs[1])!;
      const codes = constantTensors(g).get(dq.inputs[0]!)!;
      const a = ann.get(dq.inputs[0]!)!;
      return [codes.dtype, a.get("fixq_format"), a.get("finn_datatype")];
    };
    expect(formatOf("conv1")).toEqual([DataType.INT4, "int3[-3,3]", "INT3"]);
    expect(formatOf("conv2")).toEqual([DataType.INT8, "int7[-63,63]", "INT7"]);
    expect(formatOf("conv3")).toEqual([DataType.INT4, "int4[-7,7]", "INT4"]);
    expect(formatOf("fc")[0]).toBe(DataType.INT8);
    expect(formatOf("fc")[2]).toBe("INT8");
  });

  it("come back as 3-, 7-, 4- and 8-bit weight types in the integer program, int16 in one branch and uint6 in the other", () => {
    expect(weightTypes(p)).toEqual(["int3", "int7", "int4", "int8"]);
    const add = p.ops.find((o) => o.kind === "rescale" && o.source.includes("'add'"))!;
    expect(add.kind === "rescale" && add.inputs.map((i) => intTypeName(p.values.get(i)!.type))).toEqual(["int16", "uint6"]);
    // the pool's requant clamps to the 6-bit range the file records, not to its UINT8 storage
    const pool = p.ops.find((o) => o.kind === "requant" && o.source.includes("'avg'"))!;
    expect(pool.kind === "requant" && [pool.clampLo, pool.clampHi]).toEqual([0, 63]);
    expect(quantAnnotations(mixed.graph!).get(mixed.graph!.nodes.find((n) => n.opType === "QuantizeLinear" && n.inputs[0] === "a1__f")!.outputs[0]!)?.get("fixq_format")).toBe("uint6");
  });

  it("without annotations (another tool's file) the weights read as the narrowest types holding their codes", () => {
    const bare = { ...mixed, graph: withQuantAnnotations(mixed.graph!, new Map()) };
    const q = integerizeModel(bare);
    // int3 holds [-3, 3]; [-63, 63] needs int7; int4 storage of [-7, 7] is int4 itself
    expect(weightTypes(q).slice(0, 3)).toEqual(["int3", "int7", "int4"]);
  });

  it("the certificate gives each layer its own weight type and holds on every value the emulator computes", () => {
    const cert = certifyProgram(p);
    expect(cert.ok).toBe(true);
    const rows = cert.rows.filter((r) => r.kind === "conv" || r.kind === "dense");
    expect(rows.map((r) => r.weightType)).toEqual(["int3", "int7", "int4", "int8"]);
    expect(() => runProgram(p, new Map([["x", x]]), N, { assertRanges: cert.ranges })).not.toThrow();
  });

  it("ONNX Runtime runs the mixed QDQ model, and the integer program tracks it", async () => {
    const s = await OrtSession.create(mixed, { threads: 1, optimization: "disabled" });
    let fq: Float32Array;
    try {
      fq = (await s.run({ x: { dtype: 1, dims: [N, 1, 8, 8], data: x } }))[s.outputNames[0]!]!.data as Float32Array;
    } finally {
      await s.release();
    }
    const emu = runProgram(p, new Map([["x", x]]), N).outputs.get("y")!;
    const step = (p.ops.at(-1) as { scale: number }).scale;
    let worst = 0;
    for (let i = 0; i < emu.length; i++) worst = Math.max(worst, Math.abs(emu[i]! - fq[i]!) / step);
    expect(worst).toBeLessThanOrEqual(4);
  });

  it("the integer ONNX export and the generated JS equal the emulator bit for bit, and declare the weight types", async () => {
    const emu = runProgram(p, new Map([["x", x]]), N);
    const ort = await integerOnnxRunner(p, { threads: 1 });
    try {
      const r = await ort.run(new Map([["x", x]]), N);
      expect(Array.from(r.ints.get("y")!)).toEqual(Array.from(emu.ints.get("y")!));
      expect(Array.from(r.outputs.get("y")!)).toEqual(Array.from(emu.outputs.get("y")!));
    } finally {
      await ort.release();
    }
    const files = emitJsModule(p);
    for (const [rel, text] of files) writeFileSync(join(tmp, rel), text);
    const mod = await import(pathToFileURL(join(tmp, "model.mjs")).href);
    const js = mod.runAll({ x }, N);
    expect(Array.from(js.ints.y as Int32Array)).toEqual(Array.from(emu.ints.get("y")!));
    expect(Array.from(js.outputs.y as Float32Array)).toEqual(Array.from(emu.outputs.get("y")!));
    const text = [...files.values()].join("\n");
    for (const t of ["int3", "int7", "int4", "int8"]) expect(text).toMatch(new RegExp(`/\\*\\* Weights \\[[0-9, ]+\\] ${t} `));
    // the integer-only ONNX annotates each weight it stores as itself (one int8 digit) with its exact type;
    // fc reads a uint8 activation, so its weight goes in as uint8 w + 128 (u8×u8) and is not annotated
    const onnxInt = emitIntegerOnnx(p).graph!;
    const declared = [...quantAnnotations(onnxInt).values()].map((e) => [e.get("fixq_format"), e.get("finn_datatype")]);
    expect(declared).toEqual(expect.arrayContaining([["int3", "INT3"], ["int7", "INT7"], ["int4", "INT4"]]));
    expect(declared.some(([f]) => f === "int8")).toBe(false);
    const names = tensorNames(onnxInt);
    for (const t of quantAnnotations(onnxInt).keys()) expect(names.has(t)).toBe(true);
  });
});
