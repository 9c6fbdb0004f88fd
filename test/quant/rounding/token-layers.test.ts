/**
 * adaroundTokenBatch (token-layers.ts): which layers take minibatch steps of
 * whole samples (token MatMuls: rank ≥ 3 input, a known column count per
 * sample) and how many columns a step reads; the recipe key's checks; and,
 * through the quantize pipeline on a small two-MatMul token model with a
 * Gemm beside it (on the flattened input, so that its inputs do not depend
 * on the MatMuls' codes), that the token MatMuls' codes change while the
 * Gemm's do not, and that an exact tail over every step or a batch as large
 * as the data gives back the Gram form's codes; the model is byte-identical
 * at 1 and 2 threads.
 */
import { describe, expect, it } from "vitest";
import { isFixqError } from "../../../src/ir/errors.js";
import { encodeModel } from "../../../src/ir/onnx/save.js";
import { tensorToFloat64 } from "../../../src/ir/tensor.js";
import type { Layer } from "../../../src/passes/layers.js";
import { arraySource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../../src/quant/recipe.js";
import { findReport } from "../../../src/quant/stage.js";
import { ADAROUND_DEFAULTS } from "../../../src/quant/rounding/adaround.js";
import type { LayerMatrix } from "../../../src/quant/rounding/layer-matrix.js";
import { applyRoundingOptions, ROUNDING_DEFAULTS } from "../../../src/quant/rounding/options.js";
import { columnsPerSample, TOKEN_EXACT_TAIL, tokenLayerOptions } from "../../../src/quant/rounding/token-layers.js";
import { Rng } from "../../helpers/prng.js";
import { graph, int, model, node, value } from "../../ir/builders.js";
import { randn, randTensor } from "../../passes/float-helpers.js";

const layer = (kind: Layer["kind"], rank: number) => ({ kind, rank }) as Layer;
const matrix = { groups: 1, rows: 24, cols: 16, index: new Int32Array(0) } as LayerMatrix;

describe("token layers", () => {
  it("counts the input columns of one sample from a rank ≥ 3 shape, only when every dim between N and K is a number", () => {
    expect(columnsPerSample(["N", 16, 64])).toBe(16);
    expect(columnsPerSample([1, 4, 16, 32])).toBe(64);
    expect(columnsPerSample(["N", "T", 64])).toBeUndefined();
    expect(columnsPerSample(["N", 64])).toBeUndefined();
    expect(columnsPerSample(undefined)).toBeUndefined();
  });

  it("gives a token MatMul steps of B samples' columns with the exact tail, and leaves every other layer to the Gram form", () => {
    const on = { ...ADAROUND_DEFAULTS, tokenBatch: 4 };
    expect(tokenLayerOptions(on, layer("MatMul", 3), matrix, ["N", 8, 16], 16)).toMatchObject({ batch: 32, exactTail: TOKEN_EXACT_TAIL });
    // An exact tail asked for is kept.
    expect(tokenLayerOptions({ ...on, exactTail: 0.5 }, layer("MatMul", 3), matrix, ["N", 8, 16], 16)?.exactTail).toBe(0.5);
    expect(tokenLayerOptions({ ...ADAROUND_DEFAULTS, tokenBatch: 0 }, layer("MatMul", 3), matrix, ["N", 8, 16], 16)).toBeUndefined();
    // the default, 32 samples per step, on 64 samples
    expect(ADAROUND_DEFAULTS.tokenBatch).toBe(32);
    expect(tokenLayerOptions(ADAROUND_DEFAULTS, layer("MatMul", 3), matrix, ["N", 8, 16], 64)).toMatchObject({ batch: 256, exactTail: TOKEN_EXACT_TAIL });
    expect(tokenLayerOptions(on, layer("Conv", 4), matrix, ["N", 1, 28, 28], 16)).toBeUndefined();
    expect(tokenLayerOptions(on, layer("MatMul", 2), matrix, ["N", 16], 16)).toBeUndefined();
    expect(tokenLayerOptions(on, layer("MatMul", 3), matrix, ["N", "T", 16], 16)).toBeUndefined();
    expect(tokenLayerOptions(on, layer("MatMul", 3), { ...matrix, groups: 2 }, ["N", 8, 16], 16)).toBeUndefined();
    // A batch of every sample is the Gram form's step.
    expect(tokenLayerOptions(on, layer("MatMul", 3), matrix, ["N", 8, 16], 4)).toBeUndefined();
    // Another step form asked for wins.
    expect(tokenLayerOptions({ ...on, batch: 64 }, layer("MatMul", 3), matrix, ["N", 8, 16], 16)).toBeUndefined();
    expect(tokenLayerOptions({ ...on, chunks: 4 }, layer("MatMul", 3), matrix, ["N", 8, 16], 16)).toBeUndefined();
  });

  it("reads adaroundTokenBatch as an integer ≥ 0 and refuses anything else in one line naming the key", () => {
    expect(applyRoundingOptions(ROUNDING_DEFAULTS, { adaroundTokenBatch: "32" }).adaround.tokenBatch).toBe(32);
    expect(applyRoundingOptions(ROUNDING_DEFAULTS, { adaroundTokenBatch: 0 }).adaround.tokenBatch).toBe(0);
    for (const bad of [-1, 1.5, "many"]) {
      let err: unknown;
      try {
        applyRoundingOptions(ROUNDING_DEFAULTS, { adaroundTokenBatch: bad });
      } catch (e) {
        err = e;
      }
      expect(isFixqError(err) && err.code === "usage").toBe(true);
      expect((err as Error).message).toContain("adaroundTokenBatch");
    }
  });
});

describe("token layers through the pipeline", () => {
  const rng = new Rng(11);
  // X [N, 8, 16] → MatMul [16, 24] → Relu → MatMul [24, 6] → Y; X → Flatten → Gemm [128, 5] → Z
  const g = graph(
    [node("MatMul", ["X", "W1"], ["A"]), node("Relu", ["A"], ["R"]), node("MatMul", ["R", "W2"], ["Y"]), node("Flatten", ["X"], ["F"], [int("axis", 1)]), node("Gemm", ["F", "W3"], ["Z"], [int("transB", 1)])],
    [value("X", 1, ["N", 8, 16])],
    [value("Y", 1), value("Z", 1)],
    [randTensor(rng, "W1", [16, 24], 0.3), randTensor(rng, "W2", [24, 6], 0.3), randTensor(rng, "W3", [5, 128], 0.2)],
  );
  const samples = 16;
  const feeds = arraySource({ X: { dtype: 1, dims: [samples, 8, 16], data: randn(rng, samples * 8 * 16) } });
  const codes = async (extra: RecipeInput) => {
    const q = await quantizeModel(model(g), feeds, buildRecipe({ acts: "float", batchSize: 4, weights: "int4", weightBits: 3, weightRounding: "adaround", adaroundIters: 200, ...extra }), { threads: 1 });
    const r = findReport(q.passes, "weight-rounding")!;
    for (const l of r.layers) expect(l.lossAfter).toBeLessThanOrEqual(l.lossBefore);
    return new Map(q.model.graph!.initializers.filter((t) => t.name?.endsWith("__quantized")).map((t) => [t.name!.replace("__quantized", ""), JSON.stringify(Array.from(tensorToFloat64(t)))]));
  };

  it("changes the token MatMuls' codes and not the Gemm's; an exact tail over every step or a batch of all the samples is the Gram form", async () => {
    const gram = await codes({ adaroundTokenBatch: 0 });
    const tokens = await codes({ adaroundTokenBatch: 4 });
    expect([...gram.keys()].sort()).toEqual(["W1", "W2", "W3"]);
    expect(tokens.get("W3")).toBe(gram.get("W3"));
    expect(tokens.get("W1") !== gram.get("W1") || tokens.get("W2") !== gram.get("W2")).toBe(true);
    expect(await codes({ adaroundTokenBatch: 4, adaroundExactTail: 1 })).toEqual(gram);
    expect(await codes({ adaroundTokenBatch: samples })).toEqual(gram);
  }, 120_000);

  it("writes a byte-identical model at 1 and 2 threads (W1's steps, 24 × 16 × 64 columns, run in ORT's Loop)", async () => {
    const bytes = async (threads: number) => {
      const q = await quantizeModel(model(g), feeds, buildRecipe({ acts: "float", batchSize: 4, weights: "int4", weightBits: 3, weightRounding: "adaround", adaroundIters: 60, adaroundTokenBatch: 8 }), { threads });
      return Buffer.from(encodeModel(q.model)).toString("base64");
    };
    expect(await bytes(2)).toBe(await bytes(1));
  }, 120_000);
});
