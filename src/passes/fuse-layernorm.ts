/**
 * fuseLayerNorm: replaces the LayerNorm that torch exports before opset 17
 * write as separate ops by one LayerNormalization (axis −1), so that the QDQ
 * model and the integer lowering (integer/lower-norm.ts) see a single op:
 *
 *   μ = ReduceMean(x, axes=[−1], keepdims=1)
 *   d = x − μ
 *   v = ReduceMean(d², axes=[−1], keepdims=1)          (d² as Pow(d, 2) or Mul(d, d))
 *   y = d / Sqrt(v + ε) [· γ] [+ β]
 *     = LayerNormalization(x, γ (ones when absent), β; axis=−1, epsilon=ε)
 *
 * The chain is fused only when every part is exactly that: both means over
 * the last axis only with keepdims 1 (axes as attribute before opset 18 or as
 * a constant input from 18), ε a float32 constant of one element, the
 * exponent a constant 2, γ and β float32 constants whose only non-1 dim is
 * the last one (of length C, the normalized axis), and every intermediate
 * value read by the chain alone (d by the square and the Div). Anything else
 * stays as it is.
 *
 * The decomposed RMSNorm (match-rmsnorm.ts: x / √(mean(x²) + ε) · γ) fuses the
 * same way to one RMSNormalization; integer/lower-norm.ts lowers it with the
 * LayerNorm kernel without the mean.
 *
 * LayerNormalization exists from opset 17, RMSNormalization from 23.
 * `fuseLayerNorm` on a graph of a lower opset finds the chains and keeps them,
 * saying why; `fuseLayerNormModel` (what the float pipeline runs) first upgrades
 * such a model to the opset its chains need (17, or 23 with an RMSNorm) with
 * upgrade-opset.ts, and keeps the chains (with the upgrade's reason) when that
 * upgrade refuses.
 */
import { isDefaultDomain } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import { AttrType, type Graph, type Model, type Node, opsetVersion } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { GraphEdit } from "./graph-edit.js";
import { matchRmsChain, RMSNORM_OPSET } from "./match-rmsnorm.js";
import { type Chain, meanOverLastAxis, other, perLastAxis, powerOf, scalarFloat, soleReader } from "./norm-chain.js";
import { upgradeOpset } from "./upgrade-opset.js";

/** The first opset with LayerNormalization. */
export const LAYERNORM_OPSET = 17;

export interface FuseLayerNormReport {
  readonly pass: "fuse-layernorm";
  /** The LayerNormalization nodes written, each with the nodes it replaced. */
  readonly fused: readonly { readonly node: string; readonly replaced: readonly string[] }[];
  /** Chains found but kept, with the reason. */
  readonly kept: readonly { readonly node: string; readonly reason: string }[];
}

/** The chain starting at ReduceMean node i, or a reason it is not one (undefined when node i does not start one at all). */
function matchChain(ed: GraphEdit, i: number, rankOf: (v: string) => number | undefined, widthOf: (v: string) => number | undefined): Chain | string | undefined {
  const mean = ed.node(i)!;
  const x = mean.inputs[0] ?? "";
  const sub = soleReader(ed, mean.outputs[0] ?? "", "Sub");
  const subN = sub === undefined ? undefined : ed.node(sub)!;
  if (!subN || subN.inputs[0] !== x || subN.inputs[1] !== mean.outputs[0]) return undefined;
  const d = subN.outputs[0]!;
  const readers = new Set(ed.consumers(d));
  if (ed.isGraphOutput(d) || readers.size !== 2) return undefined;
  const [sq, div] = [...readers].sort((a, b) => (ed.node(a)!.opType === "Div" ? 1 : 0) - (ed.node(b)!.opType === "Div" ? 1 : 0));
  const sqN = ed.node(sq!)!;
  const divN = ed.node(div!)!;
  if (divN.opType !== "Div" || !isDefaultDomain(divN) || divN.inputs[0] !== d || !isDefaultDomain(sqN)) return undefined;
  const isSquare = sqN.opType === "Pow" ? sqN.inputs[0] === d && powerOf(ed, sqN.inputs[1] ?? "") === 2 : sqN.opType === "Mul" && sqN.inputs[0] === d && sqN.inputs[1] === d;
  if (!isSquare) return undefined;
  const mean2 = soleReader(ed, sqN.outputs[0]!, "ReduceMean");
  if (mean2 === undefined) return undefined;
  const addEps = soleReader(ed, ed.node(mean2)!.outputs[0]!, "Add");
  if (addEps === undefined) return undefined;
  const sqrt = soleReader(ed, ed.node(addEps)!.outputs[0]!, "Sqrt");
  if (sqrt === undefined || divN.inputs[1] !== ed.node(sqrt)!.outputs[0] || ed.readers(divN.inputs[1]!) !== 1) return undefined;
  // From here on it is a decomposed LayerNorm; what does not fit is a reason.
  const rank = rankOf(x);
  if (!meanOverLastAxis(ed, mean, rank) || !meanOverLastAxis(ed, ed.node(mean2)!, rank)) return "a mean is not over the last axis alone with keepdims 1";
  const eps = scalarFloat(ed, other(ed.node(addEps)!, ed.node(mean2)!.outputs[0]!) ?? "");
  if (eps === undefined || !(eps >= 0)) return "ε is not a float32 scalar constant ≥ 0";
  const nodes = [i, sub!, sq!, mean2, addEps, sqrt, div!];
  let out = divN.outputs[0]!;
  let c = widthOf(x) ?? -1;
  /** The γ Mul or β Add after `out`, when there is one by a constant over the last axis; it joins the chain. */
  const affine = (op: string): Float64Array | undefined => {
    const k = soleReader(ed, out, op);
    const v = k === undefined ? undefined : perLastAxis(ed, other(ed.node(k)!, out) ?? "", c);
    if (!v) return undefined;
    c = Math.max(c, v.length);
    nodes.push(k!);
    out = ed.node(k!)!.outputs[0]!;
    return v;
  };
  const gamma = affine("Mul");
  const beta = affine("Add");
  if (c < 0) return "the normalized axis' length is unknown";
  // A γ or β of length 1 broadcasts over C > 1: widen it.
  const widen = (v: Float64Array | undefined) => (v && v.length !== c ? Float64Array.from({ length: c }, () => v[0]!) : v);
  return { kind: "layer", x, eps, nodes, gamma: widen(gamma) ?? new Float64Array(c).fill(1), beta: widen(beta), out };
}

/** Why a chain is kept at a model opset below what its fused op needs. */
const opsetReason = (kind: Chain["kind"], opset: number) =>
  kind === "layer" ? `LayerNormalization needs opset ${LAYERNORM_OPSET}, the model has ${opset}` : `RMSNormalization needs opset ${RMSNORM_OPSET}, the model has ${opset}`;
const OPSET_REASON = /^(LayerNormalization|RMSNormalization) needs opset (\d+)/;

export function fuseLayerNorm(g: Graph, opset: number): { graph: Graph; report: FuseLayerNormReport } {
  const ed = new GraphEdit(g);
  const fused: { node: string; replaced: string[] }[] = [];
  const kept: { node: string; reason: string }[] = [];
  let types: ReturnType<typeof inferTypes> | undefined;
  const typeOf = (v: string) => {
    types ??= inferTypes(g);
    return types.get(v)?.shape;
  };
  const dtypeOf = (v: string) => {
    types ??= inferTypes(g);
    return types.get(v)?.dtype;
  };
  const rankOf = (v: string) => typeOf(v)?.length;
  const widthOf = (v: string) => {
    const d = typeOf(v)?.at(-1);
    return typeof d === "number" && d > 0 ? d : undefined;
  };
  const used = new Set<number>();
  for (let i = 0; i < ed.nodeCount; i++) {
    const n = ed.node(i);
    if (n?.opType !== "ReduceMean" || !isDefaultDomain(n) || used.has(i)) continue;
    const m = matchChain(ed, i, rankOf, widthOf) ?? matchRmsChain(ed, i, { rankOf, widthOf, dtypeOf });
    if (m === undefined) continue;
    const first = typeof m === "string" ? i : m.nodes[0]!;
    if (typeof m === "string") {
      kept.push({ node: ed.label(first), reason: m });
      continue;
    }
    if (opset < (m.kind === "layer" ? LAYERNORM_OPSET : RMSNORM_OPSET)) {
      kept.push({ node: ed.label(first), reason: opsetReason(m.kind, opset) });
      continue;
    }
    for (const k of m.nodes) used.add(k);
    const last = m.nodes.at(-1)!;
    const label = ed.label(first);
    const replaced = m.nodes.map((k) => ed.label(k));
    const c = m.gamma!.length;
    const inputs = [m.x, ed.addInitializer(`${label}.gamma`, [c], m.gamma!)];
    if (m.beta) inputs.push(ed.addInitializer(`${label}.beta`, [c], m.beta));
    const ln: Node = {
      name: ed.freshNodeName(`${label}.${m.kind === "layer" ? "layernorm" : "rmsnorm"}`),
      opType: m.kind === "layer" ? "LayerNormalization" : "RMSNormalization",
      domain: "",
      inputs,
      outputs: [m.out],
      attributes: [
        { name: "axis", type: AttrType.INT, i: -1 },
        { name: "epsilon", type: AttrType.FLOAT, f: m.eps },
      ],
    };
    for (const k of m.nodes) if (k !== last) ed.removeNode(k);
    ed.replaceNode(last, ln);
    fused.push({ node: ln.name!, replaced });
  }
  return { graph: ed.finish(), report: { pass: "fuse-layernorm", fused, kept } };
}

/**
 * Fuses on a whole model: one of opset < 17 that has a chain is upgraded to 17
 * first (the whole model, faithfully, or not at all); when the upgrade
 * refuses, the chains stay and the report gives the upgrade's reason.
 */
export function fuseLayerNormModel(model: Model): { model: Model; report: FuseLayerNormReport } {
  const g = model.graph!;
  const opset = opsetVersion(model) ?? 1;
  const first = fuseLayerNorm(g, opset);
  const target = Math.max(0, ...first.report.kept.map((k) => Number(OPSET_REASON.exec(k.reason)?.[2] ?? 0)));
  if (target <= opset) return { model: first.graph === g ? model : { ...model, graph: first.graph }, report: first.report };
  let upgraded: Model;
  try {
    upgraded = upgradeOpset(model, target);
  } catch (e) {
    if (!(e instanceof FixqError)) throw e;
    const kept = first.report.kept.map((k) => (OPSET_REASON.test(k.reason) ? { ...k, reason: `${k.reason}, and ${e.message}` } : k));
    return { model: first.graph === g ? model : { ...model, graph: first.graph }, report: { ...first.report, kept } };
  }
  const out = fuseLayerNorm(upgraded.graph!, target);
  return { model: { ...upgraded, graph: out.graph }, report: out.report };
}
