/**
 * GraphEdit: the one place a pass mutates anything. A pass opens an edit on
 * a readonly graph, queries it (producers, readers, constants), records its
 * changes, and `finish()` returns a new Graph that shares every node and
 * tensor it left alone — or the input graph itself when nothing changed.
 *
 * Only the graph's own level is edited; values read inside subgraphs count
 * as readers, so a value a subgraph reads is never treated as private.
 *
 * Constants live in initializers or in Constant nodes (Paddle2ONNX exports
 * the latter); both are read and rewritten in place. `finish()` drops
 * constants, Constant nodes and Identity nodes that the edit left unread.
 */
import { DataType } from "../ir/dtype.js";
import { isDefaultDomain } from "../ir/attrs.js";
import { type BnStats, type Graph, type Node, nodeLabel, subgraphReads, walkGraphs } from "../ir/graph.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { uniqueNamer } from "../ir/names.js";

export class GraphEdit {
  private readonly nodes: (Node | undefined)[];
  private readonly inserted = new Map<number, Node[]>();
  private readonly initializers: (Tensor | undefined)[];
  private readonly added: Tensor[] = [];
  private readonly initIndex = new Map<string, number>();
  private readonly constNode = new Map<string, number>();
  private readonly producers = new Map<string, number>();
  private readonly consumerList = new Map<string, number[]>();
  private readonly readCount = new Map<string, number>();
  private readonly inputs: Set<string>;
  private readonly outputs: Set<string>;
  private readonly maybeDead = new Set<string>();
  private readonly gone = new Set<string>();
  private readonly freshValue: (base: string) => string;
  private readonly freshNode: (base: string) => string;
  private readonly stats: Map<string, BnStats>;
  private changed = false;

  constructor(readonly graph: Graph) {
    this.nodes = [...graph.nodes];
    this.initializers = [...graph.initializers];
    this.inputs = new Set(graph.inputs.map((v) => v.name));
    this.outputs = new Set(graph.outputs.map((v) => v.name));
    this.stats = new Map(graph.bnStats);
    graph.initializers.forEach((t, i) => {
      if (t.name) this.initIndex.set(t.name, i);
    });
    const read = (name: string) => name && this.readCount.set(name, (this.readCount.get(name) ?? 0) + 1);
    graph.nodes.forEach((n, i) => {
      for (const o of n.outputs) if (o) this.producers.set(o, i);
      if (n.opType === "Constant" && isDefaultDomain(n) && n.outputs[0]) this.constNode.set(n.outputs[0], i);
      for (const v of n.inputs) {
        if (!v) continue;
        read(v);
        const list = this.consumerList.get(v);
        if (list) list.push(i);
        else this.consumerList.set(v, [i]);
      }
    });
    for (const v of graph.outputs) read(v.name);
    for (const v of subgraphReads(graph)) read(v);
    const values: string[] = [];
    const nodeNames: string[] = [];
    for (const [sg] of walkGraphs(graph)) {
      for (const v of [...sg.inputs, ...sg.outputs, ...sg.valueInfo]) values.push(v.name);
      for (const t of sg.initializers) if (t.name) values.push(t.name);
      for (const n of sg.nodes) {
        values.push(...n.inputs, ...n.outputs);
        if (n.name) nodeNames.push(n.name);
      }
    }
    this.freshValue = uniqueNamer(values);
    this.freshNode = uniqueNamer(nodeNames);
  }

  // ───────────── queries ─────────────

  node(i: number): Node | undefined {
    return this.nodes[i];
  }
  get nodeCount(): number {
    return this.nodes.length;
  }
  label(i: number): string {
    const n = this.nodes[i] ?? this.graph.nodes[i]!;
    return n.name ? n.name : nodeLabel(n, i);
  }
  producer(value: string): number | undefined {
    return this.producers.get(value);
  }
  /** Node indices that read `value` (as it was when the edit began). */
  consumers(value: string): readonly number[] {
    return this.consumerList.get(value) ?? [];
  }
  /** Reads of `value` by nodes, subgraphs and graph outputs (as it was when the edit began). */
  readers(value: string): number {
    return this.readCount.get(value) ?? 0;
  }
  isGraphOutput(value: string): boolean {
    return this.outputs.has(value);
  }
  /** The current tensor of an initializer or Constant node output. */
  constant(value: string): Tensor | undefined {
    const i = this.initIndex.get(value);
    if (i !== undefined && !this.inputs.has(value)) return i < this.initializers.length ? this.initializers[i] : this.added[i - this.initializers.length];
    const k = this.constNode.get(value);
    return k === undefined ? undefined : this.nodes[k]?.attributes.find((a) => a.name === "value")?.t;
  }
  /** Like `constant`, also seeing through Identity nodes (read-only use). */
  constantThrough(value: string): Tensor | undefined {
    for (let depth = 0; depth < 16; depth++) {
      const t = this.constant(value);
      if (t) return t;
      const p = this.producers.get(value);
      const n = p === undefined ? undefined : this.nodes[p];
      if (n?.opType !== "Identity" || !isDefaultDomain(n)) return undefined;
      value = n.inputs[0] ?? "";
    }
    return undefined;
  }
  /** A constant's values as float64, or undefined when it is not a constant or not a float. */
  floats(value: string, through = true): Float64Array | undefined {
    const t = through ? this.constantThrough(value) : this.constant(value);
    if (!t || (t.dtype !== DataType.FLOAT && t.dtype !== DataType.DOUBLE && t.dtype !== DataType.FLOAT16)) return undefined;
    return tensorToFloat64(t);
  }
  /** Why `value` cannot be rewritten in place, or undefined when it can. */
  notWritable(value: string): string | undefined {
    const t = this.constant(value);
    if (!t) return `'${value}' is not a constant`;
    if (t.dtype !== DataType.FLOAT) return `'${value}' is not float32`;
    if (this.readers(value) !== 1) return `'${value}' is shared with other nodes`;
    return undefined;
  }

  // ───────────── changes ─────────────

  freshName(base: string): string {
    return this.freshValue(base);
  }
  freshNodeName(base: string): string {
    return this.freshNode(base);
  }
  /** Replaces a float32 constant's values (and dims), where it lives. */
  setConstant(value: string, dims: readonly number[], values: ArrayLike<number>): void {
    this.changed = true;
    const i = this.initIndex.get(value);
    if (i !== undefined) {
      if (i < this.initializers.length) this.initializers[i] = makeFloatTensor(value, dims, values);
      else this.added[i - this.initializers.length] = makeFloatTensor(value, dims, values);
      return;
    }
    const k = this.constNode.get(value)!;
    const n = this.nodes[k]!;
    const attributes = n.attributes.map((a) => (a.name === "value" ? { ...a, t: makeFloatTensor(a.t?.name ?? "", dims, values) } : a));
    this.nodes[k] = { ...n, attributes };
  }
  /** Adds a float32 initializer under a fresh name based on `base`; returns the name. */
  addInitializer(base: string, dims: readonly number[], values: ArrayLike<number>): string {
    this.changed = true;
    const name = this.freshValue(base);
    this.initIndex.set(name, this.initializers.length + this.added.length);
    this.readCount.set(name, 1);
    this.added.push(makeFloatTensor(name, dims, values));
    return name;
  }
  /** Adds `t` as an initializer under its own name (a value whose producer the edit removed). */
  addConstant(t: Tensor & { name: string }): void {
    this.changed = true;
    this.initIndex.set(t.name, this.initializers.length + this.added.length);
    this.producers.delete(t.name);
    this.gone.delete(t.name);
    this.added.push(t);
  }
  replaceNode(i: number, n: Node): void {
    this.changed = true;
    const old = this.nodes[i]!;
    for (const v of old.inputs) if (v && !n.inputs.includes(v)) this.maybeDead.add(v);
    for (const v of old.outputs) if (v && !n.outputs.includes(v)) this.gone.add(v);
    for (const v of n.outputs) if (v) this.producers.set(v, i);
    this.nodes[i] = n;
  }
  removeNode(i: number): void {
    this.changed = true;
    const old = this.nodes[i]!;
    for (const v of old.inputs) if (v) this.maybeDead.add(v);
    for (const v of old.outputs) if (v) this.gone.add(v);
    this.nodes[i] = undefined;
  }
  /** Inserts `n` right after node i (after any inserted before it). */
  insertAfter(i: number, n: Node): void {
    this.changed = true;
    const list = this.inserted.get(i) ?? [];
    list.push(n);
    this.inserted.set(i, list);
  }
  bnStats(value: string): BnStats | undefined {
    return this.stats.get(value);
  }
  setBnStats(value: string, stats: BnStats | undefined): void {
    this.changed = true;
    if (stats) this.stats.set(value, stats);
    else this.stats.delete(value);
  }

  /** The edited graph; the input graph itself when nothing changed. */
  finish(): Graph {
    if (!this.changed) return this.graph;
    let nodes: Node[] = [];
    this.nodes.forEach((n, i) => {
      if (n) nodes.push(n);
      nodes.push(...(this.inserted.get(i) ?? []));
    });
    let initializers = [...this.initializers, ...this.added].filter((t): t is Tensor => t !== undefined);
    // Drop what the edit left unread: constants, Constant and Identity nodes.
    const reads = new Map<string, number>();
    const read = (v: string, k: number) => v && reads.set(v, (reads.get(v) ?? 0) + k);
    for (const v of [...this.outputs, ...subgraphReads(this.graph)]) read(v, 1);
    for (const n of nodes) for (const v of n.inputs) read(v, 1);
    const producer = new Map<string, Node>();
    for (const n of nodes) for (const o of n.outputs) if (o) producer.set(o, n);
    const dropNodes = new Set<Node>();
    const dropInits = new Set<string>();
    const pending = [...this.maybeDead];
    while (pending.length > 0) {
      const v = pending.pop()!;
      if ((reads.get(v) ?? 0) > 0 || this.inputs.has(v)) continue;
      const p = producer.get(v);
      if (p && !dropNodes.has(p) && (p.opType === "Constant" || p.opType === "Identity") && isDefaultDomain(p) && p.outputs.every((o) => !o || !reads.get(o))) {
        dropNodes.add(p);
        for (const o of p.outputs) this.gone.add(o);
        for (const x of p.inputs) {
          read(x, -1);
          if (x) pending.push(x);
        }
      } else if (!p && this.initIndex.has(v)) {
        dropInits.add(v);
        this.gone.add(v);
      }
    }
    if (dropNodes.size > 0) nodes = nodes.filter((n) => !dropNodes.has(n));
    if (dropInits.size > 0) initializers = initializers.filter((t) => !dropInits.has(t.name ?? ""));
    const defined = new Set<string>();
    for (const n of nodes) for (const o of n.outputs) defined.add(o);
    for (const s of this.stats.keys()) if (!defined.has(s)) this.stats.delete(s);
    return {
      ...this.graph,
      nodes,
      initializers,
      valueInfo: this.graph.valueInfo.filter((v) => !this.gone.has(v.name) || defined.has(v.name)),
      inferred: undefined,
      bnStats: this.stats.size > 0 ? this.stats : undefined,
    };
  }
}
