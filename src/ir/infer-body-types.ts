/**
 * Type inference through control flow: the outputs of If, Loop and Scan nodes
 * take their types from their bodies, which inferTypes (infer-types.ts) does
 * not enter. A body is inferred with its enclosing scope's types visible.
 *
 * - If: output i has then_branch output i's type; where the branches agree
 *   on the element type but not the shape, the shape is left unknown.
 * - Loop: inputs (M, cond, v_1..v_N); body outputs (cond, v_1..v_N, scan
 *   outputs); node outputs (v_1..v_N finals, scan outputs stacked): a carried
 *   value keeps its body output's type, a scan output its element type (the
 *   shape gains an iteration axis, left unknown).
 * - Scan: body outputs (state_1..state_N, scan outputs), node outputs alike,
 *   N = inputs − num_scan_inputs; the same rules.
 * Repeated until no new type appears (a control-flow output feeding another).
 */
import { attrInt } from "./attrs.js";
import type { Graph, Node, TensorType } from "./graph.js";
import { inferTypes } from "./infer-types.js";

const bodyOf = (n: Node, name: string) => n.attributes.find((a) => a.name === name)?.g;

function bodyOutputTypes(body: Graph | undefined, outer: ReadonlyMap<string, TensorType>): (TensorType | undefined)[] {
  if (!body) return [];
  const t = inferTypesDeep(body, outer);
  return body.outputs.map((o) => t.get(o.name));
}

const elementOnly = (t: TensorType | undefined): TensorType | undefined => (t ? { dtype: t.dtype, shape: undefined } : undefined);

function merge(a: TensorType | undefined, b: TensorType | undefined): TensorType | undefined {
  if (!a || !b) return a ?? b;
  if (a.dtype !== b.dtype) return undefined;
  const same = a.shape && b.shape && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape![i]);
  return same ? a : elementOnly(a);
}

/** The types of a control-flow node's outputs from its bodies (undefined where unknown; [] for other ops). */
function controlFlowOutputs(n: Node, types: ReadonlyMap<string, TensorType>): (TensorType | undefined)[] {
  if ((n.domain ?? "") !== "" && n.domain !== "ai.onnx") return [];
  if (n.opType === "If") {
    const t = bodyOutputTypes(bodyOf(n, "then_branch"), types);
    const e = bodyOutputTypes(bodyOf(n, "else_branch"), types);
    return n.outputs.map((_, i) => merge(t[i], e[i]));
  }
  if (n.opType !== "Loop" && n.opType !== "Scan") return [];
  const outs = bodyOutputTypes(bodyOf(n, "body"), types);
  const carried = n.opType === "Loop" ? n.inputs.length - 2 : n.inputs.length - (attrInt(n, "num_scan_inputs") ?? 0);
  const first = n.opType === "Loop" ? 1 : 0;
  return n.outputs.map((_, i) => (i < carried ? outs[first + i] : elementOnly(outs[first + i])));
}

/** inferTypes, with If/Loop/Scan outputs typed from their bodies (see the file comment). */
export function inferTypesDeep(g: Graph, outer?: ReadonlyMap<string, TensorType>): Map<string, TensorType> {
  const seeds = new Map(outer);
  let types = inferTypes(g, seeds);
  for (let pass = 0; pass < 8; pass++) {
    let added = false;
    for (const n of g.nodes) {
      if (!n.attributes.some((a) => a.g)) continue;
      controlFlowOutputs(n, types).forEach((t, i) => {
        const o = n.outputs[i];
        if (o && t?.dtype && !types.has(o)) {
          seeds.set(o, t);
          added = true;
        }
      });
    }
    if (!added) break;
    types = inferTypes(g, seeds);
  }
  return types;
}
