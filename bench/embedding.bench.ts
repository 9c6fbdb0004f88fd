/**
 * `npm run bench:embedding`: what a weight-only quantized embedding costs at
 * run time in ONNX Runtime (CPU, 1 thread, optimization "all").
 *
 * Model: input_ids int64 [1, 128] → Gather(table [30522, 768], BERT-base's
 * word embedding) → MatMul(768×768) → y. Rows, each timed as the median of
 * 20 runs after one warm-up, against the float model timed in the same run:
 * - float: the table as float32;
 * - fixq: `quantizeModel` with the default recipe: the table as int8 with a
 *   scale per row, read through DequantizeLinear → Gather (what fixq writes);
 * - GatherBlockQuantized: the same integers handed to com.microsoft
 *   GatherBlockQuantized (bits 8, uint8 with zero point 128, blocks of 256
 *   along the row, each block with its row's scale), which gathers before it
 *   dequantizes. Its outputs are checked equal to fixq's model's.
 */
import { performance } from "node:perf_hooks";
import { DataType } from "../src/ir/dtype.js";
import { type Model, withMetadata } from "../src/ir/graph.js";
import { type Tensor, tensorToFloat64 } from "../src/ir/tensor.js";
import { typeProtoOf } from "../src/ir/types.js";
import { arraySource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { type HostTensor, OrtSession } from "../src/runtime/ort-session.js";

const VOCAB = 30522;
const DIM = 768;
const SEQ = 128;
const BLOCK = 256;

function lcg(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

const f32 = (name: string, dims: number[], data: Float32Array): Tensor => ({ name, dtype: DataType.FLOAT, dims, raw: new Uint8Array(data.buffer) });

function floatModel(): Model {
  return {
    irVersion: 8,
    opsets: [{ domain: "", version: 17 }],
    functions: [],
    graph: {
      name: "embedding",
      nodes: [
        { opType: "Gather", inputs: ["table", "input_ids"], outputs: ["emb"], attributes: [], name: "embedding" },
        { opType: "MatMul", inputs: ["emb", "W"], outputs: ["y"], attributes: [], name: "proj" },
      ],
      inputs: [{ name: "input_ids", type: typeProtoOf({ dtype: DataType.INT64, shape: ["batch", SEQ] }) }],
      outputs: [{ name: "y", type: typeProtoOf({ dtype: DataType.FLOAT, shape: ["batch", SEQ, DIM] }) }],
      valueInfo: [],
      initializers: [f32("table", [VOCAB, DIM], lcg(VOCAB * DIM, 1, 0.1)), f32("W", [DIM, DIM], lcg(DIM * DIM, 2, 0.05))],
    },
  };
}

function ids(n: number, seed: number): HostTensor {
  const r = lcg(n * SEQ, seed, 0.5);
  return { dtype: DataType.INT64, dims: [n, SEQ], data: BigInt64Array.from(r, (x) => BigInt(Math.floor((x + 0.5) * VOCAB) % VOCAB)) };
}

/** fixq's quantized model with DequantizeLinear → Gather replaced by GatherBlockQuantized over the same integers and scales. */
function gatherBlockQuantized(q: Model): Model {
  const g = q.graph!;
  const dq = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0] === "table__quantized")!;
  const gather = g.nodes.find((n) => n.opType === "Gather")!;
  const init = new Map(g.initializers.map((t) => [t.name, t]));
  const qTable = init.get(dq.inputs[0]!)!;
  const rowScale = tensorToFloat64(init.get(dq.inputs[1]!)!);
  const u8 = Uint8Array.from(new Int8Array(qTable.raw!.buffer, qTable.raw!.byteOffset, VOCAB * DIM), (v) => v + 128);
  const perBlock = DIM / BLOCK;
  const scales = Float32Array.from({ length: VOCAB * perBlock }, (_, i) => rowScale[Math.floor(i / perBlock)]!);
  const extra: Tensor[] = [
    { name: "gbq_data", dtype: DataType.UINT8, dims: [VOCAB, DIM], raw: u8 },
    f32("gbq_scales", [VOCAB, perBlock], scales),
    { name: "gbq_zp", dtype: DataType.UINT8, dims: [VOCAB, perBlock], raw: new Uint8Array(VOCAB * perBlock).fill(128) },
  ];
  const attr = (name: string, i: number) => ({ name, type: 2, i });
  const gbq = {
    opType: "GatherBlockQuantized",
    domain: "com.microsoft",
    inputs: ["gbq_data", gather.inputs[1]!, "gbq_scales", "gbq_zp"],
    outputs: gather.outputs,
    attributes: [attr("gather_axis", 0), attr("quantize_axis", 1), attr("block_size", BLOCK), attr("bits", 8)],
    name: "embedding_gbq",
  };
  const nodes = g.nodes.filter((n) => n !== dq).map((n) => (n === gather ? gbq : n));
  const keep = g.initializers.filter((t) => t.name !== qTable.name);
  return { ...q, opsets: [...q.opsets, { domain: "com.microsoft", version: 1 }], graph: { ...g, nodes, initializers: [...keep, ...extra] } };
}

async function timeRuns(m: Model, feeds: Record<string, HostTensor>): Promise<{ ms: number; y: Float32Array }> {
  const s = await OrtSession.create(m, { threads: 1, optimization: "all" });
  try {
    const y = (await s.run(feeds))["y"]!.data as Float32Array;
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await s.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { ms: times[10]!, y };
  } finally {
    await s.release();
  }
}

const float = floatModel();
const quantized = (await quantizeModel(float, arraySource({ input_ids: ids(16, 3) }), buildRecipe({}), { threads: 1 })).model;
const gbq = withMetadata(gatherBlockQuantized(quantized), "fixq.bench", "GatherBlockQuantized variant");
const feeds = { input_ids: ids(1, 4) };
const base = await timeRuns(float, feeds);
const ours = await timeRuns(quantized, feeds);
const alt = await timeRuns(gbq, feeds);
const same = ours.y.every((v, i) => v === alt.y[i]);
console.log(`embedding [${VOCAB}, ${DIM}] gathered for ${SEQ} tokens, then MatMul ${DIM}×${DIM}; median of 20 runs, 1 thread, ORT optimization all`);
console.log("| model | ms/run | × float |");
console.log("| --- | --- | --- |");
for (const [name, r] of [["float", base], ["fixq (int8 per row, DequantizeLinear → Gather)", ours], ["GatherBlockQuantized (8-bit, blocks of 256)", alt]] as const) {
  console.log(`| ${name} | ${r.ms.toFixed(2)} | ${(r.ms / base.ms).toFixed(2)} |`);
}
console.log(`GatherBlockQuantized outputs ${same ? "equal" : "DIFFER from"} fixq's model's`);
