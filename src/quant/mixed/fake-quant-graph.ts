/**
 * Switchable fake quantization of activations, for measuring a candidate's
 * activation format (measure.ts). For an activation t and an integer format
 * (scale s, zero point z, range [qmin, qmax]) the graph computes
 *
 *   q  = min(max(round(t / s) + z, qmin), qmax)      (round half to even, as QuantizeLinear)
 *   t' = t + m · ((q − z) · s − t)
 *
 * with m a scalar graph input: m = 0 gives t' = t exactly (t + 0 · finite),
 * m = 1 gives DequantizeLinear(QuantizeLinear(t)). Several formats of one
 * tensor are chained, each with its own switch. Plain float ops (Div, Round,
 * Add, Max, Min, Sub, Mul; Round needs opset 11), so any integer width
 * (uint16 too) runs in one session whatever the model's opset for
 * QuantizeLinear.
 *
 * A tensor with a producer keeps its name: the producer writes `t·raw` and
 * the chain ends in t, so readers, graph outputs and subgraphs see t'. A
 * graph input cannot be renamed: its readers in the main graph read the
 * chain's end instead.
 */
import type { Model, Node } from "../../ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../ir/tensor.js";
import { typeProtoOf } from "../../ir/types.js";

export interface ActFakeQuant {
  readonly tensor: string;
  /** The switch's graph input (a float scalar, 0 or 1). */
  readonly mask: string;
  readonly scale: number;
  readonly zeroPoint: number;
  readonly qmin: number;
  readonly qmax: number;
}

/** The model with every fake quantization of `list` inserted, switched by its mask input. */
export function withFakeQuant(model: Model, list: readonly ActFakeQuant[]): Model {
  const g = model.graph!;
  if (list.length === 0) return model;
  const produced = new Set(g.nodes.flatMap((n) => n.outputs));
  const byTensor = new Map<string, ActFakeQuant[]>();
  for (const f of list) byTensor.set(f.tensor, [...(byTensor.get(f.tensor) ?? []), f]);
  const inits: Tensor[] = [];
  const chains = new Map<string, Node[]>();
  let nodes: Node[] = [];
  const renameOut = new Map<string, string>();
  const renameIn = new Map<string, string>();
  let k = 0;
  const node = (opType: string, inputs: string[], output: string): string => {
    nodes.push({ name: `fixq_fq_${k++}`, opType, inputs, outputs: [output], attributes: [] });
    return output;
  };
  for (const [t, fs] of byTensor) {
    nodes = [];
    chains.set(t, nodes);
    const start = produced.has(t) ? `${t}·raw` : t;
    if (produced.has(t)) renameOut.set(t, start);
    let x = start;
    fs.forEach((f, i) => {
      const p = `${t}·fq${i}`;
      const c = (what: string, v: number) => {
        inits.push(makeFloatTensor(`${p}·${what}`, [], [v]));
        return `${p}·${what}`;
      };
      const [s, z, lo, hi] = [c("s", f.scale), c("z", f.zeroPoint), c("qmin", f.qmin), c("qmax", f.qmax)];
      const q = node("Min", [node("Max", [node("Add", [node("Round", [node("Div", [x, s], `${p}·div`)], `${p}·round`), z], `${p}·add`), lo], `${p}·max`), hi], `${p}·q`);
      const dq = node("Mul", [node("Sub", [q, z], `${p}·sub`), s], `${p}·dq`);
      const delta = node("Mul", [node("Sub", [dq, x], `${p}·delta`), f.mask], `${p}·masked`);
      const last = i === fs.length - 1 && produced.has(t);
      x = node("Add", [x, delta], last ? t : `${p}·out`);
    });
    if (!produced.has(t)) renameIn.set(t, x);
  }
  const rewired = g.nodes.map((n) => ({ ...n, inputs: n.inputs.map((v) => renameIn.get(v) ?? v), outputs: n.outputs.map((v) => renameOut.get(v) ?? v) }));
  const chainAfter = new Map([...renameOut].map(([t, raw]) => [raw, chains.get(t)!]));
  // Chains of graph inputs first; every other chain right after its tensor's producer: the order stays topological.
  const order: Node[] = [...byTensor.keys()].filter((t) => !produced.has(t)).flatMap((t) => chains.get(t)!);
  for (const n of rewired) {
    order.push(n);
    for (const o of n.outputs) order.push(...(chainAfter.get(o) ?? []));
  }
  const masks = [...new Set(list.map((f) => f.mask))].map((name) => ({ name, type: typeProtoOf({ dtype: 1, shape: [] }) }));
  return { ...model, graph: { ...g, nodes: order, initializers: [...g.initializers, ...inits], inputs: [...g.inputs, ...masks] } };
}
