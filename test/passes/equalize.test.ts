/**
 * equalize (cross-layer equalization):
 *  - before/expected IR on a 1×1 Conv → Relu → 1×1 Conv pair with
 *    hand-computed scales sᵢ = √(r⁽¹⁾ᵢ/r⁽²⁾ᵢ);
 *  - every chain form (grouped Conv, Conv → depthwise → Conv, ConvTranspose,
 *    Gemm both transB, MatMul + Add on rank 3, LeakyRelu, PRelu, MaxPool and
 *    Flatten between) keeps the function in ORT, and after convergence the
 *    two sides of each pair have equal per-channel ranges;
 *  - chains never cross a branch point, a graph output, ReLU6 or an Add, each
 *    skip with its reason; all-zero channels keep s = 1; BN statistics are
 *    rescaled with the weights;
 *  - run before and after on every bundled CNN: max|Δ|/max|y| < 1e-4, at least
 *    one chain, and a smaller weight-range spread. MobileNetV2 is compared with
 *    its ReLU6 → ReLU float model, and the float accuracy change of ReLU6 → ReLU
 *    is measured on the evaluation set.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { evaluateClassifier } from "../../src/eval/classify.js";
import type { Attribute, Node } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { equalize } from "../../src/passes/equalize.js";
import { foldBatchNorm } from "../../src/passes/fold-batchnorm.js";
import { findReport, prepareFloatModel } from "../../src/passes/pipeline.js";
import { relu6ToRelu } from "../../src/passes/relu6-to-relu.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { bnInputs, bnParams, evalImages, evalLabels, feedsOf, randTensor, Rng, run, tensor, values, worstRelErr } from "./float-helpers.js";

const flt = (name: string, f: number): Attribute => ({ name, type: 1, f });

describe("equalize: before/expected", () => {
  it("scales output channel i of layer 1 by 1/sᵢ and input channel i of layer 2 by sᵢ, sᵢ = √(r⁽¹⁾ᵢ/r⁽²⁾ᵢ)", () => {
    // r1 = [4, 1], r2 = [1, 4]: s = [2, 0.5]; both sides end at √(r1·r2) = [2, 2].
    const g = graph(
      [node("Conv", ["x", "W1", "B1"], ["h"], [], "c1"), node("Relu", ["h"], ["r"]), node("Conv", ["r", "W2"], ["y"], [], "c2")],
      [value("x", 1, [1, 1, 2, 2])],
      [value("y", 1, [1, 1, 2, 2])],
      [tensor("W1", [2, 1, 1, 1], [4, -1]), tensor("B1", [2], [2, 1]), tensor("W2", [1, 2, 1, 1], [1, -4])],
    );
    const { graph: out, report } = equalize(g);
    expect(values(out, "W1")).toEqual([2, -2]);
    expect(values(out, "B1")).toEqual([1, 2]);
    expect(values(out, "W2")).toEqual([2, -2]);
    expect(out.nodes).toEqual(g.nodes);
    expect(report.chains).toEqual([{ first: "c1", second: "c2", through: ["Relu"] }]);
    expect(report.skipped).toEqual([{ layer: "c2", reason: "'y' is a graph output" }]);
    expect(report.layers).toEqual([
      { layer: "c1", before: 4, after: 1 },
      { layer: "c2", before: 1, after: 1 },
    ]);
    expect(report.converged).toBe(true);
    expect(report.iterations).toBe(2);
  });

  it("keeps s = 1 for a channel that is all zero on either side", () => {
    const g = graph(
      [node("Conv", ["x", "W1"], ["h"], [], "c1"), node("Relu", ["h"], ["r"]), node("Conv", ["r", "W2"], ["y"], [], "c2")],
      [value("x", 1, [1, 1, 2, 2])],
      [value("y", 1)],
      [tensor("W1", [3, 1, 1, 1], [0, 4, 3]), tensor("W2", [1, 3, 1, 1], [5, 1, 0])],
    );
    const out = equalize(g).graph;
    expect(values(out, "W1")).toEqual([0, 2, 3]);
    expect(values(out, "W2")).toEqual([5, 2, 0]);
  });
});

/** Per-channel ranges of layer 1's output channels and of layer 2's input channels, for `c` channels of 1×1 / dense layers. */
function sidesEqual(a: number[], b: number[]): void {
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!) / Math.max(a[i]!, b[i]!)).toBeLessThan(1e-5);
}

interface ChainCase {
  name: string;
  nodes: Node[];
  inits: ReturnType<typeof tensor>[];
  input: number[];
  chains: number;
}

function chainCases(r: Rng): ChainCase[] {
  return [
    {
      name: "Conv 3×3 groups 2 → Relu → Conv",
      nodes: [node("Conv", ["x", "W1", "B1"], ["h"], [int("group", 2), ints("pads", [1, 1, 1, 1])]), node("Relu", ["h"], ["r"]), node("Conv", ["r", "W2", "B2"], ["y"], [int("group", 2)])],
      inits: [randTensor(r, "W1", [8, 2, 3, 3]), randTensor(r, "B1", [8]), randTensor(r, "W2", [6, 4, 1, 1]), randTensor(r, "B2", [6])],
      input: [2, 4, 6, 6],
      chains: 1,
    },
    {
      name: "Conv → Relu → depthwise Conv → Relu → Conv (a triple, iterated)",
      nodes: [
        node("Conv", ["x", "W1", "B1"], ["h1"]),
        node("Relu", ["h1"], ["r1"]),
        node("Conv", ["r1", "W2", "B2"], ["h2"], [int("group", 6), ints("pads", [1, 1, 1, 1])]),
        node("Relu", ["h2"], ["r2"]),
        node("Conv", ["r2", "W3"], ["y"]),
      ],
      inits: [randTensor(r, "W1", [6, 3, 1, 1]), randTensor(r, "B1", [6]), randTensor(r, "W2", [6, 1, 3, 3]), randTensor(r, "B2", [6]), randTensor(r, "W3", [4, 6, 1, 1])],
      input: [2, 3, 5, 5],
      chains: 2,
    },
    {
      name: "ConvTranspose → LeakyRelu → Conv",
      nodes: [node("ConvTranspose", ["x", "W1"], ["h"], [ints("strides", [2, 2])]), node("LeakyRelu", ["h"], ["r"], [flt("alpha", 0.1)]), node("Conv", ["r", "W2"], ["y"])],
      inits: [randTensor(r, "W1", [3, 5, 2, 2]), randTensor(r, "W2", [2, 5, 3, 3])],
      input: [1, 3, 4, 4],
      chains: 1,
    },
    {
      name: "Gemm transB=1 → PRelu (slopes of both signs) → Gemm transB=0",
      nodes: [node("Gemm", ["x", "W1", "C1"], ["h"], [int("transB", 1), flt("beta", 0.5)]), node("PRelu", ["h", "slope"], ["r"]), node("Gemm", ["r", "W2", "C2"], ["y"])],
      inits: [randTensor(r, "W1", [7, 4]), randTensor(r, "C1", [7]), tensor("slope", [7], [0.1, -0.2, 0.3, 0.25, -0.5, 0.05, 1.5]), randTensor(r, "W2", [7, 3]), randTensor(r, "C2", [3])],
      input: [5, 4],
      chains: 1,
    },
    {
      name: "MatMul + Add on rank 3 → Relu → MatMul",
      nodes: [node("MatMul", ["x", "W1"], ["t"]), node("Add", ["t", "B1"], ["h"]), node("Relu", ["h"], ["r"]), node("MatMul", ["r", "W2"], ["y"])],
      inits: [randTensor(r, "W1", [4, 6]), randTensor(r, "B1", [6]), randTensor(r, "W2", [6, 3])],
      input: [2, 5, 4],
      chains: 1,
    },
    {
      name: "Conv → Relu → MaxPool → Flatten → Gemm (channel c feeds features c·S … c·S+S−1)",
      nodes: [
        node("Conv", ["x", "W1", "B1"], ["h"], [ints("pads", [1, 1, 1, 1])]),
        node("Relu", ["h"], ["r"]),
        node("MaxPool", ["r"], ["p"], [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]),
        node("Flatten", ["p"], ["f"]),
        node("Gemm", ["f", "W2"], ["y"], [int("transB", 1)]),
      ],
      inits: [randTensor(r, "W1", [4, 2, 3, 3]), randTensor(r, "B1", [4]), randTensor(r, "W2", [3, 16])],
      input: [2, 2, 4, 4],
      chains: 1,
    },
  ];
}

describe("equalize: chain forms keep the function (ORT) and balance the ranges", () => {
  const rng = new Rng(11);
  for (const c of chainCases(rng)) {
    it(c.name, async () => {
      const g = graph(c.nodes, [value("x", 1, c.input)], [value("y", 1)], c.inits);
      const { graph: out, report } = equalize(g, { tolerance: 1e-9, maxIterations: 500 });
      expect(report.chains).toHaveLength(c.chains);
      expect(report.converged).toBe(true);
      const feeds = feedsOf("x", c.input, rng);
      expect(worstRelErr(await run(model(g), feeds), await run(model(out), feeds))).toBeLessThan(1e-5);
    });
  }

  it("after convergence, both sides of each pair of the triple have the same per-channel range", () => {
    const c = chainCases(new Rng(11))[1]!;
    const out = equalize(graph(c.nodes, [value("x", 1, c.input)], [value("y", 1)], c.inits), { tolerance: 1e-12, maxIterations: 1000 }).graph;
    const rows = (v: number[], n: number) => Array.from({ length: n }, (_, i) => Math.max(...v.slice((i * v.length) / n, ((i + 1) * v.length) / n).map(Math.abs)));
    const w1 = values(out, "W1");
    const w2 = values(out, "W2");
    const w3 = values(out, "W3");
    const cols3 = Array.from({ length: 6 }, (_, i) => Math.max(...[0, 1, 2, 3].map((o) => Math.abs(w3[o * 6 + i]!))));
    sidesEqual(rows(w1, 6), rows(w2, 6)); // W1 output channel i vs depthwise input channel i
    sidesEqual(rows(w2, 6), cols3); // depthwise output channel i vs W3 input channel i
  });
});

describe("equalize: what stops a chain", () => {
  const r = new Rng(2);
  const W = () => [randTensor(r, "W1", [3, 2, 1, 1]), randTensor(r, "W2", [3, 3, 1, 1]), randTensor(r, "W3", [3, 3, 1, 1])];
  const c = (x: string, w: string, y: string) => node("Conv", [x, w], [y], [], y);
  const skips = (nodes: Node[], outputs = [value("y", 1)], inits = W()) => {
    const g = graph(nodes, [value("x", 1, [1, 2, 2, 2])], outputs, inits);
    const { graph: out, report } = equalize(g);
    return { g, out, report };
  };

  it("a branch point: a value with two consumers (residual) is never equalized across", () => {
    const { g, out, report } = skips([c("x", "W1", "h"), node("Relu", ["h"], ["r"]), c("r", "W2", "a"), c("r", "W3", "b"), node("Add", ["a", "b"], ["y"])]);
    expect(report.chains).toEqual([]);
    expect(report.skipped).toContainEqual({ layer: "h", reason: "'r' has 2 consumers (a branch point)" });
    expect(out).toBe(g);
  });
  it("a graph output between the layers", () => {
    const { report } = skips([c("x", "W1", "h"), node("Relu", ["h"], ["r"]), c("r", "W2", "y")], [value("y", 1), value("r", 1)]);
    expect(report.skipped).toContainEqual({ layer: "h", reason: "'r' is a graph output" });
    expect(report.chains).toEqual([]);
  });
  it("ReLU6 (Clip 0..6) stops the chain; after relu6ToRelu the chain is equalized", () => {
    const nodes = [c("x", "W1", "h"), node("Clip", ["h", "zero", "six"], ["r"]), c("r", "W2", "y")];
    const inits = [...W(), tensor("zero", [], [0]), tensor("six", [], [6])];
    const { report } = skips(nodes, undefined, inits);
    expect(report.skipped).toContainEqual({ layer: "h", reason: "ReLU6 (Clip 0..6) is not scale-equivariant (--relu6-to-relu replaces it)" });
    const g = graph(nodes, [value("x", 1, [1, 2, 2, 2])], [value("y", 1)], inits);
    const relu = relu6ToRelu(g);
    expect(relu.report).toEqual({ pass: "relu6-to-relu", replaced: ["node #1 (Clip)"], kept: [] });
    expect(relu.graph.nodes.map((n) => n.opType)).toEqual(["Conv", "Relu", "Conv"]);
    expect(relu.graph.initializers.map((t) => t.name)).toEqual(["W1", "W2", "W3"]);
    expect(equalize(relu.graph).report.chains).toHaveLength(1);
  });
  it("an op that is not scale-equivariant (Add of a constant, Sigmoid)", () => {
    const { report } = skips([c("x", "W1", "h"), node("Sigmoid", ["h"], ["r"]), c("r", "W2", "y")]);
    expect(report.skipped).toContainEqual({ layer: "h", reason: "Sigmoid is not known to be scale-equivariant" });
  });
});

describe("equalize: BN statistics move with the channels", () => {
  it("β and γ of layer 1's output are divided by the same sᵢ as its weights", () => {
    const r = new Rng(4);
    const g0 = graph(
      [node("Conv", ["x", "W1"], ["c"]), node("BatchNormalization", bnInputs("c", "bn"), ["h"]), node("Relu", ["h"], ["r"]), node("Conv", ["r", "W2"], ["y"])],
      [value("x", 1, [1, 2, 3, 3])],
      [value("y", 1)],
      [randTensor(r, "W1", [4, 2, 1, 1]), ...bnParams(r, "bn", 4), randTensor(r, "W2", [2, 4, 1, 1])],
    );
    const folded = foldBatchNorm(g0).graph;
    const eq = equalize(folded).graph;
    const before = folded.bnStats!.get("h")!;
    const after = eq.bnStats!.get("h")!;
    const w0 = values(folded, "W1");
    const w1 = values(eq, "W1");
    for (let i = 0; i < 4; i++) {
      const s = w0[i * 2]! / w1[i * 2]!;
      expect(before.beta[i]! / after.beta[i]!).toBeCloseTo(s, 5);
      expect(before.gamma[i]! / after.gamma[i]!).toBeCloseTo(s, 5);
    }
  });
});

function geoMean(xs: number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

describe("equalize on the bundled CNNs", () => {
  const N = 500;
  const x = evalImages(N);
  for (const name of ["resnet.bn", "mobilenetv2.bn", "resnet", "mobilenetv2", "cnn"]) {
    it(`${name}: equalizes at least one chain, reduces the weight-range spread, keeps the float function (< 1e-4)`, async () => {
      const m = loadModel(join(MODELS_DIR, `${name}.onnx`));
      const relu6 = name.startsWith("mobilenetv2");
      // Reference: the float model before CLE (BN folded; for MobileNetV2 with ReLU6 → ReLU, which CLE needs).
      const ref = prepareFloatModel(m, { cle: false, absorbBias: false, relu6ToRelu: relu6 }, { verifyEach: true }).model;
      const { graph: g, report } = equalize(ref.graph!);
      expect(report.chains.length).toBeGreaterThan(0);
      expect(report.converged).toBe(true);
      const before = report.layers.map((l) => l.before);
      const after = report.layers.map((l) => l.after);
      expect(Math.max(...after)).toBeLessThan(Math.max(...before));
      expect(geoMean(after)).toBeLessThan(geoMean(before));
      const err = worstRelErr(await run(ref, { input: x }), await run({ ...ref, graph: g }, { input: x }));
      console.log(
        `${name}: ${report.chains.length} chains, ${report.iterations} sweeps; spread max ${Math.max(...before).toFixed(2)} → ${Math.max(...after).toFixed(2)}, geometric mean ${geoMean(before).toFixed(2)} → ${geoMean(after).toFixed(2)}; error ${err.toExponential(2)}`,
      );
      expect(err).toBeLessThan(1e-4);
    });
  }

  it("mobilenetv2: ReLU6 → ReLU replaces the 15 ReLU6 activations; its float accuracy change on the evaluation set is measured", async () => {
    const m = loadModel(join(MODELS_DIR, "mobilenetv2.onnx"));
    const runs = prepareFloatModel(m, { cle: true, absorbBias: false, relu6ToRelu: true }).passes;
    expect(findReport(runs, "relu6-to-relu")!.replaced).toHaveLength(15);
    const relu = prepareFloatModel(m, { cle: false, absorbBias: false, relu6ToRelu: true }).model;
    const n = 2000;
    const [a, b] = [await evaluateClassifier(m, evalImages(n), evalLabels(n), { threads: 1 }), await evaluateClassifier(relu, evalImages(n), evalLabels(n), { threads: 1 })];
    let same = 0;
    for (let i = 0; i < n; i++) if (a.predictions[i] === b.predictions[i]) same++;
    console.log(`mobilenetv2 ReLU6 → ReLU: float top-1 ${(100 * a.top1).toFixed(2)}% → ${(100 * b.top1).toFixed(2)}% on ${n} images; predictions agree on ${((100 * same) / n).toFixed(2)}%`);
    expect(Math.abs(a.top1 - b.top1)).toBeLessThan(0.02);
  });
});
