/**
 * Structural checks on a graph and its subgraphs:
 * - every value is defined once (graph input, initializer or node output);
 * - every node input and graph output is defined (in this graph or an enclosing one);
 * - nodes are in topological order (a cycle is an error; mere disorder too, since
 *   ONNX requires sorted nodes — ORT sorts on load, so it is reported as a warning);
 * - declared types agree with initializers and with inferred dtypes;
 * - tensors agree with their dims and dtype.
 */
import { dtypeName } from "./dtype.js";
import { FixqError } from "./errors.js";
import { type Graph, type Model, nodeLabel } from "./graph.js";
import { inferTypes } from "./infer-types.js";
import { checkTensor } from "./tensor.js";
import { tensorTypeOf } from "./types.js";

export interface Diagnostic {
  readonly severity: "error" | "warning";
  readonly code: "duplicate" | "dangling" | "cycle" | "order" | "type" | "tensor";
  readonly message: string;
  readonly where: string;
}

/** Names visible from enclosing graphs, as a chain (no copying per subgraph). */
type Scope = (name: string) => boolean;
const noScope: Scope = () => false;

function verifyGraph(g: Graph, path: string, outer: Scope, out: Diagnostic[]): void {
  const defined = new Set<string>();
  const define = (name: string, where: string) => {
    if (!name) return;
    if (defined.has(name)) out.push({ severity: "error", code: "duplicate", message: `value '${name}' is defined more than once`, where });
    defined.add(name);
  };
  for (const v of g.inputs) define(v.name, `${path} input '${v.name}'`);
  const inputNames = new Set(g.inputs.map((v) => v.name));
  for (const t of g.initializers) {
    const name = t.name ?? "";
    // An initializer may also be listed as a graph input (IR < 4 style).
    if (!inputNames.has(name)) define(name, `${path} initializer '${name}'`);
    try {
      checkTensor(t);
    } catch (e) {
      out.push({ severity: "error", code: "tensor", message: (e as Error).message, where: `${path} initializer '${name}'` });
    }
  }
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      define(o, `${path} ${nodeLabel(n, i)}`);
      if (o) producer.set(o, i);
    }
  });
  const visible: Scope = (name) => defined.has(name) || outer(name);
  let disorder: string | undefined;
  g.nodes.forEach((n, i) => {
    for (const inp of n.inputs) {
      if (!inp) continue;
      if (!visible(inp)) {
        out.push({ severity: "error", code: "dangling", message: `input '${inp}' is not produced by any node, input or initializer`, where: `${path} ${nodeLabel(n, i)}` });
      } else if ((producer.get(inp) ?? -1) >= i && disorder === undefined) {
        disorder = `${nodeLabel(n, i)} uses '${inp}' before it is produced`;
      }
    }
  });
  for (const o of g.outputs) {
    if (!visible(o.name)) out.push({ severity: "error", code: "dangling", message: `graph output '${o.name}' is never produced`, where: path });
  }
  if (disorder !== undefined) {
    const cycle = findCycle(g);
    if (cycle) out.push({ severity: "error", code: "cycle", message: `cycle through ${cycle}`, where: path });
    else out.push({ severity: "warning", code: "order", message: `nodes are not in topological order: ${disorder}`, where: path });
  }
  // Declared vs inferred dtypes.
  const inferred = inferTypes({ ...g, valueInfo: [], outputs: [] });
  for (const v of [...g.valueInfo, ...g.outputs]) {
    const declared = tensorTypeOf(v.type);
    const got = inferred.get(v.name);
    if (declared && got && declared.dtype && got.dtype && declared.dtype !== got.dtype) {
      out.push({
        severity: "error",
        code: "type",
        message: `value '${v.name}' is declared ${dtypeName(declared.dtype)} but computed as ${dtypeName(got.dtype)}`,
        where: path,
      });
    }
  }
  // Subgraphs see this graph's values.
  const scope = visible;
  for (const n of g.nodes) {
    for (const a of n.attributes) {
      if (a.g) verifyGraph(a.g, `${path}/${n.name || n.opType}.${a.name}`, scope, out);
      a.graphs?.forEach((sg, k) => {
        verifyGraph(sg, `${path}/${n.name || n.opType}.${a.name}[${k}]`, scope, out);
      });
    }
  }
}

/** Returns a description of one cycle among the nodes, if there is one. */
function findCycle(g: Graph): string | undefined {
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o) producer.set(o, i);
  });
  const state = new Uint8Array(g.nodes.length); // 0 new, 1 on stack, 2 done
  for (let start = 0; start < g.nodes.length; start++) {
    if (state[start]) continue;
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [i, k] = top;
      const inputs = g.nodes[i]!.inputs;
      if (k >= inputs.length) {
        state[i] = 2;
        stack.pop();
        continue;
      }
      top[1]++;
      const p = producer.get(inputs[k]!);
      if (p === undefined) continue;
      if (state[p] === 1) return stack.slice(stack.findIndex(([j]) => j === p)).map(([j]) => nodeLabel(g.nodes[j]!, j)).join(" → ");
      if (state[p] === 0) {
        state[p] = 1;
        stack.push([p, 0]);
      }
    }
  }
  return undefined;
}

export function verify(model: Model): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!model.graph) {
    out.push({ severity: "error", code: "dangling", message: "model has no graph", where: "model" });
    return out;
  }
  verifyGraph(model.graph, "graph", noScope, out);
  return out;
}

/** Throws the first error `verify` finds, as a FixqError naming where it is. */
export function assertValid(model: Model): Diagnostic[] {
  const diags = verify(model);
  const err = diags.find((d) => d.severity === "error");
  if (err) throw new FixqError(err.code === "tensor" ? "tensor" : "model", err.message, err.where);
  return diags.filter((d) => d.severity === "warning");
}

