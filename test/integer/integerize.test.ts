import { beforeAll, describe, expect, it } from "vitest";
import type { Graph, Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { type AffineQuant, intFormat, type QuantSpec } from "../../src/ir/quant.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { integerize, integerizeModel } from "../../src/integer/integerize.js";
import type { ConvOp, RequantOp, RescaleOp } from "../../src/integer/program.js";
import { dyadicValue } from "../../src/numerics/requant.js";
import { graph, int, ints, node, value } from "../ir/builders.js";
import { quantizedCnn } from "../helpers/qdq-models.js";

const u8 = intFormat("uint8");
const s8 = intFormat("int8");
const act = (scale: number, zp: number): AffineQuant => ({ kind: "affine", format: u8, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) });

/** x[1,2,4,4] → Conv(w[3,2,1,1], b) → Relu → y, and y + x2 → Add → z; specs as a QDQ model would carry them. */
function convAddGraph(): Graph {
  const w = makeFloatTensor("w", [3, 2, 1, 1], [0.5, -0.25, 1, 0, -0.5, 0.75]);
  const b = makeFloatTensor("b", [3], [0.1, -0.2, 0]);
  const quant = new Map<string, QuantSpec>([
    ["x", act(1 / 64, 3)],
    ["w", { kind: "affine", format: s8, scale: Float32Array.of(1 / 128, 1 / 64, 1 / 128), zeroPoint: new Int32Array(3), axis: 0 }],
    ["y", act(1 / 32, 0)],
    ["x2", act(1 / 16, 10)],
    ["z", act(1 / 8, 7)],
  ]);
  const g = graph(
    [
      node("Conv", ["x", "w", "b"], ["c"], [ints("pads", [0, 0, 0, 0])], "conv"),
      node("Relu", ["c"], ["y"], [], "relu"),
      node("Add", ["y", "x2"], ["z"], [], "add"),
    ],
    [value("x", 1, ["N", 2, 4, 4]), value("x2", 1, ["N", 3, 4, 4])],
    [value("z", 1, ["N", 3, 4, 4])],
    [w, b],
  );
  return { ...g, quant };
}

describe("integerize: before/expected on a small graph", () => {
  const p = integerize(convAddGraph());

  it("lowers to quantize, conv, requant, rescale, dequantize in order", () => {
    expect(p.ops.map((o) => o.kind)).toEqual(["quantize", "quantize", "conv", "requant", "rescale", "dequantize"]);
    expect(p.inputs.map((i) => [i.name, i.shape])).toEqual([
      ["x", [2, 4, 4]],
      ["x2", [3, 4, 4]],
    ]);
  });

  it("makes the weights integers, the bias int32 at S_x·S_w, and the requant dyadic per channel", () => {
    const conv = p.ops[2] as ConvOp;
    expect([...conv.weight]).toEqual([64, -32, 64, 0, -64, 96]);
    expect(conv.inputZero).toBe(3);
    // b / (S_x · S_w[c]): 0.1·64·128 = 819.2 → 819, −0.2·64·64 = −819.2 → −819
    expect([...conv.bias!]).toEqual([819, -819, 0]);
    const rq = p.ops[3] as RequantOp;
    const M = [(1 / 64 / 128) * 32, (1 / 64 / 64) * 32, (1 / 64 / 128) * 32];
    expect(rq.multipliers.map(dyadicValue)).toEqual(M); // powers of two are exact
    expect([rq.clampLo, rq.clampHi, rq.outZero]).toEqual([0, 255, 0]); // Relu: Q(0) = z_y
  });

  it("rescales each Add branch into the output scale with one shared shift", () => {
    const add = p.ops[4] as RescaleOp;
    expect(add.inputZeros).toEqual([0, 10]);
    expect(add.multipliers.map((m) => m / 2 ** add.shift)).toEqual([(1 / 32) * 8, (1 / 16) * 8]);
    expect(add.outZero).toBe(7);
  });
});

describe("integerize: refusals", () => {
  it("lists every unsupported op together", () => {
    const g = convAddGraph();
    const bad = { ...g, nodes: [...g.nodes, node("TopK", ["z"], ["s1"], [], "tk1"), node("TopK", ["s1"], ["s2"], [], "tk2"), node("Einsum", ["s2"], ["e"], [], "ein")] };
    expect(() => integerize(bad)).toThrow(/unsupported ops: TopK ×2 \(first 'tk1'\), Einsum ×1 \(first 'ein'\)/);
  });

  it("names the first float op and what it lacks", () => {
    const g = convAddGraph();
    const quant = new Map(g.quant);
    quant.delete("x");
    expect(() => integerize({ ...g, quant })).toThrow(/not fully quantized: Conv 'conv' reads 'x', which is float/);
    const q2 = new Map(g.quant);
    q2.delete("y");
    expect(() => integerize({ ...g, quant: q2 })).toThrow(/not fully quantized: the output 'c' of Conv 'conv' has no integer quantization spec/);
  });

  it("names a constant read where only a computed value can go (a ViT's cls token concatenated to the patches) as a constant, not as 'float'", () => {
    const g = convAddGraph();
    const cls = makeFloatTensor("cls", [1, 1, 4, 4], new Array<number>(16).fill(0.5));
    const cat = { ...g, nodes: [...g.nodes, node("Concat", ["z", "cls"], ["cat"], [int("axis", 1)], "concat")], outputs: [value("cat", 1, ["N", 4, 4, 4])], initializers: [...g.initializers, cls] };
    expect(() => integerize({ ...cat, quant: new Map([...g.quant!, ["cat", act(1 / 8, 7)]]) })).toThrow(
      "cannot integerize: Concat 'concat' reads the constant 'cls' (f32 [1,1,4,4]) where integer code takes only a computed value",
    );
  });

  it("gives a conv whose rescale's shift does not fit the zero multiplier where its accumulator bound proves every product below ½", () => {
    const g = convAddGraph();
    const quant = new Map(g.quant);
    quant.set("y", act(2 ** 40, 0)); // M ≈ 2^-53: shift 83 at 31 bits; |acc| ≤ 96·252 + 819 < 2^15, so |acc·M| < 2^-38
    const p2 = integerize({ ...g, quant, nodes: g.nodes.slice(0, 2), outputs: [value("y", 1, ["N", 3, 4, 4])] });
    const rq = p2.ops.find((o): o is RequantOp => o.kind === "requant")!;
    expect(rq.multipliers).toEqual([
      { m: 0, s: 0 },
      { m: 0, s: 0 },
      { m: 0, s: 0 },
    ]);
    // the Add after it cannot rescale 2^40 into 1/8 and says so (the refusal of an unbounded shift: test/quant/bias-headroom.test.ts)
    expect(() => integerize({ ...g, quant })).toThrow(/Add 'add': cannot integerize: rescale factor .* needs a left shift/);
  });

  it("refuses pools it would mis-lower: auto_pad, a dilated AveragePool, a Concat without an axis", () => {
    const g = convAddGraph();
    const withPool = (attrs: ReturnType<typeof ints>[], op = "AveragePool") => ({
      ...g,
      nodes: [...g.nodes, node(op, ["z"], ["p"], attrs, "pool")],
      outputs: [value("p", 1, ["N", 3, 4, 4])],
      quant: new Map([...g.quant!, ["p", act(1 / 8, 7)]]),
    });
    const autoPad = { name: "auto_pad", type: 3, s: new TextEncoder().encode("SAME_UPPER") };
    expect(() => integerize(withPool([ints("kernel_shape", [3, 3]), autoPad], "MaxPool"))).toThrow(/MaxPool 'pool' uses auto_pad/);
    expect(() => integerize(withPool([ints("kernel_shape", [3, 3]), ints("dilations", [2, 2])]))).toThrow(/AveragePool 'pool' is a dilated AveragePool/);
    expect(() => integerize(withPool([]))).toThrow(/AveragePool 'pool' has no kernel_shape/);
    const cat = { ...withPool([], "Concat"), nodes: [...g.nodes, node("Concat", ["z", "z"], ["p"], [], "cat")] };
    expect(() => integerize(cat)).toThrow(/Concat 'cat' has no axis attribute/);
  });

  it("reads an int32 bias back only when its scale is the accumulator's; otherwise re-rounds it", () => {
    const g = convAddGraph();
    const quant = new Map(g.quant);
    const at = (scale: Float32Array): AffineQuant => ({ kind: "affine", format: { dtype: 6, bits: 32, signed: true, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 }, scale, zeroPoint: new Int32Array(3), axis: 0 });
    // b = [0.1, −0.2, 0] at S_x·S_w = [2^-13, 2^-12, 2^-13]: 819.2 → 819, −819.2 → −819
    quant.set("b", at(Float32Array.of(2 ** -13, 2 ** -12, 2 ** -13)));
    expect([...(integerize({ ...g, quant }).ops[2] as ConvOp).bias!]).toEqual([819, -819, 0]);
    quant.set("b", at(Float32Array.of(2 ** -11, 2 ** -10, 2 ** -11))); // 4× the accumulator's scale: not read as is
    expect([...(integerize({ ...g, quant }).ops[2] as ConvOp).bias!]).toEqual([819, -819, 0]);
  });

  it("refuses an unquantized model", () => {
    expect(() => integerizeModel(loadModel("models/cnn.onnx"))).toThrow(/not quantized/);
  });

  it("leaves out a graph input that no node reads (a program input without a quantize op would break every back end)", () => {
    const g = convAddGraph();
    const p = integerize({ ...g, inputs: [...g.inputs, value("unused", 1, [4, 3])] });
    expect(p.inputs.map((i) => i.name)).toEqual(["x", "x2"]);
    expect(p.ops.filter((o) => o.kind === "quantize").map((o) => o.input)).toEqual(["x", "x2"]);
  });

  it("refuses a Conv whose weight is not a constant", () => {
    const g = convAddGraph();
    const dynamicW = { ...g, inputs: [...g.inputs, value("w2", 1, [3, 2, 1, 1])], nodes: [{ ...g.nodes[0]!, inputs: ["x", "w2", "b"], attributes: [...g.nodes[0]!.attributes, int("group", 1)] }, ...g.nodes.slice(1)] };
    expect(() => integerize(dynamicW)).toThrow(/Conv 'conv' has a non-constant weight 'w2'/);
  });
});

describe("integerize: a bundled model quantized by fixq", () => {
  let quantized: Model;
  beforeAll(async () => {
    quantized = (await quantizedCnn()).quantized;
  });

  it("leaves no float op between the input quantize and the output dequantize", () => {
    const p = integerizeModel(quantized);
    const kinds = p.ops.map((o) => o.kind);
    expect(kinds[0]).toBe("quantize");
    expect(kinds.at(-1)).toBe("dequantize");
    expect(kinds.slice(1, -1).every((k) => k !== "quantize" && k !== "dequantize")).toBe(true);
    expect(kinds.filter((k) => k === "conv")).toHaveLength(3);
    expect(kinds.filter((k) => k === "dense")).toHaveLength(2);
    expect(kinds.filter((k) => k === "maxpool")).toHaveLength(3);
    for (const v of p.values.values()) expect(v.type.kind).toBe("int");
  });

  it("double rounding and narrower multipliers are options", () => {
    const p = integerizeModel(quantized, { rounding: "double", multiplierBits: 16 });
    expect(p.rounding).toBe("double");
    const rq = p.ops.find((o) => o.kind === "requant") as RequantOp;
    expect(rq.multipliers.every((d) => d.m < 2 ** 16 && d.m >= 2 ** 15)).toBe(true);
  });
});
