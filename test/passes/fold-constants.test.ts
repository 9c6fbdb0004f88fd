/**
 * fold-constants: layout ops whose inputs are all constants become
 * initializers. Each hand-built graph is checked for what folds (and what
 * must not: a node reading a graph input, an initializer that is also a
 * graph input, a node writing a graph output), for the folded values against
 * index arithmetic written here, and in ONNX Runtime: the folded model loads
 * and computes bit-identical outputs to the original, whose layout ops ORT
 * itself runs.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph, Node } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { foldConstants } from "../../src/passes/fold-constants.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";
import { Rng } from "../helpers/prng.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { randn, run, tensor, values } from "./float-helpers.js";

const int64 = (name: string, dims: number[], v: number[]): Tensor => ({ name, dtype: DataType.INT64, dims, raw: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer) });
const constant = (name: string, t: Tensor): Node => node("Constant", [], [name], [{ name: "value", type: 4, t }]);
const iota = (n: number) => Array.from({ length: n }, (_, i) => i + 0.5);

/** Runs `g` and its folded form in ORT on one seeded input `x` of `dims`; expects the same bits. */
async function expectSameFunction(g: Graph, folded: Graph, dims: number[]): Promise<void> {
  const x: HostTensor = { dtype: 1, dims, data: randn(new Rng(7), dims.reduce((a, b) => a * b, 1)) };
  const [a, b] = [await run(model(g, 13), { x }), await run(model(folded, 13), { x })];
  expect(Object.keys(b)).toEqual(Object.keys(a));
  for (const k of Object.keys(a)) expect(Buffer.from(b[k]!.buffer).equals(Buffer.from(a[k]!.buffer))).toBe(true);
}

describe("foldConstants", () => {
  it("folds Transpose of an initializer feeding MatMul (torch Linear) into the transposed weight, and drops the original", async () => {
    const g = graph(
      [node("Transpose", ["W"], ["Wt"], [ints("perm", [1, 0])], "t"), node("MatMul", ["x", "Wt"], ["y"])],
      [value("x", 1, [2, 4])],
      [value("y", 1, [2, 3])],
      [tensor("W", [3, 4], iota(12))],
    );
    const out = foldConstants(g);
    expect(out.report).toEqual({ pass: "fold-constants", folded: [{ node: "t", op: "Transpose" }] });
    expect(out.graph.nodes.map((n) => n.opType)).toEqual(["MatMul"]);
    expect(out.graph.initializers.map((t) => [t.name, t.dims])).toEqual([["Wt", [4, 3]]]);
    const want: number[] = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) want.push(j * 4 + i + 0.5); // Wt[i][j] = W[j][i]
    expect(values(out.graph, "Wt")).toEqual(want);
    await expectSameFunction(g, out.graph, [2, 4]);
  });

  it("folds a chain from a Constant node: Reshape(·, [3, -1]) → Unsqueeze → Squeeze → Transpose (rank 3) → Flatten", async () => {
    const g = graph(
      [
        constant("C", tensor("", [12], iota(12))),
        node("Reshape", ["C", "shape"], ["r"]),
        node("Unsqueeze", ["r", "axes"], ["u"]),
        node("Squeeze", ["u", "axes"], ["s"]),
        node("Reshape", ["s", "shape3"], ["r3"]),
        node("Transpose", ["r3"], ["t"], [ints("perm", [2, 0, 1])]),
        node("Flatten", ["t"], ["w"], [int("axis", 1)]),
        node("MatMul", ["x", "w"], ["y"]),
      ],
      [value("x", 1, [2, 2])],
      [value("y", 1, [2, 6])],
      [int64("shape", [2], [3, -1]), int64("axes", [1], [0]), int64("shape3", [3], [3, 2, 2])],
    );
    const out = foldConstants(g);
    expect(out.report.folded.map((f) => f.op)).toEqual(["Reshape", "Unsqueeze", "Squeeze", "Reshape", "Transpose", "Flatten"]);
    expect(out.graph.nodes.map((n) => n.opType)).toEqual(["MatMul"]);
    expect(out.graph.initializers.map((t) => [t.name, t.dims])).toEqual([["w", [2, 6]]]);
    // r3[a][b][c] = C[4a + 2b + c]; t[c][a][b] = r3[a][b][c]; w = t as [2, 6].
    const want: number[] = [];
    for (let c = 0; c < 2; c++) for (let a = 0; a < 3; a++) for (let b = 0; b < 2; b++) want.push(4 * a + 2 * b + c + 0.5);
    expect(values(out.graph, "w")).toEqual(want);
    await expectSameFunction(g, out.graph, [2, 2]);
  });

  it("folds Concat of constants, Identity and an exact Cast (float16 → float32)", async () => {
    const half = { name: "h", dtype: DataType.FLOAT16, dims: [2, 1], raw: new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer) }; // 1, -2
    const g = graph(
      [
        node("Cast", ["h"], ["hf"], [int("to", DataType.FLOAT)]),
        node("Identity", ["A"], ["a"]),
        node("Concat", ["a", "hf"], ["w"], [int("axis", 1)]),
        node("MatMul", ["x", "w"], ["y"]),
      ],
      [value("x", 1, [3, 2])],
      [value("y", 1, [3, 3])],
      [tensor("A", [2, 2], [1, 2, 3, 4]), half],
    );
    const out = foldConstants(g);
    expect(out.graph.nodes.map((n) => n.opType)).toEqual(["MatMul"]);
    expect(values(out.graph, "w")).toEqual([1, 2, 1, 3, 4, -2]);
    expect(out.graph.initializers.map((t) => t.name)).toEqual(["w"]);
    await expectSameFunction(g, out.graph, [3, 2]);
  });

  it("removes an Identity of a shared constant by pointing its readers at the constant (no copy)", async () => {
    const g = graph(
      [node("Identity", ["W"], ["W2"]), node("MatMul", ["x", "W"], ["a"]), node("MatMul", ["a", "W2"], ["y"])],
      [value("x", 1, [2, 2])],
      [value("y", 1, [2, 2])],
      [tensor("W", [2, 2], [1, 2, 3, 4])],
    );
    const out = foldConstants(g);
    expect(out.graph.nodes.map((n) => n.inputs)).toEqual([["x", "W"], ["a", "W"]]);
    expect(out.graph.initializers.map((t) => t.name)).toEqual(["W"]);
    await expectSameFunction(g, out.graph, [2, 2]);
  });

  it("leaves a node reading a graph input, an initializer that is also a graph input, and a graph output", () => {
    const g = graph(
      [
        node("Transpose", ["x"], ["xt"]),
        node("Transpose", ["V"], ["Vt"]),
        node("MatMul", ["xt", "Vt"], ["y"]),
        node("Reshape", ["W", "shape"], ["wr"]),
      ],
      [value("x", 1, [2, 2]), value("V", 1, [2, 2])],
      [value("y", 1, [2, 2]), value("wr", 1, [4])],
      [tensor("V", [2, 2], [1, 2, 3, 4]), tensor("W", [2, 2], [1, 2, 3, 4]), int64("shape", [1], [4])],
    );
    const out = foldConstants(g);
    expect(out.report.folded).toEqual([]);
    expect(out.graph).toBe(g);
  });

  it("keeps a folded value a subgraph reads under its name", () => {
    const body = graph([node("Identity", ["Wt"], ["o"])], [], [value("o", 1, [2, 2])]);
    const g = graph(
      [node("Transpose", ["W"], ["Wt"]), node("If", ["c"], ["y"], [{ name: "then_branch", type: 5, g: body }, { name: "else_branch", type: 5, g: body }])],
      [value("c", DataType.BOOL, [])],
      [value("y", 1, [2, 2])],
      [tensor("W", [2, 2], [1, 2, 3, 4])],
    );
    const out = foldConstants(g);
    expect(out.graph.nodes.map((n) => n.opType)).toEqual(["If"]);
    expect(values(out.graph, "Wt")).toEqual([1, 3, 2, 4]);
  });
});

describe("foldConstants on the bundled models", () => {
  it("changes cnn, mobilenetv2.bn and vit not at all; folds only resnet.bn's two Identity of shared BN parameters", () => {
    for (const name of ["cnn", "mobilenetv2.bn", "vit"]) {
      const g = loadModel(join(MODELS_DIR, `${name}.onnx`)).graph!;
      expect(foldConstants(g).graph, name).toBe(g);
    }
    const g = loadModel(join(MODELS_DIR, "resnet.bn.onnx")).graph!;
    const out = foldConstants(g);
    expect(out.report.folded.map((f) => f.op)).toEqual(["Identity", "Identity"]);
    expect(out.graph.nodes).toHaveLength(g.nodes.length - 2);
  });

  it("on request folds a causal mask's condition: Slice (axes, a negative step), Equal and Not; by default they stay", async () => {
    // tril(ones(6, 6)) as [1, 1, 6, 6], sliced to the first 4 queries and keys, compared with 0: key j > query i
    const tril = tensor("tril", [1, 1, 6, 6], Array.from({ length: 36 }, (_, k) => Number(k % 6 <= Math.floor(k / 6))));
    const g = graph(
      [
        node("Slice", ["tril", "z", "four", "two"], ["rows"], [], "rows"),
        node("Slice", ["rows", "z", "four", "three"], ["sq"], [], "cols"),
        node("Equal", ["sq", "zero"], ["future"], [], "eq"),
        node("Not", ["future"], ["past"], [], "not"),
        node("Slice", ["past", "m1", "big", "three", "m2"], ["rev"], [], "rev"),
        node("Where", ["past", "x", "ninf"], ["y"]),
        node("Where", ["rev", "x2", "ninf"], ["y2"]),
      ],
      [value("x", 1, [1, 1, 4, 4]), value("x2", 1, [1, 1, 4, 2])],
      [value("y", 1, [1, 1, 4, 4]), value("y2", 1, [1, 1, 4, 2])],
      [tril, int64("z", [1], [0]), int64("four", [1], [4]), int64("two", [1], [2]), int64("three", [1], [3]), int64("m1", [1], [-1]), int64("big", [1], [-100]), int64("m2", [1], [-2]), tensor("zero", [], [0]), tensor("ninf", [], [Number.NEGATIVE_INFINITY])],
    );
    expect(foldConstants(g).report.folded).toEqual([]);
    const out = foldConstants(g, (n) => n.opType !== "Where");
    expect(out.report.folded.map((f) => f.node)).toEqual(["rows", "cols", "eq", "not", "rev"]);
    expect(out.graph.nodes.map((n) => n.opType)).toEqual(["Where", "Where"]);
    const past = out.graph.initializers.find((t) => t.name === "past")!;
    expect([past.dtype, past.dims]).toEqual([DataType.BOOL, [1, 1, 4, 4]]);
    expect(Array.from(past.raw!)).toEqual(Array.from({ length: 16 }, (_, k) => Number(k % 4 <= Math.floor(k / 4))));
    // keys 3 and 1 of each query (step −2 from the last)
    const rev = out.graph.initializers.find((t) => t.name === "rev")!;
    expect([rev.dims, Array.from(rev.raw!)]).toEqual([[1, 1, 4, 2], [0, 0, 0, 1, 0, 1, 1, 1]]);
    const x: HostTensor = { dtype: 1, dims: [1, 1, 4, 4], data: randn(new Rng(3), 16) };
    const x2: HostTensor = { dtype: 1, dims: [1, 1, 4, 2], data: randn(new Rng(4), 8) };
    const [a, b] = [await run(model(g, 13), { x, x2 }), await run(model(out.graph, 13), { x, x2 })];
    for (const k of ["y", "y2"]) expect(Array.from(b[k]!)).toEqual(Array.from(a[k]!));
  });
});
