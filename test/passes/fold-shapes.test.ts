/**
 * foldShapes on small graphs built here: the torch pattern
 * Shape → Gather(0) → Unsqueeze → Concat → Reshape folds to a constant target
 * with 0 for the symbolic batch (and −1 solved from the per-sample size), an
 * Expand of a constant to the batch read by Add becomes the constant, and the
 * folded model computes what the original does at a batch size other than 1
 * (ONNX Runtime runs both). Range position ids fold to int64 constants, and
 * the zeros of torch's key padding mask Where to a [1, L] float constant.
 * What does not fold stays.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Node } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { foldShapes } from "../../src/passes/fold-shapes.js";
import { graph, int, model, node, value } from "../ir/builders.js";
import { feedsOf, Rng, run, tensor, worstRelErr } from "./float-helpers.js";

function i64(name: string, v: number[], dims = [v.length]): Tensor {
  return { name, dtype: DataType.INT64, dims, raw: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer) };
}

/** x [batch, 4, 6] → Reshape to [batch, `rest`], the target computed from Shape(x) the way torch exports it. */
function reshapeGraph(rest: number[], extra: Node[] = [], batchEntry = "b") {
  return graph(
    [
      node("Shape", ["x"], ["s"]),
      node("Gather", ["s", "zero"], ["b"], [int("axis", 0)]),
      node("Unsqueeze", [batchEntry, "axes"], ["bu"]),
      ...extra,
      node("Concat", ["bu", "rest"], ["target"], [int("axis", 0)]),
      node("Reshape", ["x", "target"], ["y"], [], "reshape"),
    ],
    [value("x", 1, ["batch", 4, 6])],
    [value("y", 1)],
    [i64("zero", [0], []), i64("axes", [0]), i64("rest", rest), i64("two", [2], [])],
  );
}

describe("foldShapes", () => {
  it("Shape→Gather→Unsqueeze→Concat→Reshape: the target becomes [0, …] with −1 solved, the shape nodes go", async () => {
    for (const [rest, want] of [
      [[24], [0, 24]],
      [[-1, 2], [0, 12, 2]],
    ] as const) {
      const g = reshapeGraph([...rest]);
      const { graph: out, report } = foldShapes(g);
      expect(out.nodes.map((n) => n.opType)).toEqual(["Reshape"]);
      const target = out.initializers.find((t) => t.name === out.nodes[0]!.inputs[1])!;
      expect([...tensorToFloat64(target)]).toEqual(want);
      expect(report).toMatchObject({ reshapes: 1, removed: 4 });
      // batch 3: a target that baked in the batch size would fail or differ here
      const feeds = feedsOf("x", [3, 4, 6], new Rng(1));
      const [a, b] = [await run(model(g), feeds), await run(model(out), feeds)];
      expect(b["y"]!.length).toBe(72);
      expect(worstRelErr(a, b)).toBe(0);
    }
  });

  it("Expand of a constant to [batch, 1, 1] read by Add becomes the constant", async () => {
    const g = graph(
      [
        node("Shape", ["x"], ["s"]),
        node("Gather", ["s", "zero"], ["b"], [int("axis", 0)]),
        node("Unsqueeze", ["b", "axes"], ["bu"]),
        node("Concat", ["bu", "ones"], ["target"], [int("axis", 0)]),
        node("Expand", ["pos", "target"], ["pe"], [], "expand"),
        node("Add", ["x", "pe"], ["y"]),
      ],
      [value("x", 1, ["batch", 4, 6])],
      [value("y", 1, ["batch", 4, 6])],
      [i64("zero", [0], []), i64("axes", [0]), i64("ones", [1, 1]), tensor("pos", [1, 4, 6], Array.from({ length: 24 }, (_, i) => i / 7))],
    );
    const { graph: out, report } = foldShapes(g);
    expect(out.nodes.map((n) => [n.opType, n.inputs])).toEqual([["Add", ["x", "pe"]]]);
    expect(out.initializers.find((t) => t.name === "pe")?.dims).toEqual([1, 4, 6]);
    expect(report.expands).toBe(1);
    const feeds = feedsOf("x", [3, 4, 6], new Rng(2));
    expect(worstRelErr(await run(model(g), feeds), await run(model(out), feeds))).toBe(0);
  });

  it("position ids Range(0, Shape(x)[1], 1) fold to an int64 constant; the float Cast of them stays a node", async () => {
    const g = graph(
      [
        node("Shape", ["x"], ["s"]),
        node("Gather", ["s", "one"], ["len"], [int("axis", 0)]),
        node("Range", ["zero", "len", "one"], ["ids"]),
        node("Cast", ["ids"], ["pos"], [int("to", DataType.FLOAT)]),
        node("Add", ["x", "pos"], ["y"]),
      ],
      [value("x", 1, ["batch", 5])],
      [value("y", 1, ["batch", 5])],
      [i64("zero", [0], []), i64("one", [1], [])],
    );
    const { graph: out } = foldShapes(g);
    expect(out.nodes.map((n) => n.opType)).toEqual(["Cast", "Add"]);
    const ids = out.initializers.find((t) => t.name === "ids")!;
    expect([ids.dtype, [...tensorToFloat64(ids)]]).toEqual([DataType.INT64, [0, 1, 2, 3, 4]]);
    const feeds = feedsOf("x", [3, 5], new Rng(3));
    expect(worstRelErr(await run(model(g), feeds), await run(model(out), feeds))).toBe(0);
  });

  it("token type ids ConstantOfShape(Shape(ids)) read by a Gather fold to a [1, L] constant; ORT gives the same output at batch 3", async () => {
    const table = makeFloatTensor("types", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    const zeroInt: Tensor = { name: "", dtype: DataType.INT64, dims: [1], raw: new Uint8Array(8) };
    const g = graph(
      [
        node("Shape", ["x"], ["s"]),
        node("ConstantOfShape", ["s"], ["tt"], [{ name: "value", type: 4, t: zeroInt }]),
        node("Gather", ["types", "tt"], ["emb"], [int("axis", 0)]),
        node("Add", ["x3", "emb"], ["y"]),
      ],
      [value("x", DataType.INT64, ["batch", 5]), value("x3", 1, ["batch", 5, 4])],
      [value("y", 1, ["batch", 5, 4])],
      [table],
    );
    const { graph: out } = foldShapes(g);
    expect(out.nodes.map((n) => n.opType)).toEqual(["Gather", "Add"]);
    const tt = out.initializers.find((t) => t.name === "tt")!;
    expect([tt.dtype, tt.dims, [...tensorToFloat64(tt)]]).toEqual([DataType.INT64, [1, 5], [0, 0, 0, 0, 0]]);
    const ids = { dtype: DataType.INT64, dims: [3, 5], data: new BigInt64Array(15) };
    const feeds = { ...feedsOf("x3", [3, 5, 4], new Rng(4)), x: ids };
    expect(worstRelErr(await run(model(g), feeds), await run(model(out), feeds))).toBe(0);
  });

  it("torch's key padding mask Where(mask, −inf, ConstantOfShape(Shape(mask))): the zeros fold to [1, L]; ORT gives the same output at batch 3", async () => {
    const g = graph(
      [node("Shape", ["mask"], ["s"]), node("ConstantOfShape", ["s"], ["zeros"]), node("Where", ["mask", "ninf", "zeros"], ["m"]), node("Add", ["x", "m"], ["y"])],
      [value("mask", DataType.BOOL, ["batch", 5]), value("x", 1, ["batch", 5])],
      [value("y", 1, ["batch", 5])],
      [makeFloatTensor("ninf", [], [Number.NEGATIVE_INFINITY])],
    );
    const { graph: out } = foldShapes(g);
    expect(out.nodes.map((n) => n.opType)).toEqual(["Where", "Add"]);
    const zeros = out.initializers.find((t) => t.name === "zeros")!;
    expect([zeros.dtype, zeros.dims, [...tensorToFloat64(zeros)]]).toEqual([DataType.FLOAT, [1, 5], [0, 0, 0, 0, 0]]);
    const feeds = { ...feedsOf("x", [3, 5], new Rng(5)), mask: { dtype: DataType.BOOL, dims: [3, 5], data: Uint8Array.from({ length: 15 }, (_, i) => (i % 4 === 0 ? 1 : 0)) } };
    const [a, b] = [await run(model(g), feeds), await run(model(out), feeds)];
    // −inf where the mask is set, x elsewhere, batch 3 kept
    expect([...b["y"]!]).toEqual([...a["y"]!]);
    expect([...b["y"]!].filter((v) => v === Number.NEGATIVE_INFINITY)).toHaveLength(4);
  });

  it("a target that multiplies the batch (N·2) does not fold; a graph without shape arithmetic comes back as is", () => {
    const g = reshapeGraph([12], [node("Mul", ["b", "two"], ["b2"])], "b2");
    const { graph: out } = foldShapes(g);
    expect(out.nodes.map((n) => n.opType)).toContain("Reshape");
    expect(out.nodes.map((n) => n.opType)).toContain("Shape");
    expect(out.initializers.some((t) => t.name?.endsWith("__target"))).toBe(false);
    const plain = graph([node("Relu", ["x"], ["y"])], [value("x", 1, ["batch", 2])], [value("y", 1, ["batch", 2])]);
    expect(foldShapes(plain).graph).toBe(plain);
  });
});
