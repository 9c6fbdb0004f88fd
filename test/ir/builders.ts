/** Small IR builders for tests. */
import type { Attribute, Graph, Model, Node, ValueInfo } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { typeProtoOf } from "../../src/ir/types.js";
import type { Dim } from "../../src/ir/graph.js";

export function node(opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = [], name?: string): Node {
  return { opType, inputs, outputs, attributes, name };
}

export function value(name: string, dtype = 1, shape?: Dim[]): ValueInfo {
  return { name, type: typeProtoOf({ dtype, shape }) };
}

export function ints(name: string, v: number[]): Attribute {
  return { name, type: 7, ints: v };
}

export function int(name: string, v: number): Attribute {
  return { name, type: 2, i: v };
}

export function graph(nodes: Node[], inputs: ValueInfo[], outputs: ValueInfo[], initializers: Tensor[] = []): Graph {
  return { name: "g", nodes, inputs, outputs, valueInfo: [], initializers };
}

export function model(g: Graph, opset = 17): Model {
  return { irVersion: 8, opsets: [{ domain: "", version: opset }], graph: g, functions: [] };
}

/** A float weight [out, ...] uniform in ±1/√fan-in, drawn from `rng` (fan-in: the product of dims after the first). */
export function randomWeight(rng: { float(): number }, name: string, dims: number[]): Tensor {
  const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
  return makeFloatTensor(name, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (rng.float() * 2 - 1) / Math.sqrt(fanIn)));
}

/** A 1-D float constant. */
export function floatVector(name: string, values: number[]): Tensor {
  return makeFloatTensor(name, [values.length], values);
}
