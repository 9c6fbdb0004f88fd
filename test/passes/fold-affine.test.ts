/**
 * foldAffine:
 *  - before/expected IR on a 1×1 Conv with hand-computed W' and b' (Mul and
 *    Add after it, Mul before it);
 *  - every form (after/before, scalar and per-channel constants, Div, Conv
 *    with and without padding, Gemm, MatMul, the PP-LCNet block
 *    Conv → Mul → Add → hard-swish → Mul → Add → padded depthwise Conv)
 *    run before and after in ORT on random inputs: max|Δ|/max|y| < 1e-5;
 *  - ops that stay: an Add before a padded Conv with nothing to swap, a value
 *    with two readers, a constant that broadcasts its operand to more channels.
 */
import { describe, expect, it } from "vitest";
import type { Attribute, Node } from "../../src/ir/graph.js";
import { foldAffine } from "../../src/passes/fold-affine.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { feedsOf, randTensor, Rng, run, tensor, values, worstRelErr } from "./float-helpers.js";

const flt = (name: string, f: number): Attribute => ({ name, type: 1, f });

describe("foldAffine: before/expected", () => {
  it("(x·m ∗ W + B)·a + d on a 1×1 Conv: W' = a_k·W·m_c, b' = a_k·B + d_k", () => {
    const g = graph(
      [node("Mul", ["x", "m"], ["xm"], [], "pre"), node("Conv", ["xm", "W", "B"], ["c"], [], "conv"), node("Mul", ["a", "c"], ["ca"], [], "mul"), node("Add", ["ca", "d"], ["y"], [], "add")],
      [value("x", 1, [1, 2, 3, 3])],
      [value("y", 1, [1, 2, 3, 3])],
      [tensor("m", [1, 2, 1, 1], [2, 3]), tensor("W", [2, 2, 1, 1], [1, 2, 3, 4]), tensor("B", [2], [1, -1]), tensor("a", [1], [0.5]), tensor("d", [2, 1, 1], [10, 20])],
    );
    const { graph: out, report } = foldAffine(g);
    expect(out.nodes.map((n) => [n.opType, n.inputs, n.outputs])).toEqual([["Conv", ["x", "W", "B"], ["y"]]]);
    // W[k, c]·m_c·a: [[1·2, 2·3], [3·2, 4·3]]·0.5; B·0.5 + d.
    expect(values(out, "W")).toEqual([1, 3, 3, 6]);
    expect(values(out, "B")).toEqual([10.5, 19.5]);
    expect(report.folded).toEqual([
      { node: "pre", into: "conv", side: "before" },
      { node: "mul", into: "conv", side: "after" },
      { node: "add", into: "conv", side: "after" },
    ]);
  });

  it("returns the same graph when nothing folds", () => {
    const g = graph([node("Relu", ["x"], ["y"])], [value("x", 1, [1, 2])], [value("y", 1, [1, 2])]);
    expect(foldAffine(g).graph).toBe(g);
  });
});

interface Case {
  name: string;
  nodes: Node[];
  inits: ReturnType<typeof tensor>[];
  input: number[];
  /** Nodes left after folding, by op. */
  left: string[];
}

function cases(rng: Rng): Case[] {
  const r = (name: string, dims: number[]) => randTensor(rng, name, dims);
  const pad1 = ints("pads", [1, 1, 1, 1]);
  return [
    {
      name: "Conv 3×3 padded, groups 2: per-channel Mul and Add after, scalar Div after",
      nodes: [node("Conv", ["x", "W", "B"], ["c"], [int("group", 2), pad1]), node("Mul", ["c", "a"], ["m"]), node("Add", ["m", "d"], ["e"]), node("Div", ["e", "s"], ["y"])],
      inits: [r("W", [6, 2, 3, 3]), r("B", [6]), r("a", [1, 6, 1, 1]), r("d", [6, 1, 1]), tensor("s", [], [6])],
      input: [2, 4, 5, 5],
      left: ["Conv"],
    },
    {
      name: "Conv without bias, Add after (a new bias input)",
      nodes: [node("Conv", ["x", "W"], ["c"]), node("Relu", ["c"], ["r"]), node("Conv", ["r", "W2"], ["c2"]), node("Add", ["c2", "d"], ["y"])],
      inits: [r("W", [3, 4, 1, 1]), r("W2", [2, 3, 1, 1]), r("d", [1, 2, 1, 1])],
      input: [2, 4, 3, 3],
      left: ["Conv", "Relu", "Conv", "Add"],
    },
    {
      name: "Mul, Div and Add before an unpadded strided Conv",
      nodes: [node("Mul", ["x", "a"], ["m"]), node("Div", ["m", "s"], ["q"]), node("Add", ["q", "d"], ["e"]), node("Conv", ["e", "W", "B"], ["y"], [ints("strides", [2, 2])])],
      inits: [r("a", [1, 4, 1, 1]), tensor("s", [1], [3]), r("d", [4, 1, 1]), r("W", [3, 4, 2, 2]), r("B", [3])],
      input: [2, 4, 6, 6],
      left: ["Conv"],
    },
    {
      name: "Mul then Add before a padded depthwise Conv: swapped, the Mul folds, the Add stays",
      nodes: [node("Mul", ["x", "a"], ["m"]), node("Add", ["m", "d"], ["e"]), node("Conv", ["e", "W", "B"], ["y"], [int("group", 4), pad1])],
      inits: [r("a", [4, 1, 1]), r("d", [1]), r("W", [4, 1, 3, 3]), r("B", [4])],
      input: [2, 4, 5, 5],
      left: ["Add", "Conv"],
    },
    {
      name: "Gemm transB=1 with alpha and beta: Mul and Add before, Mul after",
      nodes: [node("Mul", ["x", "a"], ["m"]), node("Add", ["m", "d"], ["e"]), node("Gemm", ["e", "W", "C"], ["g"], [int("transB", 1), flt("alpha", 0.5), flt("beta", 2)]), node("Mul", ["g", "k"], ["y"])],
      inits: [r("a", [3]), r("d", [3]), r("W", [5, 3]), r("C", [5]), r("k", [5])],
      input: [4, 3],
      left: ["Gemm"],
    },
    {
      name: "MatMul on rank 3 (transformer Linear): LayerNorm-style Mul and Add before, scalar Mul after",
      nodes: [node("Mul", ["x", "gamma"], ["m"]), node("Add", ["m", "beta"], ["e"]), node("MatMul", ["e", "W"], ["t"]), node("Add", ["t", "B"], ["h"]), node("Mul", ["h", "s"], ["y"])],
      inits: [r("gamma", [3]), r("beta", [3]), r("W", [3, 5]), r("B", [5]), tensor("s", [], [0.25])],
      input: [2, 4, 3],
      left: ["MatMul", "Add"],
    },
    {
      name: "the PP-LCNet block: Conv → Mul → Add → hard-swish → Mul → Add → padded depthwise Conv",
      nodes: [
        node("Conv", ["x", "W", "B"], ["c"]),
        node("Mul", ["a", "c"], ["m"]),
        node("Add", ["m", "b"], ["h"]),
        node("Add", ["h", "three"], ["h3"]),
        node("Clip", ["h3", "zero", "six"], ["cl"]),
        node("Mul", ["h", "cl"], ["hc"]),
        node("Div", ["hc", "six"], ["hs"]),
        node("Mul", ["a2", "hs"], ["m2"]),
        node("Add", ["m2", "b2"], ["e"]),
        node("Conv", ["e", "W2", "B2"], ["y"], [int("group", 4), pad1]),
      ],
      inits: [r("W", [4, 3, 1, 1]), r("B", [4]), tensor("a", [1], [1.7]), tensor("b", [1], [0.4]), tensor("three", [], [3]), tensor("zero", [], [0]), tensor("six", [], [6])]
        .concat([tensor("a2", [1], [0.3]), tensor("b2", [1], [-0.2]), r("W2", [4, 1, 3, 3]), r("B2", [4])]),
      input: [2, 3, 5, 5],
      // The Div by 6 reads the constant the Clip reads too: it folds all the same (only the Add's constant is rewritten).
      left: ["Conv", "Add", "Clip", "Mul", "Add", "Conv"],
    },
  ];
}

describe("foldAffine: every form, run before and after in ORT (max|Δ|/max|y| < 1e-5)", () => {
  const rng = new Rng(11);
  for (const c of cases(rng)) {
    it(c.name, async () => {
      const g = graph(c.nodes, [value("x", 1, c.input)], [value("y", 1)], c.inits);
      const { graph: out } = foldAffine(g);
      expect(out.nodes.map((n) => n.opType)).toEqual(c.left);
      for (let trial = 0; trial < 3; trial++) {
        const feeds = feedsOf("x", c.input, rng, 3);
        expect(worstRelErr(await run(model(g), feeds), await run(model(out), feeds))).toBeLessThan(1e-5);
      }
    });
  }
});

describe("foldAffine: ops that stay", () => {
  const rng = new Rng(4);
  const W = randTensor(rng, "W", [2, 2, 3, 3]);
  const left = (nodes: Node[], inits: ReturnType<typeof tensor>[], input = [1, 2, 4, 4]) => foldAffine(graph(nodes, [value("x", 1, input)], [value("y", 1)], inits)).graph.nodes.map((n) => n.opType);

  it("an Add before a padded Conv, with no Mul to swap with", () => {
    expect(left([node("Add", ["x", "d"], ["e"]), node("Conv", ["e", "W"], ["y"], [ints("pads", [1, 1, 1, 1])])], [W, tensor("d", [1], [0.5])])).toEqual(["Add", "Conv"]);
  });

  it("a layer output with a second reader", () => {
    const nodes = [node("Conv", ["x", "W"], ["c"]), node("Mul", ["c", "a"], ["m"]), node("Add", ["m", "c"], ["y"])];
    expect(left(nodes, [W, tensor("a", [1], [2])])).toEqual(["Conv", "Mul", "Add"]);
  });

  it("a per-channel constant that broadcasts a one-channel input to two", () => {
    const nodes = [node("Mul", ["x", "a"], ["m"]), node("Conv", ["m", "W"], ["y"])];
    expect(left(nodes, [W, tensor("a", [1, 2, 1, 1], [2, 3])], [1, 1, 4, 4])).toEqual(["Mul", "Conv"]);
  });
});
