/**
 * The fixq IR: an ONNX-faithful graph.
 *
 * Every IR object names the fields that passes work with and keeps all other
 * protobuf fields of its source message, including unknown ones, in `extra`.
 * Writing an IR object back merges the two, so nothing a pass did not touch
 * is lost. Subgraphs (If/Loop/Scan bodies) are IR graphs inside attributes.
 *
 * IR objects are treated as immutable by passes: a pass builds new objects
 * for what it changes and shares the rest.
 */
import type { ProtoMessage } from "./onnx/codec.js";
import type { QuantSpec } from "./quant.js";
import type { Tensor } from "./tensor.js";
import type { Int64 } from "./onnx/wire.js";

export type { Int64 };
/** Residual protobuf fields of a message, written back unchanged. */
export type Extra = Readonly<ProtoMessage>;

/** ONNX TypeProto, kept as decoded (tensor, sequence, map, optional, sparse_tensor, opaque). */
export type TypeProto = ProtoMessage;

export interface ValueInfo {
  readonly name: string;
  readonly type?: TypeProto;
  readonly docString?: string;
  readonly extra?: Extra;
}

export const AttrType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/**
 * An attribute mirrors AttributeProto: `type` says which value field is
 * meaningful, but every field that was present is kept. Tensors and graphs are
 * converted to IR objects; sparse tensors and type protos stay as decoded.
 */
export interface Attribute {
  readonly name: string;
  readonly type?: number;
  readonly refAttrName?: string;
  readonly docString?: string;
  readonly f?: number;
  readonly i?: Int64;
  readonly s?: Uint8Array;
  readonly t?: Tensor;
  readonly g?: Graph;
  readonly floats?: ArrayLike<number>;
  readonly ints?: readonly Int64[];
  readonly strings?: readonly Uint8Array[];
  readonly tensors?: readonly Tensor[];
  readonly graphs?: readonly Graph[];
  readonly extra?: Extra;
}

export interface Node {
  readonly name?: string;
  readonly opType: string;
  /** "" (or absent) is the default ONNX domain. */
  readonly domain?: string;
  readonly overload?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly Attribute[];
  readonly docString?: string;
  readonly extra?: Extra;
}

/** A tensor type as shape inference sees it. A dim is a number, a symbolic name, or unknown (undefined). */
export type Dim = number | string | undefined;
export interface TensorType {
  readonly dtype: number;
  /** undefined when the rank itself is unknown. */
  readonly shape: readonly Dim[] | undefined;
}

export interface Graph {
  readonly name?: string;
  readonly nodes: readonly Node[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** value_info entries, in file order. */
  readonly valueInfo: readonly ValueInfo[];
  readonly initializers: readonly Tensor[];
  readonly docString?: string;
  /** Types from shape inference (see infer-types.ts); not serialized. */
  readonly inferred?: ReadonlyMap<string, TensorType>;
  /**
   * Quantization specs by value name (see quant.ts). Not serialized as such:
   * the QDQ writer turns them into QuantizeLinear/DequantizeLinear nodes, and
   * the QDQ reader (quant/qdq-read.ts) turns those back into specs.
   */
  readonly quant?: ReadonlyMap<string, QuantSpec>;
  /**
   * BatchNormalization statistics kept by BN folding (passes/fold-batchnorm.ts),
   * by the name of the folded layer's output value. Not serialized. Passes
   * that rescale or shift that value's channels update the entry with them.
   */
  readonly bnStats?: ReadonlyMap<string, BnStats>;
  readonly extra?: Extra;
}

/**
 * Per-channel statistics of a folded layer's output y (the output of the BN
 * that was folded into it): before the activation that follows, y of channel c
 * is taken to be distributed as N(beta[c], gamma[c]²). gamma is the BN scale
 * and may be negative; the standard deviation is |gamma[c]|. The activation
 * that follows is read from the graph (the value's consumer), not stored here.
 */
export interface BnStats {
  readonly beta: Float64Array;
  readonly gamma: Float64Array;
}

export interface OpsetImport {
  readonly domain?: string;
  readonly version?: Int64;
  readonly extra?: Extra;
}

export interface FunctionDef {
  readonly name?: string;
  readonly domain?: string;
  readonly overload?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributeNames: readonly string[];
  readonly attributeDefaults: readonly Attribute[];
  readonly nodes: readonly Node[];
  readonly opsets: readonly OpsetImport[];
  readonly valueInfo: readonly ValueInfo[];
  readonly docString?: string;
  readonly extra?: Extra;
}

export interface Model {
  readonly irVersion?: Int64;
  readonly opsets: readonly OpsetImport[];
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly domain?: string;
  readonly modelVersion?: Int64;
  readonly docString?: string;
  readonly graph?: Graph;
  readonly functions: readonly FunctionDef[];
  readonly extra?: Extra;
  /** Folder that external-data locations are relative to (the model file's folder). */
  readonly baseDir?: string;
}

/** key/value pairs of a message's metadata_props. */
export function metadataOf(obj: { extra?: Extra }): [string, string][] {
  const props = obj.extra?.["metadata_props"] as ProtoMessage[] | undefined;
  return (props ?? []).map((p) => [(p["key"] as string) ?? "", (p["value"] as string) ?? ""]);
}

/** Returns a copy of `obj` whose metadata_props has `key` set to `value` (replacing an existing entry). */
export function withMetadata<T extends { extra?: Extra }>(obj: T, key: string, value: string): T {
  const props = [...((obj.extra?.["metadata_props"] as ProtoMessage[] | undefined) ?? [])];
  const i = props.findIndex((p) => p["key"] === key);
  const entry: ProtoMessage = { key, value };
  if (i >= 0) props[i] = { ...props[i], value };
  else props.push(entry);
  return { ...obj, extra: { ...obj.extra, metadata_props: props } };
}

export function opsetVersion(model: Model, domain = ""): number | undefined {
  for (const o of model.opsets) {
    const d = o.domain ?? "";
    if (d === domain || (domain === "" && d === "ai.onnx")) return Number(o.version ?? 0);
  }
  return undefined;
}

/** Walks the graph and every nested subgraph (attribute graphs), depth first. */
/**
 * Every value name read in g: node inputs, including those of nodes inside
 * subgraphs (which may refer to g's values from the outer scope), and g's
 * outputs. An over-approximation for subgraphs that shadow a name, which is
 * the safe side for deciding what is still needed.
 */
export function valuesRead(g: Graph): Set<string> {
  const read = new Set<string>(g.outputs.map((o) => o.name));
  for (const [sg] of walkGraphs(g)) {
    for (const n of sg.nodes) for (const i of n.inputs) if (i) read.add(i);
    if (sg !== g) for (const o of sg.outputs) read.add(o.name);
  }
  return read;
}

/** The nodes of g (not its subgraphs) reading each value, in node order; a node reading a value twice is listed twice. */
export function readersOf(g: Graph): Map<string, Node[]> {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = readers.get(i);
      if (list) list.push(n);
      else readers.set(i, [n]);
    }
  }
  return readers;
}

/** Names read by nodes inside g's subgraphs (not by g's own nodes). */
export function subgraphReads(g: Graph): Set<string> {
  const read = new Set<string>();
  for (const [sg] of walkGraphs(g)) if (sg !== g) for (const n of sg.nodes) for (const i of n.inputs) if (i) read.add(i);
  return read;
}

export function* walkGraphs(g: Graph, path = "graph"): Generator<[Graph, string]> {
  yield [g, path];
  for (const n of g.nodes) {
    for (const a of n.attributes) {
      if (a.g) yield* walkGraphs(a.g, `${path}/${n.name || n.opType}.${a.name}`);
      if (a.graphs) for (const [k, sg] of a.graphs.entries()) yield* walkGraphs(sg, `${path}/${n.name || n.opType}.${a.name}[${k}]`);
    }
  }
}

export function nodeLabel(n: Node, index?: number): string {
  if (n.name) return `node '${n.name}'`;
  return index === undefined ? `${n.opType} node` : `node #${index} (${n.opType})`;
}
