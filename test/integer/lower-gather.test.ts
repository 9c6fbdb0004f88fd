/** integer/lower-gather.ts on small graphs: a Slice of one axis and a Gather by constant indices become slice ops; other forms are refused with the node. */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerize } from "../../src/integer/integerize.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph } from "../../src/ir/graph.js";
import { type AffineQuant, intFormat, type QuantSpec } from "../../src/ir/quant.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { graph, int, node, value } from "../ir/builders.js";

const act: AffineQuant = { kind: "affine", format: intFormat("uint8"), scale: Float32Array.of(0.25), zeroPoint: Int32Array.of(8) };

function int64(name: string, v: number[], scalar = false): Tensor {
  return { name, dtype: DataType.INT64, dims: scalar ? [] : [v.length], raw: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer) };
}

/** x [N, 4, 3] → op → y, both quantized alike. */
function selection(op: ReturnType<typeof node>, consts: Tensor[], yShape: (string | number)[]): Graph {
  const quant = new Map<string, QuantSpec>([
    ["x", act],
    ["y", act],
  ]);
  return { ...graph([op], [value("x", 1, ["N", 4, 3])], [value("y", 1, yShape)], consts), quant };
}

describe("slices of activations", () => {
  const x = Float32Array.from({ length: 12 }, (_, i) => i * 0.25); // codes 8 … 19
  it("Slice(axis 1, 1:3) keeps rows 1 and 2", () => {
    const p = integerize(selection(node("Slice", ["x", "s", "e", "a"], ["y"]), [int64("s", [1]), int64("e", [3]), int64("a", [1])], ["N", 2, 3]));
    expect(p.ops.map((o) => o.kind)).toEqual(["quantize", "slice", "dequantize"]);
    expect(Array.from(runProgram(p, new Map([["x", x]]), 1).outputs.get("y")!)).toEqual(Array.from(x.subarray(3, 9)));
  });

  it("Gather(axis 1, index −4) takes the first row and drops the axis", () => {
    const p = integerize(selection(node("Gather", ["x", "i"], ["y"], [int("axis", 1)]), [int64("i", [-4], true)], ["N", 3]));
    expect(p.ops.map((o) => o.kind)).toEqual(["quantize", "slice", "reshape", "dequantize"]);
    expect(Array.from(runProgram(p, new Map([["x", x]]), 1).outputs.get("y")!)).toEqual(Array.from(x.subarray(0, 3)));
  });

  it("refuses indices that are not one increasing run, naming the node", () => {
    expect(() => integerize(selection(node("Gather", ["x", "i"], ["y"], [int("axis", 1)], "pick"), [int64("i", [2, 0])], ["N", 2, 3]))).toThrow(
      /Gather 'pick' gathers indices \[2,0\] of 4; integer code takes one increasing run of constant indices/,
    );
  });
});
