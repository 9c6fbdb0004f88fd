/**
 * Control-flow bodies (If branches, Loop and Scan bodies) as graphs the
 * planner can take on their own.
 *
 * A body B of node N (in graph P) reads values of enclosing scopes by name.
 * Its *standalone* form is B with
 *   inputs       = B's own inputs, then every value B's nodes read from an
 *                  enclosing scope that is not a constant (typed as inferred
 *                  there): a Conv reading the main graph's `input` sees a
 *                  graph input, which the plan quantizes like any other;
 *   initializers = B's own, then a copy of every enclosing-scope constant
 *                  B's nodes read (weights held by the main graph, as
 *                  exporters write them), so the weight is quantized inside B;
 *   node names   = qualified: `<owner>/<attribute>/<node>`, e.g.
 *                  `If_25/then_branch/Conv_3`, nested bodies prefixing their
 *                  owner's qualified name (`If_25/then_branch/If_3/else_branch/Mul_1`);
 *                  an unnamed node is `<op>_<index in its body>`. These are
 *                  the names `--exclude`, `layers` rules and the summary use.
 * `restoreBody` undoes the renaming and drops the added inputs and whatever
 * copies the writer left unquantized (B reads those from the outer scope
 * again); copies it quantized are gone from B, and `dropCopiedConstants`
 * then removes originals nothing reads any more.
 */
import { DataType } from "../ir/dtype.js";
import type { Attribute, Graph, Node, TensorType, ValueInfo } from "../ir/graph.js";
import { valuesRead } from "../ir/graph.js";
import { inferTypesDeep } from "../ir/infer-body-types.js";
import { constantTensors } from "../ir/infer-types.js";
import type { Tensor } from "../ir/tensor.js";
import { typeProtoOf } from "../ir/types.js";

/** Control-flow ops whose bodies fixq plans; any other op's bodies stay as they are. */
export const CONTROL_FLOW = new Set(["If", "Loop", "Scan"]);

export interface Body {
  /** Qualified path: `If_25/then_branch`, nested `If_25/then_branch/If_3/else_branch`. */
  readonly path: string;
  readonly parent?: Body;
  /** The body graph as it is in the model (matched by identity when written back). */
  readonly original: Graph;
  /** The control-flow node that holds it, and its attribute. */
  readonly owner: Node;
  readonly attr: string;
  /** The planned form (see the file comment). */
  readonly standalone: Graph;
  /** Inputs added for values read from enclosing scopes. */
  readonly outerInputs: readonly string[];
  /** Constants of enclosing scopes copied in as initializers. */
  readonly copied: ReadonlySet<string>;
  /** Qualified node name → the node's own name (undefined: it had none). */
  readonly nodeNames: ReadonlyMap<string, string | undefined>;
  /** Why fixq does not plan this body (set at collection for bodies of unhandled owners). */
  readonly unhandled?: string;
  /** Element types and shapes inferred in the standalone form (what nested bodies see of it). */
  readonly types: ReadonlyMap<string, TensorType>;
}

interface Scope {
  readonly prefix: string;
  readonly consts: ReadonlyMap<string, Tensor>;
  readonly types: ReadonlyMap<string, TensorType>;
  readonly parent?: Body;
}

/** Values a graph defines itself: inputs, initializers, node outputs. */
export function definedNames(g: Graph): Set<string> {
  const out = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.flatMap((t) => (t.name ? [t.name] : []))]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) out.add(o);
  return out;
}

const ownerName = (n: Node, i: number) => n.name || `${n.opType}_${i}`;

function unhandledReason(owner: Node, opset: number): string | undefined {
  if (!CONTROL_FLOW.has(owner.opType) || ((owner.domain ?? "") !== "" && owner.domain !== "ai.onnx")) return `bodies of ${owner.opType} are not planned (If, Loop and Scan are)`;
  if (owner.opType === "Scan" && opset < 9) return "Scan before opset 9 (with a batch axis and sequence_lens) is not handled";
  return undefined;
}

function standaloneOf(b: Graph, path: string, scope: Scope): Pick<Body, "standalone" | "outerInputs" | "copied" | "nodeNames"> {
  const own = definedNames(b);
  const outerInputs: ValueInfo[] = [];
  const copies: Tensor[] = [];
  const seen = new Set<string>();
  for (const n of b.nodes) {
    for (const v of n.inputs) {
      if (!v || own.has(v) || seen.has(v)) continue;
      seen.add(v);
      const c = scope.consts.get(v);
      if (c) copies.push(c.name === v ? c : { ...c, name: v });
      else {
        const t = scope.types.get(v);
        outerInputs.push(t ? { name: v, type: typeProtoOf(t) } : { name: v });
      }
    }
  }
  const nodeNames = new Map<string, string | undefined>();
  const nodes = b.nodes.map((n, i) => {
    let q = `${path}/${ownerName(n, i)}`;
    for (let k = 1; nodeNames.has(q); k++) q = `${path}/${ownerName(n, i)}#${k}`;
    nodeNames.set(q, n.name);
    return { ...n, name: q };
  });
  const standalone: Graph = { ...b, nodes, inputs: [...b.inputs, ...outerInputs], initializers: [...b.initializers, ...copies] };
  return { standalone, outerInputs: outerInputs.map((v) => v.name), copied: new Set(copies.map((t) => t.name!)), nodeNames };
}

function collectIn(g: Graph, scope: Scope, opset: number, out: Body[]): void {
  g.nodes.forEach((n, i) => {
    for (const a of n.attributes) {
      const graphs = a.g ? [a.g] : (a.graphs ?? []);
      graphs.forEach((b, k) => {
        const path = `${scope.prefix}${ownerName(n, i)}/${a.name}${a.graphs ? `[${k}]` : ""}`;
        const s = standaloneOf(b, path, scope);
        const types = inferTypesDeep(s.standalone, scope.types);
        const body: Body = { path, parent: scope.parent, original: b, owner: n, attr: a.name, ...s, unhandled: unhandledReason(n, opset), types };
        out.push(body);
        const consts = new Map(scope.consts);
        for (const [v, t] of constantTensors(b)) consts.set(v, t);
        collectIn(b, { prefix: `${path}/`, consts, types, parent: body }, opset, out);
      });
    }
  });
}

/** Every body of `g`'s control-flow nodes at any depth, parents before their children. */
export function collectBodies(g: Graph, opset: number, types: ReadonlyMap<string, TensorType> = inferTypesDeep(g)): Body[] {
  const out: Body[] = [];
  collectIn(g, { prefix: "", consts: constantTensors(g), types }, opset, out);
  return out;
}

/** The body in its model form again: own names, own inputs, and only the copied constants the writer replaced. */
export function restoreBody(body: Body, written: Graph): Graph {
  const nodes = written.nodes.map((n) => (n.name !== undefined && body.nodeNames.has(n.name) ? { ...n, name: body.nodeNames.get(n.name) } : n));
  const initializers = written.initializers.filter((t) => !body.copied.has(t.name ?? ""));
  return { ...written, nodes, inputs: body.original.inputs, initializers, valueInfo: body.original.valueInfo };
}

/** `g` with every attribute graph that is `from` (by identity, at any depth) replaced by `to`. */
export function replaceBody(g: Graph, from: Graph, to: Graph): Graph {
  let changed = false;
  const nodes = g.nodes.map((n) => {
    let touched = false;
    const attributes = n.attributes.map((a): Attribute => {
      if (a.g) {
        const sub = a.g === from ? to : replaceBody(a.g, from, to);
        if (sub !== a.g) {
          touched = true;
          return { ...a, g: sub };
        }
      }
      if (a.graphs) {
        const subs = a.graphs.map((s) => (s === from ? to : replaceBody(s, from, to)));
        if (subs.some((s, k) => s !== a.graphs![k])) {
          touched = true;
          return { ...a, graphs: subs };
        }
      }
      return a;
    });
    if (!touched) return n;
    changed = true;
    return { ...n, attributes };
  });
  return changed ? { ...g, nodes } : g;
}

/**
 * Drops initializers and Constant nodes named in `names` that nothing in
 * their scope reads any more (every body quantized its own copy), at any depth.
 */
export function dropCopiedConstants(g: Graph, names: ReadonlySet<string>): Graph {
  if (names.size === 0) return g;
  const nodes = g.nodes.map((n) => {
    if (!n.attributes.some((a) => a.g || a.graphs)) return n;
    return { ...n, attributes: n.attributes.map((a) => (a.g ? { ...a, g: dropCopiedConstants(a.g, names) } : a.graphs ? { ...a, graphs: a.graphs.map((s) => dropCopiedConstants(s, names)) } : a)) };
  });
  const read = valuesRead({ ...g, nodes });
  // An initializer that is also a graph input is that input's default: part of the signature, kept.
  const inputs = new Set(g.inputs.map((v) => v.name));
  const dead = (v: string) => names.has(v) && !read.has(v) && !inputs.has(v);
  return {
    ...g,
    nodes: nodes.filter((n) => !(n.opType === "Constant" && n.outputs.length === 1 && dead(n.outputs[0]!))),
    initializers: g.initializers.filter((t) => !dead(t.name ?? "")),
  };
}

/** An empty tensor of `dtype` (a branch's stand-in for a value only the other branch computes). */
export function emptyTensor(name: string, dtype: number = DataType.FLOAT): Tensor {
  return { name, dtype, dims: [0], raw: new Uint8Array(0) };
}
