/**
 * `npm run bench:embedding`: what a weight-only quantized embedding costs at
 * run time in ONNX Runtime (CPU, 1 thread, optimization "all").
 *
 * Model: input_ids int64 [1, 128] → Gather(table [30522, 768], BERT-base's
 * word embedding) → MatMul(768×768) → y. Rows, each timed as the median of
 * 20 runs after one warm-up, against the float model timed in the same run:
 * - float: the table as float32;
 * - fixq: `quantizeModel` with the default recipe: the table as int8 with a
 *   scale per row, written as com.microsoft GatherBlockQuantized (uint8 with
 *   zero point 128, blocks of 256 along the row, each with its row's scale;
 *   quant/embedding-gather.ts), which gathers before it dequantizes;
 * - the same integers read through DequantizeLinear (axis 0) → Gather, the
 *   standard-ONNX form. Its outputs are checked equal to fixq's model's.
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

/** fixq's quantized model with GatherBlockQuantized replaced by DequantizeLinear (int8, a scale per row) → Gather over the same integers. */
function dequantizeThenGather(q: Model): Model {
  const g = q.graph!;
  const gbq = g.nodes.find((n) => n.opType === "GatherBlockQuantized")!;
  const init = new Map(g.initializers.map((t) => [t.name, t]));
  const u8 = init.get(gbq.inputs[0]!)!;
  const blockScales = tensorToFloat64(init.get(gbq.inputs[2]!)!);
  const perRow = blockScales.length / VOCAB;
  const extra: Tensor[] = [
    { name: "dq_table", dtype: DataType.INT8, dims: [VOCAB, DIM], raw: Uint8Array.from(u8.raw!, (b) => (b + 128) & 0xff) },
    f32("dq_scale", [VOCAB], Float32Array.from({ length: VOCAB }, (_, r) => blockScales[r * perRow]!)),
    { name: "dq_zero", dtype: DataType.INT8, dims: [VOCAB], raw: new Uint8Array(VOCAB) },
  ];
  const dq = { opType: "DequantizeLinear", inputs: ["dq_table", "dq_scale", "dq_zero"], outputs: ["dq_rows"], attributes: [{ name: "axis", type: 2, i: 0 }], name: "table_dq" };
  const gather = { opType: "Gather", inputs: ["dq_rows", gbq.inputs[1]!], outputs: gbq.outputs, attributes: [], name: "embedding_dq" };
  const nodes = [dq, ...g.nodes.map((n) => (n === gbq ? gather : n))];
  return { ...q, graph: { ...g, nodes, initializers: [...g.initializers.filter((t) => !gbq.inputs.includes(t.name ?? "")), ...extra] } };
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
const dqForm = withMetadata(dequantizeThenGather(quantized), "fixq.bench", "DequantizeLinear → Gather variant");
const feeds = { input_ids: ids(1, 4) };
const base = await timeRuns(float, feeds);
const ours = await timeRuns(quantized, feeds);
const alt = await timeRuns(dqForm, feeds);
const same = ours.y.every((v, i) => v === alt.y[i]);
console.log(`embedding [${VOCAB}, ${DIM}] gathered for ${SEQ} tokens, then MatMul ${DIM}×${DIM}; median of 20 runs, 1 thread, ORT optimization all`);
console.log("| model | ms/run | × float |");
console.log("| --- | --- | --- |");
for (const [name, r] of [["float", base], ["fixq (GatherBlockQuantized, 8-bit, blocks of 256)", ours], ["the same integers through DequantizeLinear → Gather", alt]] as const) {
  console.log(`| ${name} | ${r.ms.toFixed(2)} | ${(r.ms / base.ms).toFixed(2)} |`);
}
console.log(`the two quantized forms' outputs are ${same ? "equal" : "DIFFERENT"}`);
