/**
 * IR → ModelProto message, the inverse of from-proto.ts. A tensor's data is
 * placed by the caller's `placeTensor`: inline as raw_data, or at a location
 * in an external-data file.
 */
import type { Attribute, FunctionDef, Graph, Model, Node, OpsetImport, ValueInfo } from "../graph.js";
import type { Tensor } from "../tensor.js";
import type { ProtoMessage } from "./codec.js";

type P = ProtoMessage;

/** Where a tensor's data goes: unchanged, inline bytes, or an external location. */
export type TensorPlacement =
  | { kind: "keep" }
  | { kind: "inline"; bytes: Uint8Array }
  | { kind: "external"; location: string; offset: number; length: number };

export interface ToProtoOptions {
  placeTensor?: (t: Tensor) => TensorPlacement;
}

function defined(o: P): P {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

export function tensorToProto(t: Tensor, opts: ToProtoOptions): P {
  const placement = opts.placeTensor?.(t) ?? { kind: "keep" };
  const out: P = defined({ ...t.extra, name: t.name, data_type: t.dtype || t.extra?.["data_type"], dims: [...t.dims], doc_string: t.docString, raw_data: t.raw });
  if (placement.kind === "inline") {
    out["raw_data"] = placement.bytes;
    for (const f of ["float_data", "int32_data", "int64_data", "double_data", "uint64_data", "external_data", "data_location"]) delete out[f];
  } else if (placement.kind === "external") {
    delete out["raw_data"];
    for (const f of ["float_data", "int32_data", "int64_data", "double_data", "uint64_data"]) delete out[f];
    const others = ((t.extra?.["external_data"] as P[] | undefined) ?? []).filter(
      (e) => !["location", "offset", "length"].includes(e["key"] as string),
    );
    out["external_data"] = [
      { key: "location", value: placement.location },
      { key: "offset", value: String(placement.offset) },
      { key: "length", value: String(placement.length) },
      ...others,
    ];
    out["data_location"] = 1;
  }
  return out;
}

function valueInfoToProto(v: ValueInfo): P {
  return defined({ ...v.extra, name: v.name || v.extra?.["name"], type: v.type, doc_string: v.docString });
}

function attributeToProto(a: Attribute, opts: ToProtoOptions): P {
  return defined({
    ...a.extra,
    name: a.name || a.extra?.["name"],
    type: a.type,
    ref_attr_name: a.refAttrName,
    doc_string: a.docString,
    f: a.f,
    i: a.i,
    s: a.s,
    t: a.t ? tensorToProto(a.t, opts) : undefined,
    g: a.g ? graphToProto(a.g, opts) : undefined,
    floats: a.floats,
    ints: a.ints,
    strings: a.strings,
    tensors: a.tensors?.map((t) => tensorToProto(t, opts)),
    graphs: a.graphs?.map((g) => graphToProto(g, opts)),
  });
}

function nodeToProto(n: Node, opts: ToProtoOptions): P {
  return defined({
    ...n.extra,
    name: n.name,
    op_type: n.opType || n.extra?.["op_type"],
    domain: n.domain,
    overload: n.overload,
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: n.attributes.map((a) => attributeToProto(a, opts)),
    doc_string: n.docString,
  });
}

export function graphToProto(g: Graph, opts: ToProtoOptions = {}): P {
  return defined({
    ...g.extra,
    name: g.name,
    node: g.nodes.map((n) => nodeToProto(n, opts)),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    value_info: g.valueInfo.map(valueInfoToProto),
    initializer: g.initializers.map((t) => tensorToProto(t, opts)),
    doc_string: g.docString,
  });
}

function opsetToProto(o: OpsetImport): P {
  return defined({ ...o.extra, domain: o.domain, version: o.version });
}

function functionToProto(f: FunctionDef, opts: ToProtoOptions): P {
  return defined({
    ...f.extra,
    name: f.name,
    domain: f.domain,
    overload: f.overload,
    input: [...f.inputs],
    output: [...f.outputs],
    attribute: [...f.attributeNames],
    attribute_proto: f.attributeDefaults.map((a) => attributeToProto(a, opts)),
    node: f.nodes.map((n) => nodeToProto(n, opts)),
    opset_import: f.opsets.map(opsetToProto),
    value_info: f.valueInfo.map(valueInfoToProto),
    doc_string: f.docString,
  });
}

export function modelToProto(m: Model, opts: ToProtoOptions = {}): P {
  return defined({
    ...m.extra,
    ir_version: m.irVersion,
    opset_import: m.opsets.map(opsetToProto),
    producer_name: m.producerName,
    producer_version: m.producerVersion,
    domain: m.domain,
    model_version: m.modelVersion,
    doc_string: m.docString,
    graph: m.graph ? graphToProto(m.graph, opts) : undefined,
    functions: m.functions.map((f) => functionToProto(f, opts)),
  });
}
