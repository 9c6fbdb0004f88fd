/**
 * The activation that follows a layer, for AdaRound's post-activation loss:
 * the layer's output read by exactly one node, a ReLU (bounds [0, ∞)) or a
 * Clip with constant bounds (ReLU6: [0, 6]), and not a graph output. With
 * the layer's bias b (per output channel; 0 when absent) the output of row r
 * for input column x is clip(w_r·x + b_r, lo, hi).
 */
import { attrFloat } from "../../ir/attrs.js";
import { clipBounds } from "../../passes/chains.js";
import type { GraphEdit } from "../../passes/graph-edit.js";

export interface LayerActivation {
  readonly op: string;
  readonly lo: number;
  readonly hi: number;
  /** b by output channel. */
  readonly bias: Float64Array;
}

/** The activation after node `i` (a Conv, ConvTranspose, Gemm or MatMul with `outChannels` outputs), or why there is none to use. */
export function layerActivation(ed: GraphEdit, i: number, outChannels: number): LayerActivation | { reason: string } {
  const n = ed.graph.nodes[i]!;
  const out = n.outputs[0]!;
  const readers = ed.consumers(out);
  if (readers.length !== 1 || ed.isGraphOutput(out)) return { reason: "its output is not read by one activation alone" };
  const act = ed.graph.nodes[readers[0]!]!;
  let bounds: { lo: number; hi: number } | undefined;
  if (act.opType === "Relu") bounds = { lo: 0, hi: Number.POSITIVE_INFINITY };
  else if (act.opType === "Clip") bounds = clipBounds(ed, act);
  if (!bounds) return { reason: `no ReLU or constant Clip after it (${act.opType})` };
  if (n.opType === "Gemm" && (attrFloat(n, "alpha", 1) !== 1 || attrFloat(n, "beta", 1) !== 1)) return { reason: "a Gemm with alpha or beta ≠ 1" };
  const bias = new Float64Array(outChannels);
  const b = n.opType === "MatMul" ? undefined : n.inputs[2];
  if (b) {
    const f = ed.floats(b);
    if (!f || (f.length !== outChannels && f.length !== 1)) return { reason: `its bias '${b}' is not a constant of ${outChannels} values` };
    for (let r = 0; r < outChannels; r++) bias[r] = f.length === 1 ? f[0]! : f[r]!;
  }
  return { op: act.opType, ...bounds, bias };
}
