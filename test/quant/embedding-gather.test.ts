/**
 * Quantized embeddings gather before they dequantize: an int8 per-row
 * DequantizeLinear → Gather pair becomes com.microsoft GatherBlockQuantized
 * where its block rule allows, and ONNX Runtime computes exactly the same rows.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { gatherBlockSize, gatherQuantizedEmbeddings } from "../../src/quant/embedding-gather.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { verifyLoad } from "../../src/runtime/verify-load.js";
import { Rng } from "../helpers/prng.js";
import { graph, int, model, node, value } from "../ir/builders.js";

/** ids → DequantizeLinear(int8 table [rows, width], a scale per row, axis 0) → Gather → y; `alsoRead` makes the dequantized table a second output too. */
function dqGather(rows: number, width: number, alsoRead = false): Model {
  const rng = new Rng(9);
  const q: Tensor = { name: "q", dtype: DataType.INT8, dims: [rows, width], raw: Uint8Array.from({ length: rows * width }, () => rng.int(256)) };
  const s = makeFloatTensor("s", [rows], Array.from({ length: rows }, (_, r) => 0.01 * (r + 1)));
  const zp: Tensor = { name: "zp", dtype: DataType.INT8, dims: [rows], raw: new Uint8Array(rows) };
  return model(
    graph(
      [node("DequantizeLinear", ["q", "s", "zp"], ["table"], [int("axis", 0)], "dq"), node("Gather", ["table", "ids"], ["y"], [], "embedding")],
      [value("ids", DataType.INT64, ["n", 5])],
      [value("y", DataType.FLOAT, ["n", 5, width]), ...(alsoRead ? [value("table", DataType.FLOAT, [rows, width])] : [])],
      [q, s, zp],
    ),
    21,
  );
}

async function run(m: Model, ids: BigInt64Array): Promise<Float32Array> {
  const s = await OrtSession.create(m, { threads: 1 });
  try {
    return (await s.run({ ids: { dtype: DataType.INT64, dims: [ids.length / 5, 5], data: ids } }))["y"]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe("gatherQuantizedEmbeddings", () => {
  it("picks the largest power of two dividing the width, at least 16", () => {
    expect([16, 24, 32, 48, 64, 768, 100].map(gatherBlockSize)).toEqual([16, undefined, 32, 16, 64, 256, undefined]);
  });

  it("rewrites the pair into GatherBlockQuantized, which ORT loads and which gathers the same floats", async () => {
    const m = dqGather(40, 48);
    const out = gatherQuantizedEmbeddings(m);
    const ops = out.graph!.nodes.map((n) => `${n.domain ?? ""}:${n.opType}`);
    expect(ops).toEqual(["com.microsoft:GatherBlockQuantized"]);
    expect(out.opsets).toContainEqual({ domain: "com.microsoft", version: 1 });
    expect(out.graph!.initializers.map((t) => t.name).sort()).toEqual(["q__block_scales", "q__block_zero_points", "q__u8"]);
    expect(await verifyLoad(out, "q.onnx")).toEqual({ checked: true, optimization: "all" });
    const ids = BigInt64Array.from({ length: 15 }, (_, i) => BigInt((i * 7) % 40));
    expect(Array.from(await run(out, ids))).toEqual(Array.from(await run(m, ids)));
  });

  it("leaves the pair alone where the width has no block of 16 or more, or something else reads the dequantized table", () => {
    for (const m of [dqGather(40, 24), dqGather(40, 32, true)]) expect(gatherQuantizedEmbeddings(m)).toBe(m);
  });
});
