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
import { hadamard, rotateModel } from "../../src/passes/rotate.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { evalX } from "../helpers/bundled-data.js";

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

  it("refuses a model with no pair, with the reason", () => {
    expect(() => rotateModel(loadModel(join(MODELS_DIR, "mlp.onnx")))).toThrow(/--rotate: no pair to rotate: it needs an attention value → output projection/);
  });
});
