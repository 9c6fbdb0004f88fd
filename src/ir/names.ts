/**
 * Fresh names for values and nodes a rewrite adds: `base`, then `base_1`,
 * `base_2`, … — the first not yet taken, where taken = the names reserved
 * (at the start or later) plus every name handed out since. One generator
 * for every layer (passes, the integer ONNX builder).
 */
import { type Graph, walkGraphs } from "./graph.js";

export class NameSet {
  private readonly used: Set<string>;

  constructor(taken: Iterable<string> = []) {
    this.used = new Set(taken);
  }

  /** Marks `name` as taken (fresh names will avoid it). */
  reserve(name: string): void {
    this.used.add(name);
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  /** Every name taken so far. */
  taken(): IterableIterator<string> {
    return this.used.values();
  }

  /** The first of `base`, `base_1`, `base_2`, … not taken; it is taken from now on. */
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** Hands out names not in `taken` (and not handed out before): `base`, `base_1`, `base_2`, … */
export function uniqueNamer(taken: Iterable<string> = []): (base: string) => string {
  const names = new NameSet(taken);
  return (base) => names.fresh(base);
}

/**
 * A NameSet holding every name `g` uses: its inputs, outputs, value infos,
 * initializers, node inputs, outputs and names, in g and in every subgraph
 * (so a fresh name shadows no body's value, and no body's name shadows it).
 */
export function graphNames(g: Graph): NameSet {
  const names = new NameSet();
  for (const [sg] of walkGraphs(g)) {
    for (const v of [...sg.inputs, ...sg.outputs, ...sg.valueInfo]) names.reserve(v.name);
    for (const t of sg.initializers) if (t.name) names.reserve(t.name);
    for (const n of sg.nodes) {
      for (const o of [...n.inputs, ...n.outputs]) names.reserve(o);
      if (n.name) names.reserve(n.name);
    }
  }
  return names;
}

/**
 * `g` with a name on every node of its main graph: an unnamed node becomes
 * `<opType>_<first output>` (made unique against every name `g` uses), so
 * rules and reports that address nodes by name can reach it. Named nodes
 * keep their names; `g` itself is returned when every node has one.
 */
export function nameUnnamedNodes(g: Graph): Graph {
  if (g.nodes.every((n) => n.name)) return g;
  const names = graphNames(g);
  return { ...g, nodes: g.nodes.map((n) => (n.name ? n : { ...n, name: names.fresh(`${n.opType}_${n.outputs[0] ?? "out"}`) })) };
}
