/**
 * The narrow integer weight names int2, int3, int5, int6 and int7: b-bit
 * symmetric codes ±(2^(b−1)−1) stored in INT4 (b ≤ 4) or INT8, annotated with
 * exactly that range, globally and in a `layers` rule; the model runs in ONNX
 * Runtime and every stored weight code lies in the range.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readTensorFile } from "../../src/io/npz.js";
import { DataType } from "../../src/ir/dtype.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { parseWeightType } from "../../src/quant/format-names.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";

const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));

async function quantizeCnn(input: RecipeInput) {
  const m = loadModel(join(MODELS_DIR, "cnn.onnx"));
  const q = await quantizeModel(m, arraySource(feedsFor(m.graph!, calib, "calib.npy", 64)), buildRecipe(input), { threads: 1 });
  const s = await OrtSession.create(q.model, { threads: 1 });
  await s.release();
  return q;
}

describe("narrow integer weight names", () => {
  it("map to INT4 or INT8 storage with the value bits", () => {
    expect(parseWeightType("int2")).toEqual({ weights: "int4", weightBits: 2 });
    expect(parseWeightType("int3")).toEqual({ weights: "int4", weightBits: 3 });
    expect(parseWeightType("int5")).toEqual({ weights: "int8", weightBits: 5 });
    expect(parseWeightType("int7")).toEqual({ weights: "int8", weightBits: 7 });
    expect(() => parseWeightType("int9")).toThrow(/--weights must be one of .*int2, int3, int5, int6, int7/);
  });

  it("are annotated with exactly ±(2^(b−1)−1), int7 as ±63 (not the default int8's ±64), and the stored codes stay inside", async () => {
    const q = await quantizeCnn({ weights: "int7", layers: [{ match: { op: "Gemm" }, weights: "int3" }, { match: { name: "/features/features.3/*" }, weights: "int5" }] });
    const row = (t: string) => q.formats.find((f) => f.tensor === t);
    expect(row("features.0.weight")?.format).toBe("int7[-63,63]");
    expect(row("features.3.weight")?.format).toBe("int5[-15,15]");
    expect(row("fc1.weight")?.format).toBe("int3[-3,3]");
    const stored = (name: string) => {
      const t = q.model.graph!.initializers.find((i) => i.name === `${name}__quantized`)!;
      const v = tensorToFloat64(t);
      return { dtype: t.dtype, lo: Math.min(...v), hi: Math.max(...v) };
    };
    // Codes reach the range's ends (nearest rounding of the per-channel max) and never leave it.
    expect(stored("features.0.weight")).toEqual({ dtype: DataType.INT8, lo: -63, hi: 63 });
    expect(stored("features.3.weight")).toEqual({ dtype: DataType.INT8, lo: -15, hi: 15 });
    expect(stored("fc1.weight")).toEqual({ dtype: DataType.INT4, lo: -3, hi: 3 });
  });

  it("int8 under 8-bit activations keeps its documented ±64", async () => {
    const q = await quantizeCnn({ weights: "int8" });
    expect(q.formats.find((f) => f.tensor === "features.0.weight")?.format).toBe("int8[-64,64]");
  });
});
