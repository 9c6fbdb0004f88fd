/**
 * Model summary for `fixq inspect`: inputs/outputs, op histogram, parameter
 * count (initializers and Constant-node tensors, in every subgraph), per-layer
 * MACs and weight ranges, opsets, external data.
 *
 * MACs are per sample: a symbolic leading (batch) dim counts as 1; a layer
 * with any other dynamic dim has unknown MACs (null), and is not in the total.
 * A model whose batch leaves the leading axis is counted on its batch-1 instance.
 */
import { dtypeInfo, dtypeName } from "../ir/dtype.js";
import { type Graph, type Model, type TensorType, walkGraphs } from "../ir/graph.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { type Tensor, tensorElementCount, tensorToFloat64 } from "../ir/tensor.js";
import { nodeMacs } from "../ir/macs.js";
import { formatShape, tensorTypeOf } from "../ir/types.js";

export interface LayerInfo {
  name: string;
  op: string;
  macs: number | null;
  weight?: { name: string; dims: number[]; dtype: string; min: number; max: number; absMax: number };
}

export interface InspectReport {
  irVersion: number | null;
  producer: string | null;
  opsets: Record<string, number>;
  inputs: { name: string; dtype: string; shape: string }[];
  outputs: { name: string; dtype: string; shape: string }[];
  nodes: number;
  ops: Record<string, number>;
  parameters: number;
  parameterBytes: number;
  constantNodeParameters: number;
  subgraphs: number;
  functions: number;
  externalData: boolean;
  externalTensors: number;
  totalMacs: number;
  layers: LayerInfo[];
}

function range(t: Tensor): LayerInfo["weight"] | undefined {
  const info = dtypeInfo(t.dtype);
  if (!info || info.bits === 0) return undefined;
  let v: Float64Array;
  try {
    v = tensorToFloat64(t);
  } catch {
    return undefined;
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { name: t.name ?? "", dims: [...t.dims], dtype: dtypeName(t.dtype), min, max, absMax: Math.max(Math.abs(min), Math.abs(max)) };
}

function layersOf(g: Graph, types: ReadonlyMap<string, TensorType>, whole: boolean): LayerInfo[] {
  const consts = constantTensors(g);
  const out: LayerInfo[] = [];
  for (const n of g.nodes) {
    if ((n.domain ?? "") !== "") continue;
    const w = consts.get(n.inputs[1] ?? "");
    const macs = nodeMacs(n, types, whole);
    if (macs === undefined) continue;
    out.push({ name: n.name ?? "", op: n.opType, macs, weight: w ? range(w) : undefined });
  }
  return out;
}

/**
 * `types` may come from runtime probing (runtime/probe-types.ts); static inference is used otherwise.
 * `sample`: the graph pinned to batch 1 with its shape arithmetic folded (node for node the model's),
 * for a model whose batch leaves the leading axis; its MACs are counted over whole shapes.
 */
export function inspectModel(m: Model, types?: ReadonlyMap<string, TensorType>, sample?: Graph): InspectReport {
  const ops: Record<string, number> = {};
  let nodes = 0;
  let parameters = 0;
  let parameterBytes = 0;
  let constantNodeParameters = 0;
  let subgraphs = -1;
  let externalTensors = 0;
  const countTensor = (t: Tensor) => {
    let n = 0;
    try {
      n = tensorElementCount(t);
    } catch {
      return 0;
    }
    parameters += n;
    parameterBytes += Math.ceil((n * (dtypeInfo(t.dtype)?.bits ?? 0)) / 8);
    if (t.external) externalTensors++;
    return n;
  };
  const layers: LayerInfo[] = [];
  if (m.graph) {
    for (const [g] of walkGraphs(m.graph)) {
      subgraphs++;
      for (const t of g.initializers) countTensor(t);
      for (const n of g.nodes) {
        nodes++;
        const key = n.domain ? `${n.domain}::${n.opType}` : n.opType;
        ops[key] = (ops[key] ?? 0) + 1;
        if (n.opType === "Constant") for (const a of n.attributes) if (a.t) constantNodeParameters += countTensor(a.t);
      }
    }
  }
  types ??= m.graph ? inferTypes(m.graph) : new Map<string, TensorType>();
  if (sample) layers.push(...layersOf(sample, inferTypes(sample), true));
  else if (m.graph) layers.push(...layersOf(m.graph, types, false));
  const io = (vs: Graph["inputs"]) =>
    vs.map((v) => {
      const t = tensorTypeOf(v.type) ?? types.get(v.name);
      return { name: v.name, dtype: t ? dtypeName(t.dtype) : "?", shape: formatShape(t?.shape) };
    });
  const initNames = new Set(m.graph?.initializers.map((t) => t.name) ?? []);
  const opsets: Record<string, number> = {};
  for (const o of m.opsets) opsets[o.domain || "ai.onnx"] = Number(o.version ?? 0);
  return {
    irVersion: m.irVersion === undefined ? null : Number(m.irVersion),
    producer: m.producerName ? `${m.producerName}${m.producerVersion ? ` ${m.producerVersion}` : ""}` : null,
    opsets,
    inputs: io((m.graph?.inputs ?? []).filter((v) => !initNames.has(v.name))),
    outputs: io(m.graph?.outputs ?? []),
    nodes,
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    parameters,
    parameterBytes,
    constantNodeParameters,
    subgraphs: Math.max(0, subgraphs),
    functions: m.functions.length,
    externalData: externalTensors > 0,
    externalTensors,
    totalMacs: layers.reduce((s, l) => s + (l.macs ?? 0), 0),
    layers,
  };
}
