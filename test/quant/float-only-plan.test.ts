/**
 * Only float data is quantized: shape arithmetic (Shape → Gather → Unsqueeze →
 * Concat → Reshape, integer Add, a float Cast → Mul → Cast chain on shapes)
 * is left alone and reported as not float; an embedding Gather's table is
 * quantized weight-only, per row. The quantized model loads in ONNX Runtime
 * and computes the float model's output within 8-bit error.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { arraySource } from "../../src/quant/feeds.js";
import { planQuantization } from "../../src/quant/plan.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { probedValueKinds, valueKinds } from "../../src/quant/value-kinds.js";
import { type HostTensor, OrtSession } from "../../src/runtime/ort-session.js";
import { verifyLoad } from "../../src/runtime/verify-load.js";
import { Rng } from "../helpers/prng.js";
import { graph, int, model, node, value } from "../ir/builders.js";

const uniform = (rng: Rng, lo: number, hi: number) => lo + rng.float() * (hi - lo);
const int64 = (name: string, values: number[]): Tensor => ({ name, dtype: DataType.INT64, dims: [values.length], raw: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });

/**
 * ids (int64 [n, 3]) → Gather(table [50, 8]) → emb [n, 3, 8]
 * x (float [n, 3, 8]) → MatMul(W) → Add(emb) → h
 * Shape(h) → Gather(0) → Unsqueeze → Concat([-1]... ) : int64 reshape target [n, -1]; plus Add(int64, 1) on the way
 * Shape(h) → Cast(float) → Mul(2.0) → Cast(int64): a float chain on shapes
 * h → Reshape(target) → y [n, 24]
 */
function shapeArithmeticModel(): Model {
  const rng = new Rng(5);
  const table = makeFloatTensor("table", [50, 8], Array.from({ length: 400 }, (_, i) => uniform(rng, -1, 1) * (1 + (i >> 3) / 10)));
  const w = makeFloatTensor("W", [8, 8], Array.from({ length: 64 }, () => uniform(rng, -0.5, 0.5)));
  const two = makeFloatTensor("two", [], [2]);
  return model(
    graph(
      [
        node("Gather", ["table", "ids"], ["emb"], [], "embedding"),
        node("MatMul", ["x", "W"], ["m"], [], "mm"),
        node("Add", ["m", "emb"], ["h"], [], "add_emb"),
        node("Shape", ["h"], ["shape"], [], "shape"),
        node("Gather", ["shape", "zero"], ["batch"], [int("axis", 0)], "take_batch"),
        node("Add", ["batch", "one"], ["batch1"], [], "int_add"),
        node("Sub", ["batch1", "one"], ["batch2"], [], "int_sub"),
        node("Unsqueeze", ["batch2", "axes0"], ["batch_1d"], [], "unsqueeze"),
        node("Concat", ["batch_1d", "minus1"], ["target"], [int("axis", 0)], "int_concat"),
        node("Cast", ["shape"], ["shape_f"], [int("to", DataType.FLOAT)], "cast_f"),
        node("Mul", ["shape_f", "two"], ["shape_f2"], [], "float_shape_mul"),
        node("Cast", ["shape_f2"], ["shape2"], [int("to", DataType.INT64)], "cast_i"),
        node("Reshape", ["h", "target"], ["y"], [], "reshape"),
      ],
      [value("x", DataType.FLOAT, ["n", 3, 8]), value("ids", DataType.INT64, ["n", 3])],
      [value("y", DataType.FLOAT, ["n", 24]), value("shape2", DataType.INT64, [3])],
      [table, w, two, { ...int64("zero", [0]), dims: [] }, { ...int64("one", [1]), dims: [] }, int64("axes0", [0]), int64("minus1", [-1])],
    ),
    17,
  );
}

function feeds(n: number, seed: number): Record<string, HostTensor> {
  const rng = new Rng(seed);
  return {
    x: { dtype: DataType.FLOAT, dims: [n, 3, 8], data: Float32Array.from({ length: n * 24 }, () => uniform(rng, -1, 1)) },
    ids: { dtype: DataType.INT64, dims: [n, 3], data: BigInt64Array.from({ length: n * 3 }, () => BigInt(rng.int(50))) },
  };
}

describe("a float-only plan", () => {
  const m = shapeArithmeticModel();

  it("tells shape-derived and integer values from float data", () => {
    const k = valueKinds(m.graph!);
    for (const v of ["shape", "batch", "batch1", "target", "shape_f", "shape_f2", "shape2"]) expect(k.shapeDerived.has(v), v).toBe(true);
    for (const v of ["emb", "m", "h", "y"]) expect(k.shapeDerived.has(v), v).toBe(false);
    expect(k.dtype.get("batch")).toBe(DataType.INT64); // Gather has no inference rule: its input's type
    expect(k.dtype.get("emb")).toBe(DataType.FLOAT);
    expect(k.dtype.get("shape_f2")).toBe(DataType.FLOAT);
  });

  it("quantizes the MatMul and the data Add, keeps shape arithmetic as it is, and stores the embedding per row", () => {
    const plan = planQuantization(m.graph!, buildRecipe({}));
    const by = new Map(plan.decisions.map((d) => [d.node.name, d]));
    expect(by.get("mm")!.role).toBe("compute");
    expect(by.get("add_emb")!.role).toBe("elementwise");
    expect(by.get("embedding")!.role).toBe("weight-only");
    for (const name of ["int_add", "int_sub", "int_concat", "float_shape_mul", "shape", "take_batch", "cast_i"]) {
      expect(by.get(name)!.quantized, name).toBe(false);
      expect(by.get(name)!.notFloat, name).toBe(true);
    }
    expect(by.get("int_concat")!.reason).toBe("computes on int64 values, not float");
    expect(by.get("float_shape_mul")!.reason).toBe("computes on shapes (shape arithmetic), not data");
    const k = valueKinds(m.graph!);
    for (const a of plan.activations) expect(k.dtype.get(a), a).toBe(DataType.FLOAT);
    expect(plan.activations.sort()).toEqual(["emb", "h", "m", "x"]);
    const emb = plan.weights.find((u) => u.embedding)!;
    expect([emb.tensor.name, emb.slot, emb.axis]).toEqual(["table", 0, 0]);
  });

  it("writes a model ONNX Runtime loads, with an int8 per-row table and outputs within 8-bit error", async () => {
    const q = await quantizeModel(m, arraySource(feeds(64, 1)), buildRecipe({}), { threads: 1 });
    expect(await verifyLoad(q.model, "q.onnx")).toEqual({ checked: true, optimization: "all" });
    const g = q.model.graph!;
    const qTable = g.initializers.find((t) => t.name === "table__quantized")!;
    expect(qTable.dtype).toBe(DataType.INT8);
    expect(qTable.dims).toEqual([50, 8]);
    expect(g.initializers.some((t) => t.name === "table")).toBe(false); // the float table is gone
    const dq = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0] === "table__quantized")!;
    expect(dq.attributes.find((a) => a.name === "axis")?.i).toBe(0);
    expect(g.initializers.find((t) => t.name === dq.inputs[1])!.dims).toEqual([50]);
    // No Q/DQ on any integer value.
    for (const n of g.nodes.filter((x) => x.opType === "QuantizeLinear")) expect(["shape", "batch", "batch1", "batch2", "target", "shape2"]).not.toContain(n.inputs[0]!.replace(/__f$/, ""));
    const run = async (mm: Model) => {
      const s = await OrtSession.create(mm, { threads: 1 });
      try {
        return await s.run(feeds(32, 2));
      } finally {
        await s.release();
      }
    };
    const [ref, got] = [await run(m), await run(q.model)];
    expect(Array.from(got["shape2"]!.data as BigInt64Array)).toEqual(Array.from(ref["shape2"]!.data as BigInt64Array));
    const a = ref["y"]!.data as Float32Array;
    const b = got["y"]!.data as Float32Array;
    let signal = 0;
    let noise = 0;
    for (let i = 0; i < a.length; i++) {
      signal += a[i]! ** 2;
      noise += (a[i]! - b[i]!) ** 2;
    }
    expect(10 * Math.log10(signal / noise)).toBeGreaterThan(25);
  });

  it("stores the table as int4 blocks along the row when the recipe asks for int4 blocks", async () => {
    const q = await quantizeModel(m, arraySource(feeds(64, 1)), buildRecipe({ weights: "int4-block:4" }), { threads: 1 });
    const qTable = q.model.graph!.initializers.find((t) => t.name === "table__quantized")!;
    expect(qTable.dtype).toBe(DataType.INT4);
    const dq = q.model.graph!.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0] === "table__quantized")!;
    expect(dq.attributes.find((a) => a.name === "block_size")?.i).toBe(4);
    expect(dq.attributes.find((a) => a.name === "axis")?.i).toBe(1);
    expect(await verifyLoad(q.model, "q.onnx")).toEqual({ checked: true, optimization: "all" });
  });
});

describe("element types ONNX Runtime fills in", () => {
  it("asks ORT for a value no rule types (CastLike), and the planner then quantizes the MatMul reading it", async () => {
    const w = makeFloatTensor("W", [4, 4], Array.from({ length: 16 }, (_, i) => (i % 5) / 4 - 0.5));
    const m = model(
      graph(
        [node("CastLike", ["ids", "like"], ["xf"], [], "castlike"), node("MatMul", ["xf", "W"], ["y"], [], "mm")],
        [value("ids", DataType.INT64, ["n", 4])],
        [value("y", DataType.FLOAT, ["n", 4])],
        [w, makeFloatTensor("like", [], [0])],
      ),
      17,
    );
    expect(valueKinds(m.graph!).dtype.has("xf")).toBe(false);
    expect(planQuantization(m.graph!, buildRecipe({})).decisions.find((d) => d.node.name === "mm")!.reason).toMatch(/element type unknown/);
    const probed = await probedValueKinds(m);
    expect(probed.dtype.get("xf")).toBe(DataType.FLOAT);
    expect(planQuantization(m.graph!, buildRecipe({}), probed).decisions.find((d) => d.node.name === "mm")!.role).toBe("compute");
  });
});
