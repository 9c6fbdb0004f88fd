/**
 * passes/rotate.ts: the normalized Hadamard matrix is orthogonal; on the
 * bundled ViT every attention value → output projection pair is rotated
 * (4 blocks, head dim 16) and the float output is unchanged (≤ 1e-4 of the
 * largest logit) in ONNX Runtime, while the rotated weights differ; a model
 * with no pair (the MLP) is refused with the reason.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { hadamard, rotateModel } from "../../src/passes/rotate.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { evalX } from "../helpers/bundled-data.js";
import { graph, model as makeModel, node, value } from "../ir/builders.js";

describe("Hadamard rotation", () => {
  it("H_d·H_dᵀ = I for d = 1 … 64", () => {
    for (const d of [1, 2, 4, 16, 64]) {
      const h = hadamard(d);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += h[i * d + k]! * h[j * d + k]!;
          expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
    }
  });

  it("rotates the ViT's value → output pairs and keeps its float output", async () => {
    const float = loadModel(join(MODELS_DIR, "vit.onnx"));
    const { model, pairs } = rotateModel(float);
    expect(pairs.length).toBe(4);
    expect(pairs.every((p) => p.kind === "value-output" && p.block === 16)).toBe(true);
    const n = 64;
    const x = { input: { dtype: DataType.FLOAT, dims: [n, 1, 28, 28], data: evalX.data.subarray(0, n * 784) } };
    const run = async (m: typeof float) => {
      const s = await OrtSession.create(m, { threads: 1 });
      return (await s.run(x).finally(() => s.release()))[s.outputNames[0]!]!.data as Float32Array;
    };
    const [a, b] = [await run(float), await run(model)];
    let top = 0;
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      top = Math.max(top, Math.abs(a[i]!));
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    }
    expect(diff / top).toBeLessThanOrEqual(1e-4);
    // the weights did change: the rotation is not the identity
    const before = new Set(float.graph!.initializers.map((t) => t.name));
    expect(model.graph!.initializers.filter((t) => !before.has(t.name)).length).toBe(12);
  }, 60_000);

  it("finds the pair through torch's dynamic-axes view(B, T, h, d), whose target is a Concat of shape arithmetic, and keeps the float output", async () => {
    // x [B, T, 8] → x·W_v + b → Reshape(Concat(B, T, [2], [4])) → Transpose → a·V → Transpose → Reshape(Concat(B, T, [8])) → ·W_o
    const ints = (name: string, v: number[]): Tensor => ({ name, dtype: DataType.INT64, dims: [v.length], raw: new Uint8Array(BigInt64Array.from(v, BigInt).buffer) });
    const scalar = (name: string, v: number): Tensor => ({ ...ints(name, [v]), dims: [] });
    const w = (name: string, dims: number[], k: number) => makeFloatTensor(name, dims, Array.from({ length: dims[0]! * dims[1]! }, (_, i) => Math.sin(i * k)));
    const g = graph(
      [
        node("Shape", ["x"], ["s"]),
        node("Gather", ["s", "i0"], ["b0"]),
        node("Gather", ["s", "i1"], ["t0"]),
        node("Unsqueeze", ["b0", "ax0"], ["b"]),
        node("Unsqueeze", ["t0", "ax0"], ["t"]),
        node("Concat", ["b", "t", "heads", "hd"], ["split"], [{ name: "axis", type: 2, i: 0 }]),
        node("Concat", ["b", "t", "width"], ["merge"], [{ name: "axis", type: 2, i: 0 }]),
        node("MatMul", ["x", "wv"], ["v0"], [], "v/MatMul"),
        node("Add", ["v0", "bv"], ["v1"]),
        node("Reshape", ["v1", "split"], ["v2"]),
        node("Transpose", ["v2"], ["v3"], [{ name: "perm", type: 7, ints: [0, 2, 1, 3] }]),
        node("MatMul", ["a", "v3"], ["o0"]),
        node("Transpose", ["o0"], ["o1"], [{ name: "perm", type: 7, ints: [0, 2, 1, 3] }]),
        node("Reshape", ["o1", "merge"], ["o2"]),
        node("MatMul", ["o2", "wo"], ["y"], [], "o/MatMul"),
      ],
      [value("x", 1, ["B", "T", 8]), value("a", 1, ["B", 2, "T", "T"])],
      [value("y", 1, ["B", "T", 8])],
      [w("wv", [8, 8], 0.7), makeFloatTensor("bv", [8], [0.1, -0.2, 0.3, 0, 0.5, -0.6, 0.7, 0.2]), w("wo", [8, 8], 1.3), scalar("i0", 0), scalar("i1", 1), ints("ax0", [0]), ints("heads", [2]), ints("hd", [4]), ints("width", [8])],
    );
    const float = makeModel(g);
    const { model, pairs } = rotateModel(float);
    expect(pairs).toEqual([{ first: "v/MatMul", second: "o/MatMul", block: 4, kind: "value-output" }]);
    const feeds = {
      x: { dtype: DataType.FLOAT, dims: [2, 3, 8], data: Float32Array.from({ length: 48 }, (_, i) => Math.cos(i)) },
      a: { dtype: DataType.FLOAT, dims: [2, 2, 3, 3], data: Float32Array.from({ length: 36 }, (_, i) => (i % 5) / 5) },
    };
    const run = async (m: typeof float) => {
      const s = await OrtSession.create(m, { threads: 1 });
      return (await s.run(feeds).finally(() => s.release()))["y"]!.data as Float32Array;
    };
    const [a, b] = [await run(float), await run(model)];
    expect(Array.from(b).every((v, i) => Math.abs(v - a[i]!) <= 1e-5 * Math.max(...Array.from(a, Math.abs)))).toBe(true);
    // the weights did change: both MatMuls read rotated copies
    expect(model.graph!.nodes.filter((n) => n.opType === "MatMul" && n.inputs[1]!.includes("__rot_")).map((n) => n.name)).toEqual(["v/MatMul", "o/MatMul"]);
  });

  it("refuses a model with no pair, with the reason", () => {
    expect(() => rotateModel(loadModel(join(MODELS_DIR, "mlp.onnx")))).toThrow(/--rotate: no pair to rotate: it needs an attention value → output projection/);
  });
});
