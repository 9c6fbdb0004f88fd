/**
 * Subgraph quantization (issue 13 §3): If, Loop and Scan bodies are planned,
 * calibrated and quantized like the main graph, or refused with the reason.
 * Models from test/helpers/subgraph-models.ts; every written model is opened
 * and run in ONNX Runtime against its float original.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph, Model } from "../../src/ir/graph.js";
import { walkGraphs } from "../../src/ir/graph.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import type { DataSource } from "../../src/quant/feeds.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { type HostTensor, OrtSession, sliceBatch } from "../../src/runtime/ort-session.js";
import { compareOutputs } from "../helpers/corpus.js";
import { ifModel, loopModel, nestedModel, scanModel, shiftedSamples } from "../helpers/subgraph-models.js";
import { Rng } from "../helpers/prng.js";

const quantize = (m: Model, source: DataSource, input: RecipeInput = {}) => quantizeModel(m, source, buildRecipe({ batchSize: 1, ...input }), { threads: 1, verifyEach: true });

async function run(m: Model, feeds: Record<string, HostTensor>, optimization: "all" | "disabled" = "all"): Promise<Record<string, HostTensor>> {
  const s = await OrtSession.create(m, { threads: 1, optimization });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

const sqnrDb = (ref: HostTensor, got: HostTensor) => compareOutputs(ref, got).sqnrDb;

/** The graph at `path` of walkGraphs (e.g. "graph/if0.then_branch"). */
function bodyAt(m: Model, path: string): Graph {
  const hit = [...walkGraphs(m.graph!)].find(([, p]) => p === path);
  if (!hit) throw new Error(`no body ${path}`);
  return hit[0];
}

const ops = (g: Graph) => g.nodes.map((n) => n.opType);

describe("If bodies", () => {
  const calib = shiftedSamples(11, 8, [2, 6, 6], 0.5);

  it("quantizes both branches with ranges measured through the If; ORT runs it close to float", async () => {
    const m = ifModel();
    const r = await quantize(m, arraySource({ X: calib }));
    expect(r.subgraphs).toEqual([
      { body: "if0/then_branch", quantized: true },
      { body: "if0/else_branch", quantized: true },
    ]);
    const compute = r.decisions.filter((d) => d.quantized && d.role === "compute").map((d) => d.node.name);
    expect(compute.sort()).toEqual(["if0/else_branch/conv_e", "if0/then_branch/conv_t"]);
    // Body node names are the body's own again in the written file.
    const thenB = bodyAt(r.model, "graph/if0.then_branch");
    const elseB = bodyAt(r.model, "graph/if0.else_branch");
    for (const b of [thenB, elseB]) {
      expect(ops(b)).toContain("QuantizeLinear");
      expect(ops(b)).toContain("DequantizeLinear");
      expect(b.initializers.some((t) => t.dtype === DataType.INT8)).toBe(true);
    }
    expect(thenB.nodes.find((n) => n.opType === "Conv")!.name).toBe("conv_t");
    // The outer-scope weight moved into the branch as int8; its float original is gone from the main graph.
    expect(r.model.graph!.initializers.map((t) => t.name)).not.toContain("Wt");
    expect(elseB.initializers.map((t) => t.name)).not.toContain("We");

    // The then branch's output range is what float ONNX Runtime computes on the calibration samples that take it.
    let hi = 0;
    for (let i = 0; i < 8; i += 2) hi = Math.max(hi, ...((await run(m, { X: sliceBatch(calib, i, 1) }))["Y"]!.data as Float32Array));
    const dq = thenB.nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === "yt")!;
    const scale = tensorToFloat64(thenB.initializers.find((t) => t.name === dq.inputs[1])!)[0]!;
    expect(scale).toBeCloseTo(hi / 255, 7);

    // Quantizing the output again would stack Q/DQ on Q/DQ: its bodies are refused.
    await expect(quantize(r.model, arraySource({ X: calib }))).rejects.toThrow(/if0\/then_branch: it already holds QuantizeLinear\/DequantizeLinear nodes/);

    // Both branches, in integer kernels, against float.
    for (const sign of [0, 1]) {
      const x = sliceBatch(shiftedSamples(12 + sign, 2, [2, 6, 6], 0.5), sign, 1);
      const [f, q] = [(await run(m, { X: x }))["Y"]!, (await run(r.model, { X: x }))["Y"]!];
      expect(sqnrDb(f, q)).toBeGreaterThan(25);
    }
  });

  it("refuses a branch the calibration data never takes, naming it, and keeps it float", async () => {
    const positive = shiftedSamples(13, 4, [2, 6, 6], 0.5, 1);
    const r = await quantize(ifModel(), arraySource({ X: positive }));
    expect(r.subgraphs).toEqual([
      { body: "if0/then_branch", quantized: true },
      { body: "if0/else_branch", quantized: false, reason: expect.stringMatching(/never computed on the calibration data \(the If never took this branch\)/) },
    ]);
    expect(ops(bodyAt(r.model, "graph/if0.else_branch"))).toEqual(["Conv", "Mul"]);
    expect(r.decisions.find((d) => d.node.name === "if0/else_branch/conv_e")).toMatchObject({ quantized: false, reason: "its body if0/else_branch is kept float (the body's note says why; subgraphs in JSON)" });
    await run(r.model, { X: sliceBatch(calib, 1, 1) });
  });

  it("takes --exclude and layers rules by qualified name, and refuses a name no body has", async () => {
    const src = () => arraySource({ X: calib });
    const one = await quantize(ifModel(), src(), { exclude: ["if0/then_branch/conv_t"] });
    expect(one.decisions.find((d) => d.node.name === "if0/then_branch/conv_t")).toMatchObject({ quantized: false, reason: "excluded by --exclude" });
    const whole = await quantize(ifModel(), src(), { exclude: ["if0/else_branch"] });
    expect(whole.subgraphs[1]).toEqual({ body: "if0/else_branch", quantized: false, reason: "excluded by --exclude if0/else_branch" });
    const ruled = await quantize(ifModel(), src(), { layers: [{ match: { name: "if0/then_branch/*" }, acts: "int8" }] });
    expect(ruled.formats.find((f) => f.tensor === "if0/then_branch/yt")).toMatchObject({ format: "int8", rule: 0 });
    await expect(quantize(ifModel(), src(), { exclude: ["if0/then_branch/conv_x"] })).rejects.toThrow(/names no node/);
  });

  it("histogram methods calibrate bodies too, even when the main graph needs no histogram", async () => {
    const m = ifModel();
    const r = await quantize(m, arraySource({ X: calib }), { calibration: "percentile" });
    expect(r.subgraphs.map((b) => b.quantized)).toEqual([true, true]);
    expect(r.formats.find((f) => f.tensor === "if0/else_branch/ye")?.calibration).toMatch(/^percentile/);
    const x = sliceBatch(calib, 1, 1);
    expect(sqnrDb((await run(m, { X: x }))["Y"]!, (await run(r.model, { X: x }))["Y"]!)).toBeGreaterThan(25);
  });

  it("data-free mode descends into both branches", async () => {
    const m = ifModel();
    const r = await quantizeModel(m, arraySource({}), buildRecipe({ dataFree: true, inputRange: [-1.5, 1.5] }), { threads: 1 });
    expect(r.subgraphs.map((b) => b.quantized)).toEqual([true, true]);
    const x = sliceBatch(calib, 0, 1);
    expect(sqnrDb((await run(m, { X: x }))["Y"]!, (await run(r.model, { X: x }))["Y"]!)).toBeGreaterThan(15);
  });
});

describe("Loop and Scan bodies", () => {
  it("a Loop body's MatMul is calibrated over every iteration and quantized", async () => {
    const m = loopModel();
    const rng = new Rng(5);
    const x = (n: number): HostTensor => ({ dtype: DataType.FLOAT, dims: [n, 4], data: Float32Array.from({ length: n * 4 }, () => rng.float() * 2 - 1) });
    const calibX = x(16);
    const r = await quantize(m, arraySource({ X: calibX }));
    expect(r.subgraphs).toEqual([{ body: "loop0/body", quantized: true }]);
    const body = bodyAt(r.model, "graph/loop0.body");
    expect(ops(body)).toContain("QuantizeLinear");
    expect(body.initializers.some((t) => t.dtype === DataType.INT8)).toBe(true);
    // h2's range covers every iteration of every calibration sample: recompute the loop in JS.
    const W = tensorToFloat64(m.graph!.initializers.find((t) => t.name === "W")!);
    const b = [0.1, 0.2, -0.1, 0.05];
    let hi = 0;
    const xs = calibX.data as Float32Array;
    for (let n = 0; n < 16; n++) {
      let h = Array.from(xs.subarray(n * 4, n * 4 + 4));
      for (let it = 0; it < 3; it++) {
        h = [0, 1, 2, 3].map((j) => Math.max(0, h.reduce((acc, v, k) => acc + v * W[k * 4 + j]!, 0) + b[j]!));
        hi = Math.max(hi, ...h);
      }
    }
    const dq = body.nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === "h2")!;
    expect(tensorToFloat64(body.initializers.find((t) => t.name === dq.inputs[1])!)[0]!).toBeCloseTo(hi / 255, 6);
    const e = x(8);
    expect(sqnrDb((await run(m, { X: e }))["Y"]!, (await run(r.model, { X: e }))["Y"]!)).toBeGreaterThan(20);
  });

  it("an If inside a Loop: both branches calibrated two scopes deep, weights from the main graph", async () => {
    const m = nestedModel();
    const rng = new Rng(7);
    const x = (n: number): HostTensor => ({ dtype: DataType.FLOAT, dims: [n, 4], data: Float32Array.from({ length: n * 4 }, () => rng.float() * 2 - 1) });
    const r = await quantize(m, arraySource({ X: x(16) }));
    expect(r.subgraphs).toEqual([
      { body: "loop0/body/if1/then_branch", quantized: true },
      { body: "loop0/body/if1/else_branch", quantized: true },
    ]);
    expect(r.model.graph!.initializers.map((t) => t.name)).toEqual(["M", "go", "zero"]);
    for (const path of ["graph/loop0.body/if1.then_branch", "graph/loop0.body/if1.else_branch"]) expect(ops(bodyAt(r.model, path))).toContain("QuantizeLinear");
    for (let i = 0; i < 4; i++) {
      const e = x(1);
      expect(sqnrDb((await run(m, { X: e }))["Y"]!, (await run(r.model, { X: e }))["Y"]!)).toBeGreaterThan(15);
    }
  });

  it("an If inside a Loop that switches branch between iterations cannot be stacked: refused with ORT's reason, one line", async () => {
    const rng = new Rng(8);
    const X: HostTensor = { dtype: DataType.FLOAT, dims: [16, 4], data: Float32Array.from({ length: 64 }, () => rng.float() * 2 - 1) };
    await expect(quantize(nestedModel(true), arraySource({ X }))).rejects.toThrow(
      /^nothing left to quantize: .*loop0\/body\/if1\/then_branch: ONNX Runtime could not run the model with its body values exposed for calibration: .*Inconsistent shape in loop output/,
    );
  });

  it("a Scan body's MatMul is quantized; data-free refuses the body, naming its state input", async () => {
    const m = scanModel();
    const rng = new Rng(6);
    const seq = (): Record<string, HostTensor> => ({
      S0: { dtype: DataType.FLOAT, dims: [4], data: new Float32Array(4) },
      X: { dtype: DataType.FLOAT, dims: [6, 4], data: Float32Array.from({ length: 24 }, () => rng.float() * 2 - 1) },
    });
    const seqs = [seq(), seq(), seq(), seq()];
    const source: DataSource = { count: seqs.length, fixedBatch: 1, batch: (start) => seqs[start]!, close() {} };
    const r = await quantize(m, source);
    expect(r.subgraphs).toEqual([{ body: "scan0/body", quantized: true }]);
    expect(ops(bodyAt(r.model, "graph/scan0.body"))).toContain("QuantizeLinear");
    const e = seq();
    expect(sqnrDb((await run(m, e))["Y"]!, (await run(r.model, e))["Y"]!)).toBeGreaterThan(15);

    await expect(quantizeModel(m, arraySource({}), buildRecipe({ dataFree: true, inputRange: [-1, 1] }), { threads: 1 })).rejects.toThrow(
      /nothing left to quantize: .*scan0\/body: data-free: no range for '.*': 'x' is an input of the Scan body/,
    );
  });
});
