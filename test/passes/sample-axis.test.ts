/**
 * sampleGraph on small torch-style attention graphs built here, x [5, batch, 8]
 * (seq-first, 2 heads of 4): the head split Reshape [5, batch·2, 4] (its target
 * computed from Shape(x)), Transpose to [batch·2, 5, 4], scores, Softmax, the
 * weighted sum, and back to [5, batch, 8]. The per-sample graph, run by ONNX
 * Runtime on each sample x[:, b, :] alone, gives y[:, b, :] of the original
 * run at batch 3. A Softmax over the merged batch·heads axis, or a Reshape that
 * spreads one sample's elements over the batch, is refused with the node named.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Node } from "../../src/ir/graph.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { batchSymbol, sampleGraph } from "../../src/passes/sample-axis.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { Rng, randn, run } from "./float-helpers.js";

const i64 = (name: string, v: number[], dims = [v.length]): Tensor => ({ name, dtype: DataType.INT64, dims, raw: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer) });

/** Seq-first attention over x [5, batch, 8]; `softmaxAxis` -1 is the real one. */
function attention(softmaxAxis = -1) {
  const nodes: Node[] = [
    node("Shape", ["x"], ["s"]),
    node("Gather", ["s", "one"], ["b"], [int("axis", 0)]),
    node("Mul", ["b", "two"], ["bh"]),
    node("Unsqueeze", ["bh", "axes"], ["bhu"]),
    node("Unsqueeze", ["b", "axes"], ["bu"]),
    node("Concat", ["five", "bhu", "four"], ["split"], [int("axis", 0)]),
    node("Concat", ["five", "bu", "eight"], ["merge"], [int("axis", 0)]),
    node("Reshape", ["x", "split"], ["r"]),
    node("Transpose", ["r"], ["t"], [ints("perm", [1, 0, 2])]),
    node("Transpose", ["t"], ["tt"], [ints("perm", [0, 2, 1])]),
    node("MatMul", ["t", "tt"], ["scores"]),
    node("Softmax", ["scores"], ["p"], [int("axis", softmaxAxis)], "softmax"),
    node("MatMul", ["p", "t"], ["o"]),
    node("Transpose", ["o"], ["ot"], [ints("perm", [1, 0, 2])]),
    node("Reshape", ["ot", "merge"], ["y"]),
  ];
  const consts = [i64("one", [1], []), i64("two", [2], []), i64("axes", [0]), i64("five", [5]), i64("four", [4]), i64("eight", [8])];
  return graph(nodes, [value("x", 1, [5, "batch", 8])], [value("y", 1, [5, "batch", 8])], consts);
}

describe("sampleGraph", () => {
  it("seq-first attention: each sample alone through the per-sample graph gives the batch-3 result", async () => {
    const g = attention();
    expect(batchSymbol(g)).toBe("batch");
    const { graph: s, batchAxes } = sampleGraph(g)!;
    expect(batchAxes).toEqual(new Map([["x", 1], ["y", 1]]));
    expect(s.nodes.some((n) => n.opType === "Shape")).toBe(false);
    const B = 3;
    const x = randn(new Rng(1), 5 * B * 8);
    const want = (await run(model(g), { x: { dtype: DataType.FLOAT, dims: [5, B, 8], data: x } }))["y"]!;
    for (let b = 0; b < B; b++) {
      const xb = new Float32Array(5 * 8);
      for (let t = 0; t < 5; t++) xb.set(x.subarray((t * B + b) * 8, (t * B + b + 1) * 8), t * 8);
      // the sample's input and output have no batch axis: [1 (sample), 5, 8]
      const yb = (await run(model(s), { x: { dtype: DataType.FLOAT, dims: [1, 5, 8], data: xb } }))["y"]!;
      for (let t = 0; t < 5; t++) expect([...yb.subarray(t * 8, (t + 1) * 8)]).toEqual([...want.subarray((t * B + b) * 8, (t * B + b + 1) * 8)]);
    }
  });

  it("a Softmax along the merged batch·heads axis mixes samples: refused naming the node", () => {
    expect(() => sampleGraph(attention(0))).toThrow(/Softmax 'softmax' acts along the batch axis 0, so it mixes the samples of a batch/);
  });

  it("a Reshape that spreads one sample over the batch is refused; a batch-first graph keeps the usual path", () => {
    const g = graph(
      [
        node("Shape", ["x"], ["s"]),
        node("Gather", ["s", "one"], ["b"], [int("axis", 0)]),
        node("Unsqueeze", ["b", "axes"], ["bu"]),
        node("Concat", ["fe", "bu"], ["target"], [int("axis", 0)]),
        node("Reshape", ["x", "target"], ["y"], [], "spread"),
      ],
      [value("x", 1, [5, "batch", 8])],
      [value("y", 1, [5, 8, "batch"])],
      [i64("one", [1], []), i64("axes", [0]), i64("fe", [5, 8])],
    );
    expect(() => sampleGraph(g)).toThrow(/Reshape 'spread' splits one sample's elements across the batch/);
    const leading = graph([node("Relu", ["x"], ["y"])], [value("x", 1, ["batch", 8])], [value("y", 1, ["batch", 8])]);
    expect(sampleGraph(leading)).toBeUndefined();
  });
});

describe("sampleGraph: several symbolic dims", () => {
  it("a seq-first input with a dynamic sequence too: the refusal says how to pin it", () => {
    const g = attention();
    const dyn = { ...g, inputs: [value("x", 1, ["seq", "batch", 8])] };
    expect(() => sampleGraph(dyn)).toThrow(/input 'x' \[seq,batch,8\] has several symbolic dims, .* --input-shape x=SEQxBATCHx8, the batch at 1/);
  });

  it("a batch-first input: the refusal says the graph moves the leading axis, not that the input's batch is elsewhere", () => {
    const batchFirst = { ...attention(), inputs: [value("x", 1, ["batch", "seq", 8])] };
    expect(() => sampleGraph(batchFirst)).toThrow(
      "cannot integerize: input 'x' [batch,seq,8] has several symbolic dims, and the graph moves its leading axis (a Transpose: torch attention runs seq-first inside, batch_first or not), so which dim is the batch cannot be told; pin every dim with --input-shape x=BATCHxSEQx8, the batch at 1 (it stays free)",
    );
  });
});
