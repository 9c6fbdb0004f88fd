/**
 * Specialization (`quantize --specialize`): an If node of the main graph
 * whose condition is decided by constants is replaced by the branch it
 * takes. Silero VAD computes `If(Equal(sr, 16000))` with its whole 16 kHz
 * network in one branch; with `--input-value sr=16000` the then-branch moves
 * into the main graph, where it can be calibrated and quantized.
 *
 * The condition is evaluated over one-element values only: the given input
 * constants, one-element initializers and Constant nodes, through Equal,
 * Greater, Less, GreaterOrEqual, LessOrEqual, Not, And, Or, Xor, Cast and
 * Identity. The branch's nodes take the If's place (nested bodies unchanged),
 * its initializers and value_info join the main graph, and each If output is
 * an Identity of the branch output. An If is left alone when a branch name
 * would clash with a main-graph name. The written model then computes the
 * chosen branches only, whatever the deciding input says: the caller must
 * say so.
 */
import { attr, attrInt } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Model, Node } from "../ir/graph.js";
import { walkGraphs } from "../ir/graph.js";
import { tensorElementCount, tensorToFloat64 } from "../ir/tensor.js";

export interface InlinedIf {
  /** The If node's name (or "If #index"). */
  readonly node: string;
  readonly branch: "then_branch" | "else_branch";
}

type Scalar = number;

const CMP: Record<string, (a: Scalar, b: Scalar) => boolean> = {
  Equal: (a, b) => a === b,
  Greater: (a, b) => a > b,
  Less: (a, b) => a < b,
  GreaterOrEqual: (a, b) => a >= b,
  LessOrEqual: (a, b) => a <= b,
  And: (a, b) => a !== 0 && b !== 0,
  Or: (a, b) => a !== 0 || b !== 0,
  Xor: (a, b) => (a !== 0) !== (b !== 0),
};

/** One-element values known before any data: `given` inputs, initializers and Constant nodes, and what the ops above compute from them. */
function knownScalars(g: Graph, given: ReadonlyMap<string, Scalar>): Map<string, Scalar> {
  const known = new Map<string, Scalar>(given);
  for (const t of g.initializers) {
    if (t.name && !known.has(t.name) && tensorElementCount(t) === 1) known.set(t.name, tensorToFloat64(t)[0]!);
  }
  for (const n of g.nodes) {
    if ((n.domain ?? "") !== "") continue;
    const ins = n.inputs.map((i) => known.get(i));
    const out = n.outputs[0];
    if (!out) continue;
    if (n.opType === "Constant") {
      const t = attr(n, "value")?.t;
      if (t && tensorElementCount(t) === 1) known.set(out, tensorToFloat64(t)[0]!);
    } else if (ins.every((v) => v !== undefined) && ins.length > 0) {
      const cmp = CMP[n.opType];
      if (cmp && ins.length === 2) known.set(out, cmp(ins[0]!, ins[1]!) ? 1 : 0);
      else if (n.opType === "Not") known.set(out, ins[0] === 0 ? 1 : 0);
      else if (n.opType === "Identity") known.set(out, ins[0]!);
      else if (n.opType === "Cast") known.set(out, castScalar(ins[0]!, attrInt(n, "to", 0)));
    }
  }
  return known;
}

/** Cast of one value to bool (9) or an integer type (truncation); other targets keep the value. */
function castScalar(x: Scalar, to: number): Scalar {
  if (to === 9) return x !== 0 ? 1 : 0;
  if ([2, 3, 4, 5, 6, 7, 12, 13].includes(to)) return Math.trunc(x);
  return x;
}

function namesOf(g: Graph): Set<string> {
  const names = new Set<string>();
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) names.add(v.name);
  for (const t of g.initializers) if (t.name) names.add(t.name);
  for (const n of g.nodes) for (const o of n.outputs) if (o) names.add(o);
  return names;
}

/** The names a branch defines (its nodes' outputs at any depth, its initializers and inputs). */
function definedIn(body: Graph): Set<string> {
  const names = new Set<string>();
  for (const [sg] of walkGraphs(body)) {
    for (const n of sg.nodes) for (const o of n.outputs) if (o) names.add(o);
    for (const t of sg.initializers) if (t.name) names.add(t.name);
    for (const v of sg.inputs) names.add(v.name);
  }
  return names;
}

/** `model` with every main-graph If that `given` decides replaced by its branch; see the file comment. */
export function inlineDecidedIfs(model: Model, given: ReadonlyMap<string, Scalar>): { model: Model; inlined: InlinedIf[] } {
  const g = model.graph;
  if (!g) throw new FixqError("model", "model has no graph");
  const known = knownScalars(g, given);
  const taken = namesOf(g);
  const nodes: Node[] = [];
  const initializers = [...g.initializers];
  const valueInfo = [...g.valueInfo];
  const inlined: InlinedIf[] = [];
  g.nodes.forEach((n, index) => {
    const cond = n.opType === "If" && (n.domain ?? "") === "" ? known.get(n.inputs[0] ?? "") : undefined;
    const branch = cond === undefined ? undefined : cond !== 0 ? "then_branch" : "else_branch";
    const body = branch ? attr(n, branch)?.g : undefined;
    const clash = body ? [...definedIn(body)].some((name) => taken.has(name)) : true;
    if (!body || clash || body.outputs.length !== n.outputs.length) {
      nodes.push(n);
      return;
    }
    nodes.push(...body.nodes);
    body.outputs.forEach((o, i) => {
      if (n.outputs[i]) nodes.push({ opType: "Identity", name: `${n.name || `If_${index}`}/${branch}/out${i}`, inputs: [o.name], outputs: [n.outputs[i]!], attributes: [] });
    });
    initializers.push(...body.initializers);
    valueInfo.push(...body.valueInfo);
    for (const name of definedIn(body)) taken.add(name);
    inlined.push({ node: n.name || `If #${index}`, branch: branch! });
  });
  if (inlined.length === 0) return { model, inlined };
  return { model: { ...model, graph: { ...g, nodes, initializers, valueInfo } }, inlined };
}
