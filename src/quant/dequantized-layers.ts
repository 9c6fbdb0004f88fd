/**
 * The MatMul and Gemm layers of a weight-only QDQ model whose weight is a
 * DequantizeLinear of constants, for the rewrites into deployment ops
 * (matmulnbits.ts, dynamic-matmul.ts), and the graph rebuilt after them.
 * A Gemm qualifies with transA = 0 and alpha = beta = 1; its bias, if any,
 * must be a constant.
 */
import type { Graph, Model, Node } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { attrFloat, attrInt } from "../ir/attrs.js";

export interface DequantizedLayer {
  readonly node: Node;
  /** The node's name (or first output). */
  readonly name: string;
  readonly dq: Node;
  /** The DequantizeLinear's quantized weight, scale and zero point (constants). */
  readonly x: Tensor;
  readonly scale: Tensor;
  readonly zero?: Tensor;
  readonly gemm: boolean;
  readonly transB: boolean;
  readonly bias?: Tensor;
}

export interface Kept {
  readonly node: string;
  readonly reason: string;
}

/** Every MatMul/Gemm reading a dequantized constant weight: the eligible ones, and the others with why. */
export function dequantizedLayers(g: Graph): { layers: DequantizedLayer[]; kept: Kept[] } {
  const inits = new Map(g.initializers.map((t) => [t.name!, t]));
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const layers: DequantizedLayer[] = [];
  const kept: Kept[] = [];
  for (const n of g.nodes) {
    if ((n.domain ?? "") !== "" || (n.opType !== "MatMul" && n.opType !== "Gemm")) continue;
    const dq = producer.get(n.inputs[1] ?? "");
    if (dq?.opType !== "DequantizeLinear") continue;
    const name = n.name || n.outputs[0]!;
    const gemm = n.opType === "Gemm";
    const x = inits.get(dq.inputs[0]!);
    const scale = inits.get(dq.inputs[1] ?? "");
    const zero = dq.inputs[2] ? inits.get(dq.inputs[2]) : undefined;
    const bias = gemm && n.inputs[2] ? inits.get(n.inputs[2]) : undefined;
    let reason: string | undefined;
    if (gemm && (attrInt(n, "transA", 0) !== 0 || (attrFloat(n, "alpha") ?? 1) !== 1 || (attrFloat(n, "beta") ?? 1) !== 1)) reason = "Gemm with transA, alpha or beta other than the defaults";
    else if (!x || !scale || (dq.inputs[2] && !zero)) reason = "its DequantizeLinear reads non-constant inputs";
    else if (gemm && n.inputs[2] && !bias) reason = "its bias is not a float constant";
    if (reason || !x || !scale) kept.push({ node: name, reason: reason ?? "" });
    else layers.push({ node: n, name, dq, x, scale, zero, gemm, transB: gemm && attrInt(n, "transB", 0) === 1, bias });
  }
  return { layers, kept };
}

/** The model with nodes replaced (one node → its replacements), DequantizeLinear nodes no longer read dropped, unused initializers removed, `added` appended. */
export function rebuildGraph(model: Model, replace: ReadonlyMap<Node, readonly Node[]>, added: readonly Tensor[]): Model {
  const g = model.graph!;
  let nodes = g.nodes.flatMap((n) => replace.get(n) ?? [n]);
  for (;;) {
    const read = new Set([...nodes.flatMap((n) => n.inputs), ...g.outputs.map((o) => o.name)]);
    const next = nodes.filter((n) => n.opType !== "DequantizeLinear" || n.outputs.some((o) => read.has(o)));
    if (next.length === nodes.length) break;
    nodes = next;
  }
  const used = new Set([...nodes.flatMap((n) => n.inputs), ...g.outputs.map((o) => o.name)]);
  const initializers = [...g.initializers.filter((t) => used.has(t.name!)), ...added];
  return { ...model, graph: { ...g, nodes, initializers } };
}
