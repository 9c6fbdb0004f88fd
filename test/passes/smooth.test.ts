/**
 * SmoothQuant folding (passes/smooth.ts, quant/smooth.ts):
 * - by hand: one outlier channel (max|X| = 100 against 1) and unit weights
 *   give s = 100^α / 1^(1−α), γ and β divided by s, the weight's row j
 *   multiplied by it, and the spread max/mean of max|X_j| from 400/103 to
 *   4·max(100/s, 1)/(100/s + 3);
 * - scaleNormChannels with given factors (1/32 on one channel), exact;
 * - the bundled ViT: the 8 norms that feed q/k/v and fc1 are smoothed (the
 *   final norm, read by ReduceMean, is not), and the float model's output
 *   changes by at most 1e-4 relative on 200 images in ONNX Runtime, with α
 *   fixed or searched per norm (each searched α one of the candidates).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { makeFloatTensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { scaleNormChannels, smoothLayerNorms, smoothTargets } from "../../src/passes/smooth.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { smoothModel } from "../../src/quant/smooth.js";
import { SMOOTH_ALPHAS } from "../../src/quant/smooth-search.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { evalX } from "../helpers/bundled-data.js";

function normMatMul(): Graph {
  return {
    name: "g",
    nodes: [
      { name: "ln", opType: "LayerNormalization", inputs: ["x", "gamma", "beta"], outputs: ["h"], attributes: [{ name: "axis", type: 2, i: -1 }] },
      { name: "mm", opType: "MatMul", inputs: ["h", "w"], outputs: ["y"], attributes: [] },
    ],
    inputs: [],
    outputs: [{ name: "y" }],
    valueInfo: [],
    initializers: [makeFloatTensor("gamma", [4], [1, 2, 3, 4]), makeFloatTensor("beta", [4], [0.5, 0, -1, 2]), makeFloatTensor("w", [4, 2], [1, -1, 0.5, 1, 1, 0.25, -1, 1])],
  } as unknown as Graph;
}

describe("SmoothQuant folding", () => {
  it("scales γ, β and the weight rows by s = max|X|^α / max|W|^(1−α)", () => {
    const g = normMatMul();
    const targets = smoothTargets(g);
    expect(targets.map((t) => [t.value, t.readers.length, t.channels])).toEqual([["h", 1, 4]]);
    const alpha = 0.5;
    const { graph, report } = smoothLayerNorms(g, targets, new Map([["h", Float64Array.of(100, 1, 1, 1)]]), alpha);
    const s = [100 ** alpha / 1, 1, 1, 1]; // max|W_j| = 1 for every row
    const get = (name: string) => Array.from(tensorToFloat64(graph.initializers.find((t) => t.name === name)!));
    const f32 = (xs: number[]) => xs.map(Math.fround);
    const ln = graph.nodes[0]!;
    const mm = graph.nodes[1]!;
    expect(get(ln.inputs[1]!)).toEqual(f32([1 / s[0]!, 2, 3, 4]));
    expect(get(ln.inputs[2]!)).toEqual(f32([0.5 / s[0]!, 0, -1, 2]));
    expect(get(mm.inputs[1]!)).toEqual(f32([1 * s[0]!, -1 * s[0]!, 0.5, 1, 1, 0.25, -1, 1]));
    expect(report.layers[0]!.spreadBefore).toBeCloseTo(400 / 103, 12);
    expect(report.layers[0]!.spreadAfter).toBeCloseTo((4 * (100 / s[0]!)) / (100 / s[0]! + 3), 12);
    expect(graph.initializers.some((t) => t.name === "gamma" || t.name === "w")).toBe(false);
  });

  it("scaleNormChannels divides γ_j, β_j by any given s_j and multiplies row j by it (the bench's outlier ViT uses s_j = 1/c)", () => {
    const g = normMatMul();
    const [t] = smoothTargets(g);
    const graph = scaleNormChannels(g, new Map([[t!, Float64Array.of(1, 1 / 32, 1, 1)]]));
    const get = (name: string) => Array.from(tensorToFloat64(graph.initializers.find((x) => x.name === name)!));
    const [ln, mm] = graph.nodes;
    expect(get(ln!.inputs[1]!)).toEqual([1, 64, 3, 4]);
    expect(get(ln!.inputs[2]!)).toEqual([0.5, 0, -1, 2]);
    expect(get(mm!.inputs[1]!)).toEqual([1, -1, 0.5 / 32, 1 / 32, 1, 0.25, -1, 1]);
  });

  it("leaves norms alone that feed something other than constant-weight linear layers", () => {
    const g = normMatMul();
    const other = { ...g, nodes: [...g.nodes, { name: "relu", opType: "Relu", inputs: ["h"], outputs: ["r"], attributes: [] }] } as Graph;
    expect(smoothTargets(other)).toEqual([]);
  });

  it.each([0.5, "search"] as const)("keeps the bundled ViT's float function (≤ 1e-4 relative) while smoothing its 8 norms, α %s", async (alpha) => {
    const m = loadModel(join(MODELS_DIR, "vit.onnx"));
    const source = npyFileSource(m.graph!, join(MODELS_DIR, "data/calib.npy"), 128);
    const { model, report } = await smoothModel(m, source, alpha, { batchSize: 64, threads: 1 }).finally(() => source.close());
    expect(report.layers).toHaveLength(8);
    for (const l of report.layers) expect(alpha === "search" ? SMOOTH_ALPHAS : [0.5]).toContain(l.alpha);
    expect(report.layers.every((l) => !l.norm.includes("/norm/"))).toBe(true);
    const n = 200;
    const feeds = { input: { dtype: DataType.FLOAT, dims: [n, 1, 28, 28], data: evalX.data.subarray(0, n * 784) } };
    const run = async (x: typeof m) => {
      const s = await OrtSession.create(x, { optimization: "disabled", threads: 1 });
      const out = Object.values(await s.run(feeds))[0]!.data as Float32Array;
      await s.release();
      return out;
    };
    const [a, b] = await Promise.all([run(m), run(model)]);
    let diff = 0;
    let top = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      top = Math.max(top, Math.abs(a[i]!));
    }
    expect(diff / top).toBeLessThanOrEqual(1e-4);
    expect(model.graph!.initializers.length).toBe(m.graph!.initializers.length);
  }, 60_000);
});
