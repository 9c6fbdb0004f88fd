/**
 * foldBatchNorm:
 *  - before/expected IR on a 1×1 Conv with hand-computed W' and b', and the BN
 *    statistics kept on the output value;
 *  - every layer form (Conv with groups, depthwise, ConvTranspose with groups,
 *    ConvTranspose + Add as Paddle2ONNX writes it, Gemm with transB both ways and
 *    alpha/beta, MatMul + Add, bare MatMul, weights in Constant nodes, BN
 *    parameters behind Identity) folded and run before and after in ORT;
 *  - BNs that stay, each with its reason;
 *  - run before and after on the bundled .bn models (max|Δ|/max|y| < 1e-4 on the
 *    evaluation images), and against the exporter's own folding (resnet.onnx,
 *    mobilenetv2.onnx).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import type { Attribute, Graph, Node } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { foldBatchNorm } from "../../src/passes/fold-batchnorm.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { bnInputs, bnParams, evalImages, feedsOf, randTensor, Rng, run, tensor, values, worstRelErr } from "./float-helpers.js";

const flt = (name: string, f: number): Attribute => ({ name, type: 1, f });

function fold(g: Graph) {
  const out = foldBatchNorm(g);
  return { ...out, model: model(out.graph) };
}

describe("foldBatchNorm: before/expected", () => {
  it("folds a 1×1 Conv: W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β, and keeps β, γ on the output", () => {
    // σ² + ε = [4, 1] and γ = [4, 0.5], so s = [2, 0.5].
    const g = graph(
      [node("Conv", ["x", "W"], ["c"], [], "conv"), node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], [flt("epsilon", 0.5)], "bn")],
      [value("x", 1, [1, 2, 3, 3])],
      [value("y", 1, [1, 2, 3, 3])],
      [tensor("W", [2, 2, 1, 1], [1, 2, 3, 4]), tensor("g", [2], [4, 0.5]), tensor("b", [2], [1, -1]), tensor("m", [2], [0.5, 1]), tensor("v", [2], [3.5, 0.5])],
    );
    const { graph: out, report } = foldBatchNorm(g);
    expect(out.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual([["Conv", ["x", "W", "W_bias"], ["y"]]]);
    expect(out.initializers.map((t) => t.name)).toEqual(["W", "W_bias"]);
    expect(values(out, "W")).toEqual([2, 4, 1.5, 2]);
    expect(values(out, "W_bias")).toEqual([0, -1.5]);
    expect([...out.bnStats!.keys()]).toEqual(["y"]);
    expect(Array.from(out.bnStats!.get("y")!.beta)).toEqual([1, -1]);
    expect(Array.from(out.bnStats!.get("y")!.gamma)).toEqual([4, 0.5]);
    expect(report).toEqual({ pass: "fold-batchnorm", folded: [{ bn: "bn", into: "conv", output: "y" }], unfolded: [] });
  });

  it("returns the same graph when there is no BatchNormalization", () => {
    const g = graph([node("Relu", ["x"], ["y"])], [value("x", 1, [1, 2])], [value("y", 1, [1, 2])]);
    expect(foldBatchNorm(g).graph).toBe(g);
  });
});

/** One layer followed by a BN, the layer's output channels `c`; returns the graph and feeds. */
interface Case {
  name: string;
  nodes: Node[];
  inits: ReturnType<typeof tensor>[];
  input: number[];
  channels: number;
}

function cases(rng: Rng): Case[] {
  const bn = (x: string, c: number) => ({ node: node("BatchNormalization", bnInputs(x, "bn"), ["y"], [flt("epsilon", 1e-3)], "bn"), inits: bnParams(rng, "bn", c) });
  const mk = (name: string, nodes: Node[], inits: ReturnType<typeof tensor>[], input: number[], channels: number, bnInput = "h"): Case => {
    const b = bn(bnInput, channels);
    return { name, nodes: [...nodes, b.node], inits: [...inits, ...b.inits], input, channels };
  };
  return [
    mk("Conv 3×3, groups 2, bias", [node("Conv", ["x", "W", "B"], ["h"], [int("group", 2), ints("pads", [1, 1, 1, 1])])], [randTensor(rng, "W", [6, 2, 3, 3]), randTensor(rng, "B", [6])], [2, 4, 5, 5], 6),
    mk("depthwise Conv", [node("Conv", ["x", "W"], ["h"], [int("group", 4), ints("kernel_shape", [3, 3])])], [randTensor(rng, "W", [4, 1, 3, 3])], [2, 4, 5, 5], 4),
    mk("ConvTranspose, groups 2, stride 2", [node("ConvTranspose", ["x", "W"], ["h"], [int("group", 2), ints("strides", [2, 2])])], [randTensor(rng, "W", [4, 3, 2, 2])], [2, 4, 3, 3], 6),
    mk(
      "ConvTranspose + Add [1,C,1,1] (Paddle2ONNX)",
      [node("ConvTranspose", ["x", "W"], ["t"], [ints("strides", [2, 2])]), node("Add", ["t", "B"], ["h"])],
      [randTensor(rng, "W", [4, 3, 2, 2]), randTensor(rng, "B", [1, 3, 1, 1])],
      [2, 4, 3, 3],
      3,
    ),
    mk("Gemm transB=1, alpha, beta", [node("Gemm", ["x", "W", "C"], ["h"], [int("transB", 1), flt("alpha", 0.5), flt("beta", 2)])], [randTensor(rng, "W", [5, 3]), randTensor(rng, "C", [5])], [4, 3], 5),
    mk("Gemm transB=0, no C", [node("Gemm", ["x", "W"], ["h"])], [randTensor(rng, "W", [3, 5])], [4, 3], 5),
    mk("MatMul + Add", [node("MatMul", ["x", "W"], ["t"]), node("Add", ["B", "t"], ["h"])], [randTensor(rng, "W", [3, 5]), randTensor(rng, "B", [5])], [4, 3], 5),
    mk("bare MatMul", [node("MatMul", ["x", "W"], ["h"])], [randTensor(rng, "W", [3, 5])], [4, 3], 5),
  ];
}

describe("foldBatchNorm: every layer form, run before and after in ORT", () => {
  const rng = new Rng(5);
  for (const c of cases(rng)) {
    it(c.name, async () => {
      const g = graph(c.nodes, [value("x", 1, c.input)], [value("y", 1)], c.inits);
      const { graph: out, model: m, report } = fold(g);
      expect(report.unfolded).toEqual([]);
      expect(out.nodes.some((n) => n.opType === "BatchNormalization")).toBe(false);
      expect(out.initializers.some((t) => t.name?.startsWith("bn."))).toBe(false);
      expect(out.bnStats!.get("y")!.gamma).toHaveLength(c.channels);
      const feeds = feedsOf("x", c.input, rng);
      expect(worstRelErr(await run(model(g), feeds), await run(m, feeds))).toBeLessThan(1e-5);
    });
  }

  it("weights and BN parameters in Constant nodes, a BN parameter behind Identity (Paddle2ONNX, PyTorch dedup)", async () => {
    const r = new Rng(9);
    const constant = (name: string, t: ReturnType<typeof tensor>): Node => node("Constant", [], [name], [{ name: "value", type: 4, t }]);
    const p = bnParams(r, "bn", 4);
    const g = graph(
      [
        constant("W", randTensor(r, "", [4, 2, 3, 3])),
        ...p.map((t) => constant(t.name!, t)),
        node("Identity", ["bn.beta"], ["beta2"]),
        node("Conv", ["x", "W"], ["h"]),
        node("BatchNormalization", ["h", "bn.gamma", "beta2", "bn.mean", "bn.var"], ["y"]),
      ],
      [value("x", 1, [1, 2, 6, 6])],
      [value("y", 1)],
    );
    const { graph: out, model: m, report } = fold(g);
    expect(report.folded).toHaveLength(1);
    expect(out.nodes.map((n) => n.opType)).toEqual(["Constant", "Conv"]);
    const feeds = feedsOf("x", [1, 2, 6, 6], r);
    expect(worstRelErr(await run(model(g), feeds), await run(m, feeds))).toBeLessThan(1e-5);
  });
});

describe("foldBatchNorm: BNs that stay, with the reason", () => {
  const rng = new Rng(3);
  const p = bnParams(rng, "bn", 2);
  const bnNode = (x: string, y = "y", extra: Attribute[] = [], outs = [y]) => node("BatchNormalization", bnInputs(x, "bn"), outs, extra, `bn_${x}`);
  const conv = (x: string, w: string, y: string) => node("Conv", [x, w], [y], [], `conv_${y}`);
  const W = randTensor(rng, "W", [2, 2, 1, 1]);
  const reasonOf = (nodes: Node[], inits = [W, ...p], inputs = [value("x", 1, [1, 2, 3, 3])], outputs = [value("y", 1)]) => {
    const g = graph(nodes, inputs, outputs, inits);
    const { graph: out, report } = foldBatchNorm(g);
    expect(out.nodes.filter((n) => n.opType === "BatchNormalization")).toHaveLength(report.unfolded.length);
    return report.unfolded.map((u) => u.reason);
  };

  it("no producer: the BN reads a graph input", () => {
    expect(reasonOf([bnNode("x")])).toEqual(["its input is not computed by a node"]);
  });
  it("a producer that is not a linear layer", () => {
    expect(reasonOf([node("Relu", ["x"], ["r"]), bnNode("r")])).toEqual(["its input comes from Relu, not from a Conv, ConvTranspose, Gemm or MatMul"]);
  });
  it("a producer whose output has another consumer", () => {
    const outputs = [value("y", 1), value("z", 1)];
    expect(reasonOf([conv("x", "W", "h"), bnNode("h"), node("Relu", ["h"], ["z"])], undefined, undefined, outputs)).toEqual(["its input 'h' has other consumers"]);
  });
  it("a producer whose output is a graph output", () => {
    expect(reasonOf([conv("x", "W", "h"), bnNode("h")], undefined, undefined, [value("y", 1), value("h", 1)])).toEqual(["its input 'h' has other consumers"]);
  });
  it("a weight shared by two layers", () => {
    const nodes = [conv("x", "W", "h"), conv("x", "W", "h2"), bnNode("h"), node("Add", ["y", "h2"], ["z"])];
    expect(reasonOf(nodes, undefined, undefined, [value("z", 1)])).toEqual(["conv_h: 'W' is shared with other nodes"]);
  });
  it("parameters that are not constants", () => {
    const inputs = [value("x", 1, [1, 2, 3, 3]), value("bn.gamma", 1, [2])];
    expect(reasonOf([conv("x", "W", "h"), bnNode("h")], [W, ...p.slice(1)], inputs)).toEqual(["its scale, bias, mean and variance are not all float constants"]);
  });
  it("training mode: running statistics outputs in use, or training_mode=1", () => {
    const outputs = [value("y", 1), value("rm", 1)];
    expect(reasonOf([conv("x", "W", "h"), bnNode("h", "y", [], ["y", "rm", "rv"])], undefined, undefined, outputs)).toEqual([
      "training-mode outputs (running or saved statistics) are used",
    ]);
    expect(reasonOf([conv("x", "W", "h"), bnNode("h", "y", [int("training_mode", 1)])])).toEqual(["training_mode=1"]);
  });
  it("a MatMul whose channels are not on axis 1 (rank-3 output)", () => {
    const nodes = [node("MatMul", ["x", "M"], ["h"], [], "mm"), bnNode("h")];
    const inputs = [value("x", 1, [1, 2, 3])];
    expect(reasonOf(nodes, [randTensor(rng, "M", [3, 2]), ...p], inputs)).toEqual([
      "mm puts channels on axis 2 of a rank-3 output; BatchNormalization normalizes axis 1",
    ]);
  });
});

describe("foldBatchNorm on the bundled models", () => {
  const x = evalImages(500);
  for (const name of ["resnet", "mobilenetv2"]) {
    it(`${name}.bn: every BN folds, and the float function is kept (max|Δ|/max|y| < 1e-4), also against the exporter's folding`, async () => {
      const bn = loadModel(join(MODELS_DIR, `${name}.bn.onnx`));
      const count = bn.graph!.nodes.filter((n) => n.opType === "BatchNormalization").length;
      const { graph: out, report } = foldBatchNorm(bn.graph!);
      expect(report.folded).toHaveLength(count);
      expect(report.unfolded).toEqual([]);
      expect(out.bnStats!.size).toBe(count);
      const folded = { ...bn, graph: out };
      const ref = await run(bn, { input: x });
      const got = await run(folded, { input: x });
      const err = worstRelErr(ref, got);
      const exporter = worstRelErr(await run(loadModel(join(MODELS_DIR, `${name}.onnx`)), { input: x }), got);
      console.log(`${name}.bn: ${count} BNs folded; error vs unfolded ${err.toExponential(2)}, vs exporter-folded ${exporter.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
      expect(exporter).toBeLessThan(1e-4);
    });
  }
});
