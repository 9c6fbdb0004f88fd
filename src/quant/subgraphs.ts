/**
 * Compute ops inside control-flow bodies (If branches, Loop and Scan bodies).
 * fixq plans, calibrates and quantizes the main graph only: ONNX Runtime
 * cannot expose a tensor inside a body as a model output, so calibration
 * cannot see it, and the QDQ writer edits the main graph. Such ops stay
 * float, and the quantize summary says so. An If whose condition the
 * `--input-value` constants decide is inlined first (passes/inline-if.ts),
 * which brings its branch into the main graph.
 */
import type { Graph } from "../ir/graph.js";
import { walkGraphs } from "../ir/graph.js";

const COMPUTE = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

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

/** The reason a model has nothing to quantize, naming compute ops that only subgraph bodies hold. */
export function noQuantizableOpReason(g: Graph): string {
  const inside = describeSubgraphOps(subgraphComputeOps(g));
  const base = "the model has no quantizable op (Conv, ConvTranspose, Gemm, MatMul)";
  if (!inside) return base;
  return `${base} in its main graph: its ${inside} stay float, because fixq quantizes the main graph only (ONNX Runtime cannot expose a tensor inside a body for calibration); if inputs decide the If, give them with --input-value and add --specialize to quantize the branch they choose`;
}
