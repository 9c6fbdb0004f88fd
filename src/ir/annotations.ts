/**
 * The graph's own `quantization_annotation` field (GraphProto field 14):
 *
 *   TensorAnnotation { tensor_name; repeated StringStringEntryProto quant_parameter_tensor_names }
 *
 * one entry per annotated tensor, each a list of key/value pairs. fixq writes
 * `fixq_format` and `finn_datatype` there (quant/format-annotation.ts); other
 * tools write other keys. The IR keeps the field as decoded in `Graph.extra`,
 * so a model read and written unchanged keeps it byte for byte; these helpers
 * read it as a map and replace it.
 */
import type { Graph } from "./graph.js";
import type { ProtoMessage } from "./onnx/codec.js";

/** key → value of one tensor's annotation, in file order. */
export type AnnotationEntries = ReadonlyMap<string, string>;

const FIELD = "quantization_annotation";

function rawAnnotations(g: Graph): readonly ProtoMessage[] {
  return (g.extra?.[FIELD] as ProtoMessage[] | undefined) ?? [];
}

/**
 * The annotations by tensor name. A tensor annotated twice has its entries
 * merged, later ones winning (the file order).
 */
export function quantAnnotations(g: Graph): Map<string, AnnotationEntries> {
  const out = new Map<string, Map<string, string>>();
  for (const a of rawAnnotations(g)) {
    const name = (a["tensor_name"] as string | undefined) ?? "";
    const entries = out.get(name) ?? new Map<string, string>();
    for (const kv of (a["quant_parameter_tensor_names"] as ProtoMessage[] | undefined) ?? []) {
      entries.set((kv["key"] as string | undefined) ?? "", (kv["value"] as string | undefined) ?? "");
    }
    out.set(name, entries);
  }
  return out;
}

/** `g` with its quantization annotations replaced by `annotations` (none: the field is removed). */
export function withQuantAnnotations(g: Graph, annotations: ReadonlyMap<string, AnnotationEntries>): Graph {
  const { [FIELD]: _old, ...rest } = g.extra ?? {};
  if (annotations.size === 0) return { ...g, extra: Object.keys(rest).length > 0 ? rest : undefined };
  const field: ProtoMessage[] = [...annotations].map(([tensor, entries]) => ({
    tensor_name: tensor,
    quant_parameter_tensor_names: [...entries].map(([key, value]) => ({ key, value })),
  }));
  return { ...g, extra: { ...rest, [FIELD]: field } };
}

/** Every tensor name of g's own scope: graph inputs and outputs, initializers, node inputs and outputs. */
export function tensorNames(g: Graph): Set<string> {
  const names = new Set<string>();
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) names.add(v.name);
  for (const t of g.initializers) if (t.name) names.add(t.name);
  for (const n of g.nodes) for (const v of [...n.inputs, ...n.outputs]) if (v) names.add(v);
  return names;
}

/**
 * `g` with the keys `keys` removed from the annotation of every tensor in
 * `tensors`, and every annotation that names no tensor of g (or is left
 * empty) dropped. Returns g itself when nothing changes.
 */
export function pruneQuantAnnotations(g: Graph, tensors: ReadonlySet<string>, keys: readonly string[]): Graph {
  if (rawAnnotations(g).length === 0) return g;
  const live = tensorNames(g);
  const before = quantAnnotations(g);
  const after = new Map<string, AnnotationEntries>();
  let changed = false;
  for (const [tensor, entries] of before) {
    const kept = tensors.has(tensor) ? new Map([...entries].filter(([k]) => !keys.includes(k))) : entries;
    if (!live.has(tensor) || kept.size === 0) {
      changed = true;
      continue;
    }
    if (kept.size !== entries.size) changed = true;
    after.set(tensor, kept);
  }
  return changed ? withQuantAnnotations(g, after) : g;
}
