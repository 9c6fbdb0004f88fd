/**
 * Quantized embeddings that gather before they dequantize.
 *
 * The QDQ writer stores an embedding table T [rows, width] as int8 with one
 * scale per row and reads it through DequantizeLinear → Gather. ONNX Runtime
 * 1.30 neither folds nor fuses that pair: it dequantizes the whole table on
 * every run (`npm run bench:embedding`: a BERT-base word embedding, 7× the
 * float model's time). Where ORT's com.microsoft GatherBlockQuantized applies
 * (its blocks are a power of two, at least 16), the pair is rewritten into it:
 * the same integers stored as uint8 u = q + 128 with zero point 128, blocks
 * of B along the row, every block of row r with the row's scale s_r, so that
 * GatherBlockQuantized(U, idx)[i, j] = (U[idx_i, j] − 128) · s_{idx_i}
 * = DequantizeLinear(Q)[idx_i, j] exactly. B is the largest power of two that
 * divides the width. Tables whose width has none ≥ 16, other formats (int4
 * blocks), and tables read by anything but Gather keep DequantizeLinear.
 */
import { attrInt } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import { type Graph, type Model, type Node, readersOf, valuesRead } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";

const MIN_BLOCK = 16;

/** The largest power of two dividing `width`, or undefined when it is below GatherBlockQuantized's minimum. */
export function gatherBlockSize(width: number): number | undefined {
  const b = width & -width;
  return b >= MIN_BLOCK ? b : undefined;
}

function allZero(t: Tensor | undefined): boolean {
  return t?.raw?.every((b) => b === 0) ?? false;
}

/** Rewrites every int8 per-row DequantizeLinear → Gather pair of `model` into GatherBlockQuantized where it applies. */
export function gatherQuantizedEmbeddings(model: Model): Model {
  const g = model.graph;
  if (!g) return model;
  const init = new Map(g.initializers.map((t) => [t.name, t]));
  const readers = readersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const replaced = new Map<Node, Node>();
  const dropped = new Set<Node>();
  const added: Tensor[] = [];
  for (const dq of g.nodes) {
    if (dq.opType !== "DequantizeLinear" || (dq.domain ?? "") !== "") continue;
    const [qName, sName, zName] = dq.inputs;
    const q = init.get(qName ?? "");
    const s = init.get(sName ?? "");
    const out = dq.outputs[0]!;
    const gathers = readers.get(out) ?? [];
    if (q?.dtype !== DataType.INT8 || q.dims.length !== 2 || !q.raw || s?.dtype !== DataType.FLOAT || !s.raw) continue;
    if ((attrInt(dq, "axis") ?? 1) !== 0 || attrInt(dq, "block_size") || s.dims.length !== 1 || s.dims[0] !== q.dims[0]) continue;
    if (zName && !allZero(init.get(zName))) continue;
    if (outputs.has(out) || gathers.length === 0 || gathers.some((n) => n.opType !== "Gather" || n.inputs[0] !== out || (attrInt(n, "axis") ?? 0) !== 0)) continue;
    const [rows, width] = q.dims as [number, number];
    const block = gatherBlockSize(width);
    if (!block) continue;
    const perRow = width / block;
    const rowScale = new Float32Array(s.raw.slice().buffer, 0, rows);
    const data: Tensor = { name: `${qName}__u8`, dtype: DataType.UINT8, dims: [rows, width], raw: Uint8Array.from(q.raw, (b) => (b + 128) & 0xff) };
    const scales: Tensor = { name: `${qName}__block_scales`, dtype: DataType.FLOAT, dims: [rows, perRow], raw: new Uint8Array(Float32Array.from({ length: rows * perRow }, (_, i) => rowScale[Math.floor(i / perRow)]!).buffer) };
    const zeros: Tensor = { name: `${qName}__block_zero_points`, dtype: DataType.UINT8, dims: [rows, perRow], raw: new Uint8Array(rows * perRow).fill(128) };
    added.push(data, scales, zeros);
    dropped.add(dq);
    for (const n of gathers) {
      replaced.set(n, {
        ...n,
        opType: "GatherBlockQuantized",
        domain: "com.microsoft",
        inputs: [data.name!, n.inputs[1]!, scales.name!, zeros.name!],
        attributes: [
          { name: "gather_axis", type: 2, i: 0 },
          { name: "quantize_axis", type: 2, i: 1 },
          { name: "block_size", type: 2, i: block },
          { name: "bits", type: 2, i: 8 },
        ],
      });
    }
  }
  if (dropped.size === 0) return model;
  const nodes = g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  const graph0: Graph = { ...g, nodes };
  // The int8 tables, scales and zero points of the rewritten pairs go, unless something else still reads them.
  const read = valuesRead(graph0);
  const freed = new Set([...dropped].flatMap((n) => n.inputs).filter((i) => !read.has(i)));
  const gone = new Set([...dropped].map((n) => n.outputs[0]));
  const initializers = [...g.initializers.filter((t) => !freed.has(t.name ?? "")), ...added];
  const valueInfo = g.valueInfo.filter((v) => !gone.has(v.name));
  const opsets = model.opsets.some((o) => o.domain === "com.microsoft") ? model.opsets : [...model.opsets, { domain: "com.microsoft", version: 1 }];
  const graph: Graph = { ...graph0, initializers, valueInfo };
  return { ...model, opsets, graph };
}
