/**
 * Makes values inside control-flow bodies observable for calibration.
 * ONNX Runtime only returns a graph's outputs, and a body's tensors are not
 * the main graph's values, so each wanted body value v is carried out level
 * by level, with the same ops computing it as in the model:
 *
 * - If: both branches get one new output per value wanted in either branch.
 *   The branch that computes v outputs Identity(v); the other outputs an empty
 *   tensor of v's element type (a Constant of shape [0]). The If node gets
 *   the matching outputs. A run that takes the branch yields v; one that does
 *   not yields no elements, which calibration skips.
 * - Loop and Scan: v becomes a new scan output of the body (appended after the
 *   existing ones) and of the node: ONNX Runtime stacks v of every iteration
 *   along a new first axis, so the statistics see every iteration. (A value
 *   whose shape changes from one iteration to the next cannot be stacked: the
 *   run fails, and the caller keeps the bodies float.)
 * - Nested bodies are carried out to their parent body first, then on up.
 *
 * Bodies of other ops are not entered. Every added name is fresh in the whole
 * model, so no name shadows another scope's.
 */
import type { Attribute, Graph, Model, Node, ValueInfo } from "../ir/graph.js";
import { graphNames, type NameSet } from "../ir/names.js";
import { typeProtoOf } from "../ir/types.js";
import { CONTROL_FLOW, emptyTensor } from "./bodies.js";

/** A body value to observe: its name in the body and its element type. */
export interface WantedValue {
  readonly value: string;
  readonly dtype: number;
}

/** Where an exposed main-graph output comes from: the body (as in the model) and the value's name there. */
export interface HoistedOrigin {
  readonly body: Graph;
  readonly value: string;
}

interface Item {
  /** The value's name in the current graph. */
  readonly name: string;
  readonly origin: HoistedOrigin;
  readonly dtype: number;
}

const outputInfo = (name: string, dtype: number): ValueInfo => ({ name, type: typeProtoOf({ dtype, shape: undefined }) });

/** `body` with one more output per item: Identity of the item's value, or an empty stand-in for the items of `absent`. */
function withOutputs(body: Graph, present: readonly Item[], absent: readonly Item[], fresh: NameSet): { graph: Graph; outs: string[] } {
  const nodes: Node[] = [...body.nodes];
  const outputs: ValueInfo[] = [...body.outputs];
  const outs: string[] = [];
  for (const it of present) {
    const o = fresh.fresh(`${it.origin.value}/fixq.hoist`);
    nodes.push({ opType: "Identity", name: fresh.fresh(`${o}_Identity`), inputs: [it.name], outputs: [o], attributes: [] });
    outputs.push(outputInfo(o, it.dtype));
    outs.push(o);
  }
  for (const it of absent) {
    const o = fresh.fresh(`${it.origin.value}/fixq.absent`);
    nodes.push({ opType: "Constant", name: fresh.fresh(`${o}_Constant`), inputs: [], outputs: [o], attributes: [{ name: "value", type: 4, t: emptyTensor(o, it.dtype) }] });
    outputs.push(outputInfo(o, it.dtype));
  }
  return { graph: { ...body, nodes, outputs }, outs };
}

/** The items of one body: its own wanted values, then those its nested bodies carried up to it. */
function bodyItems(body: Graph, wanted: ReadonlyMap<Graph, readonly WantedValue[]>, fresh: NameSet): { graph: Graph; items: Item[] } {
  const inner = expose(body, wanted, fresh);
  const own = (wanted.get(body) ?? []).map((w): Item => ({ name: w.value, origin: { body, value: w.value }, dtype: w.dtype }));
  return { graph: inner.graph, items: [...own, ...inner.items] };
}

function exposeNode(n: Node, wanted: ReadonlyMap<Graph, readonly WantedValue[]>, fresh: NameSet): { node: Node; items: Item[] } {
  if (!CONTROL_FLOW.has(n.opType)) return { node: n, items: [] };
  const slots = (items: readonly Item[]) => items.map((it): Item => ({ ...it, name: fresh.fresh(`${it.origin.value}/fixq.out`) }));
  if (n.opType === "If") {
    const thenA = n.attributes.find((a) => a.name === "then_branch");
    const elseA = n.attributes.find((a) => a.name === "else_branch");
    if (!thenA?.g || !elseA?.g) return { node: n, items: [] };
    const t = bodyItems(thenA.g, wanted, fresh);
    const e = bodyItems(elseA.g, wanted, fresh);
    if (t.items.length + e.items.length === 0) return { node: n, items: [] };
    // New outputs, in both branches: the then items, then the else items; each branch stands in for the other's.
    const thenG = withOutputs(t.graph, t.items, e.items, fresh).graph;
    const elseG = withOutputs(withOutputs(e.graph, [], t.items, fresh).graph, e.items, [], fresh).graph;
    const items = slots([...t.items, ...e.items]);
    const attributes = n.attributes.map((a): Attribute => (a === thenA ? { ...a, g: thenG } : a === elseA ? { ...a, g: elseG } : a));
    return { node: { ...n, outputs: [...n.outputs, ...items.map((it) => it.name)], attributes }, items };
  }
  const bodyA = n.attributes.find((a) => a.name === "body");
  if (!bodyA?.g) return { node: n, items: [] };
  const b = bodyItems(bodyA.g, wanted, fresh);
  if (b.items.length === 0) return { node: n, items: [] };
  const g = withOutputs(b.graph, b.items, [], fresh).graph;
  const items = slots(b.items);
  const attributes = n.attributes.map((a): Attribute => {
    if (a === bodyA) return { ...a, g };
    // Scan: every new scan output stacks along axis 0, forwards.
    if (n.opType === "Scan" && (a.name === "scan_output_axes" || a.name === "scan_output_directions")) return { ...a, ints: [...(a.ints ?? []), ...items.map(() => 0)] };
    return a;
  });
  return { node: { ...n, outputs: [...n.outputs, ...items.map((it) => it.name)], attributes }, items };
}

function expose(g: Graph, wanted: ReadonlyMap<Graph, readonly WantedValue[]>, fresh: NameSet): { graph: Graph; items: Item[] } {
  const items: Item[] = [];
  let changed = false;
  const nodes = g.nodes.map((n) => {
    const r = exposeNode(n, wanted, fresh);
    items.push(...r.items);
    if (r.node !== n) changed = true;
    return r.node;
  });
  return { graph: changed ? { ...g, nodes } : g, items };
}

/**
 * The model with every wanted body value (keyed by the body graph as it is
 * in `model`) carried out to a new output of its top-level control-flow
 * node; `exposed` maps each such output name to the value it carries.
 */
export function hoistBodyValues(model: Model, wanted: ReadonlyMap<Graph, readonly WantedValue[]>): { model: Model; exposed: Map<string, HoistedOrigin> } {
  const g = model.graph!;
  const { graph, items } = expose(g, wanted, graphNames(g));
  return { model: { ...model, graph }, exposed: new Map(items.map((it) => [it.name, it.origin])) };
}
