/**
 * Readable text form of a model, for debugging and golden tests. Values are
 * shown with their inferred types; tensors by dtype and dims only; subgraphs
 * are indented under the node that owns them.
 */
import { dtypeName } from "./dtype.js";
import type { Attribute, Graph, Model, TensorType } from "./graph.js";
import { inferTypes } from "./infer-types.js";
import type { Tensor } from "./tensor.js";
import { formatShape } from "./types.js";

function typeStr(t: TensorType | undefined): string {
  return t ? `${dtypeName(t.dtype)}${formatShape(t.shape)}` : "?";
}

function tensorStr(t: Tensor): string {
  return `${dtypeName(t.dtype)}[${t.dims.join(",")}]${t.external ? " (external)" : ""}`;
}

function attrStr(a: Attribute): string {
  if (a.refAttrName) return `@${a.refAttrName}`;
  switch (a.type) {
    case 1:
      return String(a.f);
    case 2:
      return String(a.i);
    case 3:
      return JSON.stringify(Buffer.from(a.s ?? []).toString("utf8"));
    case 4:
      return a.t ? tensorStr(a.t) : "tensor";
    case 5:
      return "<graph>";
    case 6:
      return `[${Array.from(a.floats ?? []).join(",")}]`;
    case 7:
      return `[${(a.ints ?? []).join(",")}]`;
    case 8:
      return `[${(a.strings ?? []).map((s) => JSON.stringify(Buffer.from(s).toString("utf8"))).join(",")}]`;
    default:
      return `<type ${a.type ?? "?"}>`;
  }
}

function dumpGraph(g: Graph, indent: string, outer: ReadonlyMap<string, TensorType> | undefined, lines: string[]): void {
  const types = inferTypes(g, outer);
  lines.push(`${indent}graph ${g.name ?? ""} (`);
  for (const v of g.inputs) lines.push(`${indent}  in  %${v.name}: ${typeStr(types.get(v.name))}`);
  lines.push(`${indent}) -> (${g.outputs.map((o) => `%${o.name}: ${typeStr(types.get(o.name))}`).join(", ")}) {`);
  for (const t of g.initializers) lines.push(`${indent}  init %${t.name ?? ""}: ${tensorStr(t)}`);
  for (const n of g.nodes) {
    const domain = n.domain ? `${n.domain}::` : "";
    const attrs = n.attributes.filter((a) => a.type !== 5 && a.type !== 10).map((a) => `${a.name}=${attrStr(a)}`);
    const outs = n.outputs.map((o) => `%${o}: ${typeStr(types.get(o))}`).join(", ");
    const ins = n.inputs.map((i) => (i ? `%${i}` : "_")).join(", ");
    lines.push(`${indent}  ${outs} = ${domain}${n.opType}${attrs.length ? `[${attrs.join(", ")}]` : ""}(${ins})${n.name ? `  # ${n.name}` : ""}`);
    for (const a of n.attributes) {
      if (a.g) {
        lines.push(`${indent}    .${a.name}:`);
        dumpGraph(a.g, `${indent}      `, types, lines);
      }
      a.graphs?.forEach((sg, k) => {
        lines.push(`${indent}    .${a.name}[${k}]:`);
        dumpGraph(sg, `${indent}      `, types, lines);
      });
    }
  }
  lines.push(`${indent}}`);
}

export function dumpModel(m: Model): string {
  const lines: string[] = [];
  const opsets = m.opsets.map((o) => `${o.domain || "ai.onnx"}:${o.version ?? "?"}`).join(" ");
  lines.push(`model ir=${m.irVersion ?? "?"} opsets=${opsets}${m.producerName ? ` producer=${m.producerName}` : ""}`);
  for (const f of m.functions) lines.push(`function ${f.domain ?? ""}::${f.name ?? ""}(${f.inputs.join(", ")}) -> (${f.outputs.join(", ")}): ${f.nodes.length} nodes`);
  if (m.graph) dumpGraph(m.graph, "", undefined, lines);
  return `${lines.join("\n")}\n`;
}
