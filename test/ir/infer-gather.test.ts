/** Shape rules of the index ops (src/ir/infer-gather.ts), through inferTypes. */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { inferTypes } from "../../src/ir/infer-types.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { graph, int, node, value } from "./builders.js";

function int64Tensor(name: string, dims: number[], v: number[]): Tensor {
  const a = BigInt64Array.from(v.map(BigInt));
  return { name, dtype: DataType.INT64, dims, raw: new Uint8Array(a.buffer) };
}

describe("shape rules of Gather, GatherBlockQuantized, Range, ConstantOfShape", () => {
  it("gives an embedding's, a position id's and a token type's shapes", () => {
    const table = makeFloatTensor("table", [30, 8], new Array(240).fill(0));
    const u8: Tensor = { name: "u8", dtype: DataType.UINT8, dims: [30, 8], raw: new Uint8Array(240) };
    const scales = makeFloatTensor("scales", [30, 1], new Array(30).fill(1));
    const g = graph(
      [
        node("Gather", ["table", "ids"], ["emb"]),
        node("Gather", ["emb", "zero"], ["cls"], [int("axis", 1)]),
        { ...node("GatherBlockQuantized", ["u8", "ids", "scales"], ["bq"], [int("gather_axis", 0), int("block_size", 8)]), domain: "com.microsoft" },
        node("Range", ["start", "limit", "delta"], ["pos"]),
        node("ConstantOfShape", ["shape"], ["types"]),
      ],
      [value("ids", DataType.INT64, ["batch", 12])],
      [value("cls")],
      [table, u8, scales, int64Tensor("zero", [], [0]), int64Tensor("start", [], [0]), int64Tensor("limit", [], [12]), int64Tensor("delta", [], [3]), int64Tensor("shape", [2], [1, 12])],
    );
    const t = inferTypes(g);
    expect(t.get("emb")).toEqual({ dtype: DataType.FLOAT, shape: ["batch", 12, 8] });
    expect(t.get("cls")).toEqual({ dtype: DataType.FLOAT, shape: ["batch", 8] });
    expect(t.get("bq")).toEqual({ dtype: DataType.FLOAT, shape: ["batch", 12, 8] });
    expect(t.get("pos")).toEqual({ dtype: DataType.INT64, shape: [4] });
    expect(t.get("types")).toEqual({ dtype: DataType.FLOAT, shape: [1, 12] });
  });
});
