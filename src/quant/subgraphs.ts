/**
 * Compute ops inside control-flow bodies (If branches, Loop and Scan
 * bodies), for the message of a model with nothing to quantize. fixq plans
 * and quantizes If/Loop/Scan bodies like the main graph (body-plan.ts); a
 * body it refuses (another op's body, an excluded path) keeps its compute ops
 * float, and the refusal says so.
 */
import type { Graph } from "../ir/graph.js";
import { walkGraphs } from "../ir/graph.js";

const COMPUTE = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** True when `g`'s own nodes (not nested bodies) include a compute op. */
export function holdsComputeOp(g: Graph): boolean {
  return g.nodes.some((n) => COMPUTE.has(n.opType) && (n.domain ?? "") === "");
}

export interface SubgraphOps {
  /** Op type → count, over every body. */
  readonly ops: ReadonlyMap<string, number>;
  /** The bodies holding them, as walkGraphs paths (graph/If_25.then_branch). */
  readonly bodies: readonly string[];
}

/** The compute ops (Conv, ConvTranspose, Gemm, MatMul) inside the bodies of `g`'s control-flow nodes, at any depth. */
export function subgraphComputeOps(g: Graph): SubgraphOps {
  const ops = new Map<string, number>();
  const bodies: string[] = [];
  for (const [sg, path] of walkGraphs(g)) {
    if (sg === g) continue;
    const here = sg.nodes.filter((n) => COMPUTE.has(n.opType) && (n.domain ?? "") === "");
    for (const n of here) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
    if (here.length) bodies.push(path);
  }
  return { ops, bodies };
}

/** "36× Conv inside 2 If/Loop/Scan bodies (graph/If_25.then_branch, …)", or undefined when there are none. */
export function describeSubgraphOps(s: SubgraphOps): string | undefined {
  if (s.ops.size === 0) return undefined;
  const ops = [...s.ops].map(([op, n]) => `${n}× ${op}`).join(", ");
  const where = s.bodies.slice(0, 2).join(", ") + (s.bodies.length > 2 ? ", …" : "");
  return `${ops} inside ${s.bodies.length} If/Loop/Scan bod${s.bodies.length === 1 ? "y" : "ies"} (${where})`;
}

/** ONNX's integer operators: a model holding them is already quantized in operator (QOperator) form. */
const QOPERATOR = new Set(["QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"]);

/** The reason a model has nothing to quantize, naming compute ops that only refused bodies hold, and why (`refused`: one line per body). */
export function noQuantizableOpReason(g: Graph, refused: readonly string[] = []): string {
  const inside = describeSubgraphOps(subgraphComputeOps(g));
  const integer = g.nodes.find((n) => QOPERATOR.has(n.opType) && (n.domain ?? "") === "");
  const base = `the model has no quantizable op (Conv, ConvTranspose, Gemm, MatMul, or a Gather of a constant float32 table [rows, width])${integer ? `: it is already quantized in operator form (${integer.opType} '${integer.name || integer.outputs[0]}'); fixq reads QuantizeLinear/DequantizeLinear (QDQ) models, so quantize the float original` : ""}`;
  if (!inside) return base;
  return `${base} in its main graph, and its ${inside} stay float${refused.length ? ` (${refused.join("; ")})` : ""}`;
}
