/**
 * foldBatchNorm: folds an inference-mode BatchNormalization into the linear
 * layer that computes its input (Conv, ConvTranspose, Gemm, MatMul, each with
 * or without a bias Add; see layers.ts). With s_c = γ_c / √(σ²_c + ε), per
 * output channel c of the layer:
 *
 *   W'[c, …] = W[c, …] · s_c          b'_c = (b_c − μ_c) · s_c + β_c
 *
 * (for Gemm, W is B and b is beta·C; alpha stays). The layer then writes the
 * BN's output value and the BN node is gone. BN normalizes axis 1, so a MatMul
 * (channels on its last axis) folds only when its output is 2-D.
 *
 * The BN's β and γ are kept in `graph.bnStats` under that output value: the
 * layer's output per channel is then roughly N(β_c, γ_c²), which high-bias
 * absorption and the data-free passes use.
 *
 * A BN stays, and the report says why, when: its input is not the output of
 * such a layer, or that output has other readers; the layer's weight or bias
 * is shared, not a float32 constant, or not per channel; its parameters are not
 * constants; it is in training mode (training_mode=1, is_test=0, or its
 * running/saved statistics outputs are used); or spatial=0.
 */
import { attrFloat, attrInt } from "../ir/attrs.js";
import type { Graph, Node } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { GraphEdit } from "./graph-edit.js";
import { type Layer, layerProducing, readBias, readWeights, weightLayout, writeBias, writeWeights } from "./layers.js";

export interface FoldReport {
  readonly pass: "fold-batchnorm";
  readonly folded: readonly { readonly bn: string; readonly into: string; readonly output: string }[];
  readonly unfolded: readonly { readonly bn: string; readonly reason: string }[];
}

const attrNum = (n: Node, name: string): number | undefined => attrInt(n, name) ?? attrFloat(n, name);

/** Why this BN node cannot be folded by itself (before looking at its producer), or undefined. */
function bnRefusal(n: Node): string | undefined {
  if (n.outputs.slice(1).some((o) => o)) return "training-mode outputs (running or saved statistics) are used";
  if (attrNum(n, "training_mode") === 1) return "training_mode=1";
  if (attrNum(n, "is_test") === 0) return "is_test=0 (training mode)";
  if (attrNum(n, "spatial") === 0) return "spatial=0 (statistics per element, not per channel)";
  return undefined;
}

export function foldBatchNorm(g: Graph): { graph: Graph; report: FoldReport } {
  const folded: { bn: string; into: string; output: string }[] = [];
  const unfolded: { bn: string; reason: string }[] = [];
  if (!g.nodes.some((n) => n.opType === "BatchNormalization")) return { graph: g, report: { pass: "fold-batchnorm", folded, unfolded } };
  const ed = new GraphEdit(g);
  const types = inferTypes(g);
  for (let i = 0; i < ed.nodeCount; i++) {
    const n = ed.node(i)!;
    if (n.opType !== "BatchNormalization" || ((n.domain ?? "") !== "" && n.domain !== "ai.onnx")) continue;
    const result = foldOne(ed, types, i, n);
    if (typeof result === "string") unfolded.push({ bn: ed.label(i), reason: result });
    else folded.push({ bn: ed.label(i), into: result.name, output: n.outputs[0]! });
  }
  return { graph: ed.finish(), report: { pass: "fold-batchnorm", folded, unfolded } };
}

function foldOne(ed: GraphEdit, types: ReturnType<typeof inferTypes>, i: number, n: Node): Layer | string {
  const refusal = bnRefusal(n);
  if (refusal) return refusal;
  const [x = "", ...params] = n.inputs;
  const [gamma, beta, mean, variance] = params.map((p) => ed.floats(p));
  if (!gamma || !beta || !mean || !variance) return "its scale, bias, mean and variance are not all float constants";
  if (ed.isGraphOutput(x) || ed.readers(x) !== 1) return `its input '${x}' has other consumers`;
  const layer = layerProducing(ed, types, x);
  if ("reason" in layer) return layer.reason;
  if (layer.outAxis !== 1) return `${layer.name} puts channels on axis ${layer.outAxis} of a rank-${layer.rank} output; BatchNormalization normalizes axis 1`;
  const c = layer.outChannels;
  if ([gamma, beta, mean, variance].some((p) => p.length !== c)) return `parameters do not have one value per channel (${c})`;
  const eps = attrNum(n, "epsilon") ?? 1e-5;
  const s = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    const v = variance[k]! + eps;
    if (!(v > 0)) return `variance + epsilon is not positive in channel ${k}`;
    s[k] = gamma[k]! / Math.sqrt(v);
  }
  const w = readWeights(ed, layer);
  const { out } = weightLayout(ed, layer);
  for (let idx = 0; idx < w.length; idx++) w[idx] = w[idx]! * s[out[idx]!]!;
  const b = readBias(ed, layer);
  for (let k = 0; k < c; k++) b[k] = (b[k]! - mean[k]!) * s[k]! + beta[k]!;
  writeWeights(ed, layer, w);
  // The layer now writes the BN's output value.
  const y = n.outputs[0]!;
  const last = layer.addNode ?? layer.node;
  const lastNode = ed.node(last)!;
  ed.replaceNode(last, { ...lastNode, outputs: [y, ...lastNode.outputs.slice(1)] });
  writeBias(ed, { ...layer, output: y }, b);
  ed.removeNode(i);
  ed.setBnStats(x, undefined);
  ed.setBnStats(y, { beta: Float64Array.from(beta), gamma: Float64Array.from(gamma) });
  return layer;
}
