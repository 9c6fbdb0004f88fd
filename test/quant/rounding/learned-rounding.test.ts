/**
 * Learned rounding through the quantize pipeline, on the bundled CNN (three
 * convs and two Gemms) with 32 calibration images:
 *  - GPTQ at int4 weights: every layer reported, no layer worse than nearest,
 *    the model better reconstructed overall; byte-identical output on a
 *    second run; the written model opens in ONNX Runtime;
 *  - a `layers` rule turns learned rounding on for one op only;
 *  - AdaRound (a few iterations) and GPTQ on MXFP4 weights (a non-uniform
 *    grid) run through and do not lose to nearest;
 *  - ConvTranspose and Gemm with transA are rounded, not skipped;
 *  - AdaRound's default is the Gram form; chunks change the codes; wide
 *    fully connected layers take low-rank steps (or, asked, minibatch steps
 *    with an exact tail);
 *  - AdaRound (Gram form, stochastic-Gram chunks, wide layers' low-rank and
 *    minibatch steps) and GPTQ write byte-identical models at 1 and 2 threads;
 *  - data-free mode refuses learned rounding in one line.
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { isFixqError } from "../../../src/ir/errors.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { encodeModel } from "../../../src/ir/onnx/save.js";
import { tensorToFloat64 } from "../../../src/ir/tensor.js";
import { arraySource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../../src/quant/recipe.js";
import { findReport } from "../../../src/quant/stage.js";
import { Rng } from "../../helpers/prng.js";
import { graph, int, ints, model, node, value } from "../../ir/builders.js";
import { evalImages, randn, randTensor } from "../../passes/float-helpers.js";

const cnn = loadModel(join(MODELS_DIR, "cnn.onnx"));
const inputName = cnn.graph!.inputs[0]!.name;
const data = arraySource({ [inputName]: evalImages(32) });

async function quantize(flags: RecipeInput, threads = 1) {
  const q = await quantizeModel(cnn, data, buildRecipe({ acts: "float", batchSize: 16, ...flags }), { threads });
  return { q, report: findReport(q.passes, "weight-rounding") };
}

/** GPTQ at int4 on one thread, run once for the file (two tests read it; the determinism test runs it a second time itself). */
let gptqOneThread: ReturnType<typeof quantize> | undefined;
const gptqInt4 = () => (gptqOneThread ??= quantize({ weights: "int4", weightRounding: "gptq" }));

describe("learned rounding in the pipeline", () => {
  it("GPTQ at int4: every layer reported, none worse than nearest, deterministic, opens in ORT", async () => {
    const a = await gptqInt4();
    const r = a.report!;
    expect(r.method).toBe("gptq");
    expect(r.layers.map((l) => l.method)).toEqual(["gptq", "gptq", "gptq", "gptq", "gptq"]);
    expect(r.runs).toBe(5); // a chain: one wave per layer
    for (const l of r.layers) {
      expect(l.lossAfter).toBeLessThanOrEqual(l.lossBefore);
      expect(l.changedFraction).toBeGreaterThanOrEqual(0);
    }
    const before = r.layers.reduce((s, l) => s + l.lossBefore, 0);
    const after = r.layers.reduce((s, l) => s + l.lossAfter, 0);
    expect(after).toBeLessThan(0.8 * before);
    expect(r.layers.some((l) => l.changedFraction > 0.01)).toBe(true);
    const b = await quantize({ weights: "int4", weightRounding: "gptq" });
    expect(Buffer.from(encodeModel(b.q.model)).equals(Buffer.from(encodeModel(a.q.model)))).toBe(true);
    const session = await ort.InferenceSession.create(encodeModel(a.q.model));
    await session.release();
  }, 120_000);

  it("minibatch AdaRound with the post-activation loss: byte-identical at 1 and 2 threads, each layer's post loss at most nearest's", async () => {
    const flags: RecipeInput = { weights: "int4", weightRounding: "adaround", adaroundIters: 60, adaroundBatch: 32, adaroundLoss: "post" };
    const one = await quantize(flags, 1);
    const two = await quantize(flags, 2);
    expect(one.report!.layers.some((l) => l.changedFraction > 0)).toBe(true);
    for (const l of one.report!.layers) expect(l.lossAfter).toBeLessThanOrEqual(l.lossBefore);
    expect(Buffer.from(encodeModel(two.q.model)).equals(Buffer.from(encodeModel(one.q.model)))).toBe(true);
  }, 120_000);

  it("writes a byte-identical model at 1 and 2 threads (AdaRound, 60 iterations, Gram form with wide layers' low-rank steps, 4 chunks, wide layers' minibatch phase; GPTQ)", async () => {
    const written: Buffer[] = [];
    for (const flags of [{ weightRounding: "adaround", adaroundIters: 60 }, { weightRounding: "adaround", adaroundIters: 60, adaroundChunks: 4 }, { weightRounding: "gptq" }, { weightRounding: "adaround", adaroundIters: 60, adaroundWideRank: 0, adaroundWideBatch: 16 }] as RecipeInput[]) {
      const one = flags.weightRounding === "gptq" ? await gptqInt4() : await quantize({ weights: "int4", ...flags }, 1);
      const two = await quantize({ weights: "int4", ...flags }, 2);
      expect(one.report!.layers.some((l) => l.changedFraction > 0)).toBe(true);
      const bytes = Buffer.from(encodeModel(one.q.model));
      expect(Buffer.from(encodeModel(two.q.model)).equals(bytes)).toBe(true);
      written.push(bytes);
    }
    // The chunks change the steps, so the codes.
    expect(written[1]!.equals(written[0]!)).toBe(false);
  }, 180_000);

  it("by default takes the Gram form (wide layers aside; the same codes as --adaround-chunks 1); --adaround-chunks 2 changes them", async () => {
    const data64 = arraySource({ [inputName]: evalImages(64) });
    const run = async (extra: RecipeInput) => {
      const q = await quantizeModel(cnn, data64, buildRecipe({ acts: "float", batchSize: 16, weights: "int4", weightRounding: "adaround", adaroundIters: 60, ...extra }), { threads: 1 });
      // The weight codes (the provenance metadata records the recipe keys, so the models differ there).
      return JSON.stringify(q.model.graph!.initializers.filter((t) => t.name?.endsWith("__quantized")).map((t) => Array.from(tensorToFloat64(t))));
    };
    const byDefault = await run({});
    expect(byDefault).toBe(await run({ adaroundChunks: 1 }));
    expect(byDefault).not.toBe(await run({ adaroundChunks: 2 }));
  }, 120_000);

  it("wide fully connected layers (K ≥ 4 × adaroundWideRank, one column per sample) take low-rank steps, or minibatch steps with an exact tail (adaroundWideRank 0); the others keep the Gram form's codes", async () => {
    const data64 = arraySource({ [inputName]: evalImages(64) });
    const run = async (extra: RecipeInput) => {
      const q = await quantizeModel(cnn, data64, buildRecipe({ acts: "float", batchSize: 16, weights: "int4", weightRounding: "adaround", adaroundIters: 60, ...extra }), { threads: 1 });
      const codes = new Map(q.model.graph!.initializers.filter((t) => t.name?.endsWith("__quantized")).map((t) => [t.name, JSON.stringify(Array.from(tensorToFloat64(t)))]));
      return { codes, layers: findReport(q.passes, "weight-rounding")!.layers };
    };
    const gram = (await run({ adaroundWideBatch: 0 })).codes;
    expect(gram.size).toBe(5);
    const fc = cnn.graph!.nodes.filter((n) => n.opType === "Gemm").map((n) => n.inputs[1]!);
    // The 576-input Gemm (4 × 16 ≤ 576, 4 × 48 ≤ 576) changes; the convs (patches, upstream) do not; the 128-input
    // Gemm keeps the Gram form but may change with its inputs. (64 samples give H rank ≤ 64, which the default
    // rank 64 holds whole: rank 16 approximates it.)
    const onlyTheWideGemm = (codes: Map<string | undefined, string>) => {
      const changed = [...gram.keys()].filter((k) => gram.get(k) !== codes.get(k));
      expect(changed.some((k) => k!.startsWith(fc[0]!))).toBe(true);
      expect(changed.every((k) => fc.some((w) => k!.startsWith(w)))).toBe(true);
    };
    const lowRank = await run({ adaroundWideRank: 16 });
    onlyTheWideGemm(lowRank.codes);
    const wide = lowRank.layers.find((l) => l.node === cnn.graph!.nodes.find((n) => n.inputs[1] === fc[0])!.name)!;
    expect(wide.changedFraction).toBeGreaterThan(0);
    expect(wide.lossAfter).toBeLessThan(wide.lossBefore);
    const minibatch = (await run({ adaroundWideRank: 0, adaroundWideBatch: 48 })).codes;
    onlyTheWideGemm(minibatch);
    expect(minibatch).not.toEqual(lowRank.codes);
    // The rank matters; a whole tail on H is the Gram form again, after low-rank or minibatch steps.
    expect((await run({ adaroundWideRank: 8 })).codes).not.toEqual(lowRank.codes);
    expect((await run({ adaroundWideRank: 16, adaroundExactTail: 1 })).codes).toEqual(gram);
    expect((await run({ adaroundWideRank: 0, adaroundWideBatch: 48, adaroundExactTail: 1 })).codes).toEqual(gram);
  }, 120_000);

  it("rounds ConvTranspose (transposed patches) and Gemm with transA: reported, not skipped, none worse than nearest", async () => {
    const rng = new Rng(3);
    const g = graph(
      [node("ConvTranspose", ["X", "W1"], ["T"], [ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1])]), node("Relu", ["T"], ["R"]), node("Flatten", ["R"], ["F"], [int("axis", 4)]), node("Gemm", ["F", "W2"], ["Y"], [int("transA", 1)])],
      [value("X", 1, [1, 4, 4, 4])],
      [value("Y", 1)],
      [randTensor(rng, "W1", [4, 8, 3, 3]), randTensor(rng, "W2", [392, 6], 0.1)],
    );
    const feeds = arraySource({ X: { dtype: 1, dims: [1, 4, 4, 4], data: randn(rng, 64) } });
    const q = await quantizeModel(model(g), feeds, buildRecipe({ acts: "float", weights: "int4", weightRounding: "gptq", batchSize: 1 }), { threads: 1 });
    const r = findReport(q.passes, "weight-rounding")!;
    expect(r.skipped).toEqual([]);
    expect(r.layers).toHaveLength(2);
    for (const l of r.layers) expect(l.lossAfter).toBeLessThanOrEqual(l.lossBefore);
    expect(r.layers[0]!.lossAfter).toBeLessThan(r.layers[0]!.lossBefore);
  }, 60_000);

  it("a layers rule enables it for one op only", async () => {
    const recipe: RecipeInput = { weights: "int4", layers: [{ match: { op: "Gemm" }, weightRounding: "gptq" }] };
    const { report } = await quantize(recipe);
    expect(report!.method).toBe("nearest");
    expect(report!.layers.map((l) => l.node.includes("Gemm") || l.node.toLowerCase().includes("fc"))).toEqual([true, true]);
  }, 120_000);

  it("AdaRound (10 iterations, per-block:32) and GPTQ on MXFP4 weights never lose to nearest", async () => {
    const ada = await quantize({ weights: "int4", granularity: "per-block:32", weightRounding: "adaround", adaroundIters: 10 });
    expect(ada.report!.layers).toHaveLength(5);
    for (const l of ada.report!.layers) expect(l.lossAfter).toBeLessThanOrEqual(l.lossBefore);
    const mx = await quantize({ weights: "mxfp4", weightRounding: "gptq", gptqActOrder: true });
    const layers = mx.report!.layers;
    expect(layers).toHaveLength(5);
    expect(layers.reduce((s, l) => s + l.lossAfter, 0)).toBeLessThan(layers.reduce((s, l) => s + l.lossBefore, 0));
  }, 120_000);

  it("data-free mode refuses learned rounding, also from a layers rule, in one line", () => {
    for (const flags of [{ dataFree: true, weightRounding: "gptq" }, { dataFree: true, layers: [{ match: { op: "Conv" }, weightRounding: "adaround" }] }]) {
      try {
        buildRecipe(flags);
        expect.unreachable();
      } catch (e) {
        expect(isFixqError(e) && e.code === "usage").toBe(true);
        expect((e as Error).message).toMatch(/^weight rounding '(gptq|adaround)' learns from calibration data, which --data-free never reads; use nearest$/);
      }
    }
  });
});
