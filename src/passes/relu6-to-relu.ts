/**
 * relu6ToRelu: replaces every ReLU6, i.e. Clip(x, 0, 6), by Relu(x), as
 * Nagel et al. (2019) do before equalizing MobileNetV2:
 *
 *   min(max(x, 0), 6)  →  max(x, 0)
 *
 * ReLU6 is not scale-equivariant (min(x/s, 6) ≠ min(x, 6)/s), so it blocks
 * cross-layer equalization; ReLU is. This changes the float function wherever
 * an activation exceeds 6, so the caller reports the float accuracy change.
 * Clip bounds that are no longer read are dropped.
 *
 * Only a ReLU6 that is a layer's activation is replaced: one whose input is
 * the output of a Conv, ConvTranspose, Gemm or MatMul (possibly through its
 * bias Add or a BatchNormalization). A Clip(0, 6) elsewhere is part of some
 * other function — hard-swish is x·Clip(x + 3, 0, 6)/6 — and stays.
 */
import { isDefaultDomain } from "../ir/attrs.js";
import type { Graph, } from "../ir/graph.js";
import { isRelu6 } from "./chains.js";
import { GraphEdit } from "./graph-edit.js";
import { isLayerOp } from "./layers.js";

export interface Relu6Report {
  readonly pass: "relu6-to-relu";
  /** The Clip nodes replaced. */
  readonly replaced: readonly string[];
  /** Clip(0, 6) nodes kept because they are not a layer's activation. */
  readonly kept: readonly string[];
}


/** True when `value` is computed by a linear layer, directly or through its bias Add or a BatchNormalization. */
function fromLayer(ed: GraphEdit, value: string): boolean {
  const p = ed.producer(value);
  const n = p === undefined ? undefined : ed.node(p);
  if (!n || !isDefaultDomain(n)) return false;
  if (isLayerOp(n)) return true;
  if (n.opType === "BatchNormalization") return fromLayer(ed, n.inputs[0] ?? "");
  if (n.opType === "Add" && n.inputs.length === 2) {
    // A bias Add is its layer output's only reader; hard-swish's x + 3 is not (x·Clip(x + 3, 0, 6) reads x twice).
    const k = n.inputs.findIndex((v) => ed.constantThrough(v));
    return k >= 0 && ed.readers(n.inputs[1 - k]!) === 1 && fromLayer(ed, n.inputs[1 - k]!);
  }
  return false;
}

export function relu6ToRelu(g: Graph): { graph: Graph; report: Relu6Report } {
  const ed = new GraphEdit(g);
  const replaced: string[] = [];
  const kept: string[] = [];
  for (let i = 0; i < ed.nodeCount; i++) {
    const n = ed.node(i)!;
    if (!isRelu6(ed, n)) continue;
    if (!fromLayer(ed, n.inputs[0] ?? "")) {
      kept.push(ed.label(i));
      continue;
    }
    replaced.push(ed.label(i));
    ed.replaceNode(i, { name: n.name, opType: "Relu", domain: n.domain, inputs: [n.inputs[0]!], outputs: [n.outputs[0]!], attributes: [], docString: n.docString });
  }
  return { graph: ed.finish(), report: { pass: "relu6-to-relu", replaced, kept } };
}
