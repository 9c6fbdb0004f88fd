import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { inferTypes } from "../../src/ir/infer-types.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { graph, int, ints, node, value } from "./builders.js";

function int64Tensor(name: string, v: number[]): Tensor {
  const a = BigInt64Array.from(v.map(BigInt));
  return { name, dtype: DataType.INT64, dims: [v.length], raw: new Uint8Array(a.buffer) };
}

describe("inferTypes", () => {
  it("follows a CNN with a symbolic batch", () => {
    const w = makeFloatTensor("w", [8, 1, 3, 3], new Array(72).fill(0));
    const fc = makeFloatTensor("fc", [10, 8 * 13 * 13], new Array(10 * 8 * 13 * 13).fill(0));
    const g = graph(
      [
        node("Conv", ["x", "w"], ["c"], [ints("pads", [1, 1, 1, 1])]),
        node("Relu", ["c"], ["r"]),
        node("MaxPool", ["r"], ["p"], [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]),
        node("Flatten", ["p"], ["f"]),
        node("Gemm", ["f", "fc"], ["y"], [int("transB", 1)]),
      ],
      [value("x", 1, ["batch", 1, 26, 26])],
      [value("y")],
      [w, fc],
    );
    const t = inferTypes(g);
    expect(t.get("c")!.shape).toEqual(["batch", 8, 26, 26]);
    expect(t.get("p")!.shape).toEqual(["batch", 8, 13, 13]);
    expect(t.get("f")!.shape).toEqual(["batch", 1352]);
    expect(t.get("y")).toEqual({ dtype: 1, shape: ["batch", 10] });
  });

  it("handles Reshape with -1 and 0, Transpose, Concat, Unsqueeze from inputs, broadcasting", () => {
    const g = graph(
      [
        node("Reshape", ["x", "s"], ["r"]),
        node("Transpose", ["r"], ["t"], [ints("perm", [0, 2, 1])]),
        node("Concat", ["t", "t"], ["c"], [int("axis", 1)]),
        node("Unsqueeze", ["c", "ax"], ["u"]),
        node("Add", ["u", "b"], ["y"]),
      ],
      [value("x", 1, [2, 3, 4]), value("b", 1, [5, 1, 1, 1])],
      [value("y")],
      [int64Tensor("s", [0, -1, 2]), int64Tensor("ax", [0])],
    );
    const t = inferTypes(g);
    expect(t.get("r")!.shape).toEqual([2, 6, 2]);
    expect(t.get("t")!.shape).toEqual([2, 2, 6]);
    expect(t.get("c")!.shape).toEqual([2, 4, 6]);
    expect(t.get("u")!.shape).toEqual([1, 2, 4, 6]);
    expect(t.get("y")!.shape).toEqual([5, 2, 4, 6]);
  });

  it("types every value of the ONNX test models it has rules for", () => {
    const m = loadModel("test/fixtures/onnx/runnable-newer.onnx");
    const t = inferTypes(m.graph!);
    expect(t.get("cond")).toEqual({ dtype: DataType.BOOL, shape: [] });
    expect(t.get("w")).toEqual({ dtype: 1, shape: [3] });
  });
});
