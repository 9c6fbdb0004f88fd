/**
 * Multiply-accumulates of one linear node per sample (a symbolic leading
 * batch dim counts as 1), from the inferred shapes:
 *
 *   Conv           |Y| / N · (C/g · k₁ · k₂ …)      = per-sample outputs × W[1:] elements
 *   ConvTranspose  |X| / N · (M/g · k₁ · k₂ …)
 *   Gemm           |Y| / N · K                      K = A's second dim (first when transA)
 *   MatMul         |Y| / N · K                      (|Y| when Y is 1-D), K = A's last dim
 *
 * With `whole`, the shapes are those of one sample already (the graph pinned
 * to batch 1, the batch possibly merged into another axis: torch's seq-first
 * attention, passes/sample-axis.ts) and no dim is dropped.
 *
 * null when a shape is unknown or has a dynamic dim besides the batch; undefined for other ops.
 */
import { attrInt } from "./attrs.js";
import type { Dim, Node, TensorType } from "./graph.js";

const num = (d: Dim): number => (typeof d === "number" ? d : Number.NaN);
const prod = (ds: readonly Dim[]) => ds.reduce<number>((p, d) => p * num(d), 1);
/** Product over a value's dims, with its batch dim counted as 1. */
const perSampleOf = (ds: readonly Dim[]) => prod(ds.slice(1));

export function nodeMacs(n: Node, types: ReadonlyMap<string, TensorType>, whole = false): number | null | undefined {
  const perSample = whole ? prod : perSampleOf;
  const y = types.get(n.outputs[0] ?? "")?.shape;
  const x = types.get(n.inputs[0] ?? "")?.shape;
  const wShape = types.get(n.inputs[1] ?? "")?.shape;
  let macs: number | null = null;
  switch (n.opType) {
    case "Conv":
      if (y && wShape) macs = perSample(y) * prod(wShape.slice(1));
      break;
    case "ConvTranspose":
      if (x && wShape) macs = perSample(x) * prod(wShape.slice(1));
      break;
    case "Gemm":
      if (y && x) macs = perSample(y) * num(attrInt(n, "transA", 0) ? x[0]! : x[1]!);
      break;
    case "MatMul":
      if (y && x) macs = (y.length > 1 ? perSample(y) : prod(y)) * num(x[x.length - 1]!);
      break;
    default:
      return undefined;
  }
  return macs !== null && Number.isFinite(macs) ? macs : null;
}
