/**
 * smoothModel (src/quant/smooth.ts) on a norm whose rank static inference
 * cannot tell: a torch ViT's LayerNorm reads cls_token.expand(B, -1, -1)
 * concatenated with the patches, whose shape is computed. Here the norm reads
 * a TopK (no static shape rule), which has the same effect; the rank comes
 * from one ONNX Runtime run, and the float function is unchanged.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { arraySource } from "../../src/quant/feeds.js";
import { smoothModel } from "../../src/quant/smooth.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { graph, model, node, value } from "../ir/builders.js";

const k: Tensor = { name: "k", dtype: DataType.INT64, dims: [1], raw: new Uint8Array(BigInt64Array.from([8n]).buffer) };
const ramp = (name: string, dims: number[], f: (i: number) => number) => makeFloatTensor(name, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)));

// x [B, T, 8] → TopK(8) values (x sorted along its last axis) → LayerNorm → MatMul W [8, 4]
const float = model(
  graph(
    [
      node("TopK", ["x", "k"], ["sorted", "idx"]),
      node("LayerNormalization", ["sorted", "gamma", "beta"], ["n"], [{ name: "axis", type: 2, i: -1 }], "ln"),
      node("MatMul", ["n", "w"], ["y"], [], "fc"),
    ],
    [value("x", 1, ["B", "T", 8])],
    [value("y", 1, ["B", "T", 4])],
    [k, ramp("gamma", [8], (i) => (i === 2 ? 20 : 1 + i / 8)), ramp("beta", [8], (i) => i / 10 - 0.3), ramp("w", [8, 4], (i) => Math.sin(i))],
  ),
);
const x = { x: { dtype: DataType.FLOAT, dims: [4, 3, 8], data: Float32Array.from({ length: 96 }, (_, i) => Math.cos(i * 0.37) * 3) } };

describe("smoothModel on a norm of unknown static rank", () => {
  it("takes the rank from ONNX Runtime and smooths the norm, keeping the float output", async () => {
    const { model: smoothed, report } = await smoothModel(float, arraySource(x), 0.5, { batchSize: 4, threads: 1 });
    expect(report.layers.map((r) => r.norm)).toEqual(["ln"]);
    const run = async (m: typeof float) => {
      const s = await OrtSession.create(m, { threads: 1 });
      return (await s.run(x).finally(() => s.release()))["y"]!.data as Float32Array;
    };
    const [a, b] = [await run(float), await run(smoothed)];
    const top = Math.max(...Array.from(a, Math.abs));
    expect(Array.from(b).every((v, i) => Math.abs(v - a[i]!) <= 1e-5 * top)).toBe(true);
    // γ was divided by the channel scales: the model changed
    expect(smoothed.graph!.initializers.find((t) => t.name === "gamma")).toBeUndefined();
  });
});
