/**
 * QDQ models for the per-layer evaluation tests: the bundled CNN quantized
 * with the default recipe, a copy with one layer's integer weights made
 * ternary, and renamings of a fixq QDQ model into other tools' conventions.
 */
import { join } from "node:path";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model, Node } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";

export const CNN = join(MODELS_DIR, "cnn.onnx");

/** models/cnn.onnx and its default-recipe QDQ model, calibrated on the first 256 samples of the bundled calibration set. */
export async function quantizedCnn(): Promise<{ float: Model; quantized: Model }> {
  const float = loadModel(CNN);
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 256);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe({}), { threads: 1 });
    return { float, quantized: model };
  } finally {
    source.close();
  }
}

/**
 * `m` with the int8 weight of the node named `nodeName` (its input 1, read
 * through a DequantizeLinear) made ternary: each integer value q becomes
 * 32·clamp(round(q/32), -1, 1), about 1.6 bits instead of 7.
 */
export function ternaryWeight(m: Model, nodeName: string): Model {
  const g = m.graph!;
  const node = g.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node '${nodeName}'`);
  const dq = g.nodes.find((n) => n.outputs[0] === node.inputs[1]);
  if (dq?.opType !== "DequantizeLinear") throw new Error(`input 1 of '${nodeName}' is not read through a DequantizeLinear`);
  const name = dq.inputs[0];
  let found = false;
  const initializers = g.initializers.map((t) => {
    if (t.name !== name) return t;
    if (t.dtype !== DataType.INT8) throw new Error(`weight '${name}' is not int8`);
    found = true;
    const q = Int8Array.from(tensorToFloat64(t), (x) => Math.max(-1, Math.min(1, Math.round(x / 32))) * 32);
    return { ...t, raw: new Uint8Array(q.buffer), external: undefined, extra: undefined };
  });
  if (!found) throw new Error(`no initializer '${name}'`);
  return { ...m, graph: { ...g, initializers } };
}

/** Renames values everywhere (node inputs and outputs, graph outputs): one consistent SSA rename. */
export function renameValues(m: Model, rename: ReadonlyMap<string, string>, renameNodes: ReadonlyMap<string, string> = new Map()): Model {
  const g = m.graph!;
  const r = (s: string) => rename.get(s) ?? s;
  const nodes = g.nodes.map((n): Node => ({
    ...n,
    name: n.name === undefined ? undefined : (renameNodes.get(n.name) ?? n.name),
    inputs: n.inputs.map(r),
    outputs: n.outputs.map(r),
  }));
  return { ...m, graph: { ...g, nodes, outputs: g.outputs.map((o) => ({ ...o, name: r(o.name) })) } };
}

/**
 * A fixq QDQ model renamed the way ORT's quantize_static names things: the
 * producer writes t, QuantizeLinear gives `t_QuantizeLinear_Output`,
 * DequantizeLinear gives `t_DequantizeLinear_Output` and consumers read that;
 * for a graph output t the producer writes `t_QuantizeLinear_Input` and the
 * DequantizeLinear writes t. Weights come out as `w_DequantizeLinear_Output`.
 */
export function toOrtNaming(m: Model): Model {
  const g = m.graph!;
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const rename = new Map<string, string>();
  for (const dq of g.nodes) {
    if (dq.opType !== "DequantizeLinear") continue;
    const d = dq.outputs[0]!;
    const q = producer.get(dq.inputs[0]!);
    if (q?.opType !== "QuantizeLinear") {
      rename.set(d, `${d.replace(/__dq$/, "")}_DequantizeLinear_Output`);
      continue;
    }
    const x = q.inputs[0]!;
    const t = x.endsWith("__f") ? d : x; // a graph input x is read as x__dq
    rename.set(q.outputs[0]!, `${t}_QuantizeLinear_Output`);
    if (graphOutputs.has(d)) {
      rename.set(x, `${t}_QuantizeLinear_Input`);
    } else {
      if (x !== t) rename.set(x, t);
      rename.set(d, `${t}_DequantizeLinear_Output`);
    }
  }
  return renameValues(m, rename);
}
