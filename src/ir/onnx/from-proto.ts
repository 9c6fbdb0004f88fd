/**
 * Decoded ModelProto → IR. Fields the IR names are lifted out; everything else
 * (including unknown fields) stays in `extra`. Tensors are checked against
 * their declared dims, and external data against the model's folder.
 */
import type { Attribute, FunctionDef, Graph, Model, Node, OpsetImport, ValueInfo } from "../graph.js";
import { checkTensor, type Tensor, tensorByteLength } from "../tensor.js";
import type { ProtoMessage } from "./codec.js";
import { type LocationCache, resolveExternal } from "./external-data.js";
import type { Int64 } from "./wire.js";

export interface FromProtoOptions {
  /** The model file's folder, for external data. */
  baseDir?: string;
  /**
   * Structural decoding only: tensors are not checked against their dims and
   * external-data references are left unresolved (kept in `extra`, never
   * opened). For byte-level round trips of arbitrary or synthetic files.
   */
  raw?: boolean;
  /** Shared by one model load so each external file is resolved and checked once. */
  locations?: LocationCache;
}

type P = ProtoMessage;

function nonEmpty<T extends object>(o: T): T | undefined {
  return Object.keys(o).length > 0 ? o : undefined;
}

export function tensorFromProto(p: P, opts: FromProtoOptions, where?: string): Tensor {
  const { name, data_type, dims, doc_string, raw_data, ...rest } = p;
  // An explicit data_type of 0 (UNDEFINED) is kept in `extra` so that its presence survives.
  if (data_type === 0) rest["data_type"] = 0;
  const label = where ?? `tensor '${(name as string) ?? ""}'`;
  const dimsIn = (dims as Int64[] | undefined) ?? [];
  const check = !opts.raw;
  const base = {
    name: name as string | undefined,
    dtype: (data_type as number | undefined) ?? 0,
    dims: dimsIn as number[],
    docString: doc_string as string | undefined,
    raw: raw_data as Uint8Array | undefined,
    extra: nonEmpty(rest),
  };
  let t: Tensor = base;
  if (check && rest["data_location"] === 1) {
    checkTensor({ ...base, external: { location: "", offset: 0, path: "" } }); // dims and dtype first
    const external = resolveExternal((rest["external_data"] as P[]) ?? [], opts.baseDir, tensorByteLength(base), label, opts.locations);
    t = { ...base, external };
  }
  if (check) checkTensor(t);
  return t;
}

/**
 * IR fields that default to "" (names, op types) keep an explicit empty value
 * in `extra`, so that "absent" and "present but empty" both survive.
 */
function keepEmpty(rest: P, field: string, value: unknown): void {
  if (value === "") rest[field] = "";
}

function valueInfoFromProto(p: P): ValueInfo {
  const { name, type, doc_string, ...rest } = p;
  keepEmpty(rest, "name", name);
  return { name: (name as string) ?? "", type: type as P | undefined, docString: doc_string as string | undefined, extra: nonEmpty(rest) };
}

function attributeFromProto(p: P, opts: FromProtoOptions, owner: string): Attribute {
  const { name, type, ref_attr_name, doc_string, f, i, s, t, g, floats, ints, strings, tensors, graphs, ...rest } = p;
  keepEmpty(rest, "name", name);
  const label = `${owner} attribute '${(name as string) ?? ""}'`;
  return {
    name: (name as string) ?? "",
    type: type as number | undefined,
    refAttrName: ref_attr_name as string | undefined,
    docString: doc_string as string | undefined,
    f: f as number | undefined,
    i: i as Int64 | undefined,
    s: s as Uint8Array | undefined,
    t: t ? tensorFromProto(t as P, opts, `${label} tensor`) : undefined,
    g: g ? graphFromProto(g as P, opts) : undefined,
    floats: floats as number[] | undefined,
    ints: ints as Int64[] | undefined,
    strings: strings as Uint8Array[] | undefined,
    tensors: (tensors as P[] | undefined)?.map((x, k) => tensorFromProto(x, opts, `${label} tensor ${k}`)),
    graphs: (graphs as P[] | undefined)?.map((x) => graphFromProto(x, opts)),
    extra: nonEmpty(rest),
  };
}

function nodeFromProto(p: P, opts: FromProtoOptions, index: number): Node {
  const { name, op_type, domain, overload, input, output, attribute, doc_string, ...rest } = p;
  keepEmpty(rest, "op_type", op_type);
  const label = name ? `node '${name}'` : `node #${index} (${op_type ?? "?"})`;
  return {
    name: name as string | undefined,
    opType: (op_type as string) ?? "",
    domain: domain as string | undefined,
    overload: overload as string | undefined,
    inputs: (input as string[]) ?? [],
    outputs: (output as string[]) ?? [],
    attributes: ((attribute as P[]) ?? []).map((a) => attributeFromProto(a, opts, label)),
    docString: doc_string as string | undefined,
    extra: nonEmpty(rest),
  };
}

export function graphFromProto(p: P, opts: FromProtoOptions): Graph {
  const { name, node, input, output, value_info, initializer, doc_string, ...rest } = p;
  return {
    name: name as string | undefined,
    nodes: ((node as P[]) ?? []).map((n, k) => nodeFromProto(n, opts, k)),
    inputs: ((input as P[]) ?? []).map(valueInfoFromProto),
    outputs: ((output as P[]) ?? []).map(valueInfoFromProto),
    valueInfo: ((value_info as P[]) ?? []).map(valueInfoFromProto),
    initializers: ((initializer as P[]) ?? []).map((t) => tensorFromProto(t, opts)),
    docString: doc_string as string | undefined,
    extra: nonEmpty(rest),
  };
}

function opsetFromProto(p: P): OpsetImport {
  const { domain, version, ...rest } = p;
  return { domain: domain as string | undefined, version: version as Int64 | undefined, extra: nonEmpty(rest) };
}

function functionFromProto(p: P, opts: FromProtoOptions): FunctionDef {
  const { name, domain, overload, input, output, attribute, attribute_proto, node, opset_import, value_info, doc_string, ...rest } =
    p;
  const label = `function '${(name as string) ?? ""}'`;
  return {
    name: name as string | undefined,
    domain: domain as string | undefined,
    overload: overload as string | undefined,
    inputs: (input as string[]) ?? [],
    outputs: (output as string[]) ?? [],
    attributeNames: (attribute as string[]) ?? [],
    attributeDefaults: ((attribute_proto as P[]) ?? []).map((a) => attributeFromProto(a, opts, label)),
    nodes: ((node as P[]) ?? []).map((n, k) => nodeFromProto(n, opts, k)),
    opsets: ((opset_import as P[]) ?? []).map(opsetFromProto),
    valueInfo: ((value_info as P[]) ?? []).map(valueInfoFromProto),
    docString: doc_string as string | undefined,
    extra: nonEmpty(rest),
  };
}

export function modelFromProto(p: P, options: FromProtoOptions = {}): Model {
  const opts: FromProtoOptions = { ...options, locations: options.locations ?? new Map() };
  const { ir_version, opset_import, producer_name, producer_version, domain, model_version, doc_string, graph, functions, ...rest } = p;
  return {
    irVersion: ir_version as Int64 | undefined,
    opsets: ((opset_import as P[]) ?? []).map(opsetFromProto),
    producerName: producer_name as string | undefined,
    producerVersion: producer_version as string | undefined,
    domain: domain as string | undefined,
    modelVersion: model_version as Int64 | undefined,
    docString: doc_string as string | undefined,
    graph: graph ? graphFromProto(graph as P, opts) : undefined,
    functions: ((functions as P[]) ?? []).map((f) => functionFromProto(f, opts)),
    extra: nonEmpty(rest),
    baseDir: opts.baseDir,
  };
}
