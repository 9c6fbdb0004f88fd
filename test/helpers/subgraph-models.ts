/**
 * Small models with control flow, built in TypeScript, for the subgraph
 * quantization tests (test/quant/body-plan.test.ts).
 *
 * - ifModel: Y = If(mean(X) > 0, then: Relu(Conv(X, Wt) + bt), else: 0.5·(Conv(X, We) + be)).
 *   Wt and bt are main-graph initializers read from the outer scope (as
 *   exporters write them); We, be and 0.5 live in the else branch.
 * - loopModel: h_0 = X, h_{i+1} = Relu(h_i·W + b) for 3 iterations, Y = h_3;
 *   W is a main-graph initializer, b a body initializer.
 * - nestedModel: a Loop of 3 iterations whose body holds an If:
 *   h_{i+1} = up ? Relu(h_i·W1) : h_i·W2, W1 and W2 in the main graph, two
 *   scopes out; up = sum(X) > 0 computed once in the main graph, or, with
 *   `perIteration`, up = sum(h_i) > 0 in the loop body (the branch may then
 *   change from one iteration to the next).
 * - scanModel: over the rows x_t of X [6, 4] (one sequence, no batch axis),
 *   y_t = Relu(x_t·W) + s_t with the running sum s_{t+1} = s_t + y_t,
 *   s_0 = S0 [4]; outputs the final s and every y_t.
 */
import { DataType } from "../../src/ir/dtype.js";
import type { Attribute, Graph, Model } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";
import { graph, int, ints, model, node, randomWeight, value } from "../ir/builders.js";
import { Rng } from "./prng.js";

const g = (name: string, body: Graph): Attribute => ({ name, type: 5, g: body });
const int64 = (name: string, v: number): Tensor => ({ name, dtype: DataType.INT64, dims: [], raw: new Uint8Array(BigInt64Array.of(BigInt(v)).buffer) });
const bool = (name: string, v: boolean): Tensor => ({ name, dtype: DataType.BOOL, dims: [], raw: Uint8Array.of(v ? 1 : 0) });

export function ifModel(seed = 1): Model {
  const rng = new Rng(seed);
  const conv = (x: string, w: string, b: string, y: string, name: string) => node("Conv", [x, w, b], [y], [ints("pads", [1, 1, 1, 1])], name);
  const thenB: Graph = { ...graph([conv("X", "Wt", "bt", "t1", "conv_t"), node("Relu", ["t1"], ["yt"], [], "relu_t")], [], [value("yt")]), name: "then" };
  const elseB: Graph = {
    ...graph([conv("X", "We", "be", "e1", "conv_e"), node("Mul", ["e1", "half"], ["ye"], [], "mul_e")], [], [value("ye")], [randomWeight(rng, "We", [3, 2, 3, 3]), makeFloatTensor("be", [3], [0.1, -0.2, 0.05]), makeFloatTensor("half", [], [0.5])]),
    name: "else",
  };
  const main = graph(
    [
      node("ReduceMean", ["X"], ["m"], [int("keepdims", 0)], "mean"),
      node("Greater", ["m", "zero"], ["cond"], [], "positive"),
      { ...node("If", ["cond"], ["Y"], [g("then_branch", thenB), g("else_branch", elseB)], "if0") },
    ],
    [value("X", DataType.FLOAT, ["N", 2, 6, 6])],
    [value("Y", DataType.FLOAT, ["N", 3, 6, 6])],
    [randomWeight(rng, "Wt", [3, 2, 3, 3]), makeFloatTensor("bt", [3], [0.2, 0, -0.1]), makeFloatTensor("zero", [], [0])],
  );
  return model(main, 17);
}

export function loopModel(seed = 2): Model {
  const rng = new Rng(seed);
  const body: Graph = {
    ...graph(
      [
        node("MatMul", ["h", "W"], ["a"], [], "matmul"),
        node("Add", ["a", "b"], ["a2"], [], "add"),
        node("Relu", ["a2"], ["h2"], [], "relu"),
        node("Identity", ["c_in"], ["c_out"], [], "keep_going"),
      ],
      [value("iter", DataType.INT64, []), value("c_in", DataType.BOOL, []), value("h", DataType.FLOAT, ["N", 4])],
      [value("c_out", DataType.BOOL, []), value("h2", DataType.FLOAT, ["N", 4])],
      [makeFloatTensor("b", [4], [0.1, 0.2, -0.1, 0.05])],
    ),
    name: "body",
  };
  const main = graph(
    [node("Loop", ["M", "go", "X"], ["Y"], [g("body", body)], "loop0")],
    [value("X", DataType.FLOAT, ["N", 4])],
    [value("Y", DataType.FLOAT, ["N", 4])],
    [randomWeight(rng, "W", [4, 4]), int64("M", 3), bool("go", true)],
  );
  return model(main, 17);
}

export function nestedModel(perIteration = false, seed = 4): Model {
  const rng = new Rng(seed);
  const thenB: Graph = { ...graph([node("MatMul", ["h", "W1"], ["p"], [], "matmul_1"), node("Relu", ["p"], ["pr"], [], "relu_1")], [], [value("pr")]), name: "then" };
  const elseB: Graph = { ...graph([node("MatMul", ["h", "W2"], ["q"], [], "matmul_2")], [], [value("q")]), name: "else" };
  const body: Graph = {
    ...graph(
      [
        ...(perIteration ? [node("ReduceSum", ["h"], ["total"], [int("keepdims", 0)], "total"), node("Greater", ["total", "zero"], ["up"], [], "up")] : []),
        node("If", ["up"], ["h2"], [g("then_branch", thenB), g("else_branch", elseB)], "if1"),
        node("Identity", ["c_in"], ["c_out"], [], "keep_going"),
      ],
      [value("iter", DataType.INT64, []), value("c_in", DataType.BOOL, []), value("h", DataType.FLOAT, [1, 4])],
      [value("c_out", DataType.BOOL, []), value("h2", DataType.FLOAT, [1, 4])],
      [makeFloatTensor("zero", [], [0])],
    ),
    name: "body",
  };
  const once = perIteration ? [] : [node("ReduceSum", ["X"], ["sum_x"], [int("keepdims", 0)], "sum_x"), node("Greater", ["sum_x", "zero"], ["up"], [], "up")];
  const main = graph(
    [...once, node("Loop", ["M", "go", "X"], ["Y"], [g("body", body)], "loop0")],
    [value("X", DataType.FLOAT, [1, 4])],
    [value("Y", DataType.FLOAT, [1, 4])],
    [randomWeight(rng, "W1", [4, 4]), randomWeight(rng, "W2", [4, 4]), int64("M", 3), bool("go", true), makeFloatTensor("zero", [], [0])],
  );
  return model(main, 17);
}

export function scanModel(seed = 3): Model {
  const rng = new Rng(seed);
  const body: Graph = {
    ...graph(
      [node("MatMul", ["x", "W"], ["a"], [], "matmul"), node("Relu", ["a"], ["r"], [], "relu"), node("Add", ["r", "s"], ["y"], [], "add"), node("Add", ["s", "y"], ["s2"], [], "accumulate")],
      [value("s", DataType.FLOAT, [4]), value("x", DataType.FLOAT, [4])],
      [value("s2", DataType.FLOAT, [4]), value("y", DataType.FLOAT, [4])],
    ),
    name: "body",
  };
  const main = graph(
    [node("Scan", ["S0", "X"], ["S", "Y"], [g("body", body), int("num_scan_inputs", 1)], "scan0")],
    [value("S0", DataType.FLOAT, [4]), value("X", DataType.FLOAT, [6, 4])],
    [value("S", DataType.FLOAT, [4]), value("Y", DataType.FLOAT, [6, 4])],
    [randomWeight(rng, "W", [4, 4])],
  );
  return model(main, 17);
}

/** n samples [n, ...dims] uniform in [-1, 1), each shifted by +shift or -shift (alternating, or all + when `sign` is 1). */
export function shiftedSamples(seed: number, n: number, dims: number[], shift: number, sign?: 1): HostTensor {
  const rng = new Rng(seed);
  const per = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    const s = sign === 1 || i % 2 === 0 ? shift : -shift;
    for (let j = 0; j < per; j++) data[i * per + j] = s + rng.float() * 2 - 1;
  }
  return { dtype: DataType.FLOAT, dims: [n, ...dims], data };
}
