/**
 * Per-layer formats from the recipe's `layers` rules: the resolved plan gives
 * every quantized tensor its format, the writers honour mixed formats in one
 * model (and ONNX Runtime loads and runs it), and every mistake in a rule is
 * one usage error naming the rule and the key.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy } from "../../src/io/npy.js";
import { readTensorFile } from "../../src/io/npz.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { globToRegExp } from "../../src/quant/layer-rules.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { closestKey } from "../../src/quant/recipe-schema.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { fixq } from "../helpers/fixq-cli.js";
import { graph, model, node, value } from "../ir/builders.js";
import { tensor } from "../passes/float-helpers.js";

const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
const images = readNpy(join(MODELS_DIR, "data/calib.npy")).data as Float32Array;
const cnn = () => loadModel(join(MODELS_DIR, "cnn.onnx"));
const tmp = mkdtempSync(join(tmpdir(), "fixq-layers-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function quantizeCnn(input: RecipeInput) {
  const m = cnn();
  const q = await quantizeModel(m, arraySource(feedsFor(m.graph!, calib, "calib.npy", 64)), buildRecipe(input), { threads: 1 });
  // Every mixed model must load and run in ONNX Runtime.
  const s = await OrtSession.create(q.model, { threads: 1 });
  try {
    const out = await s.run({ input: { dtype: 1, dims: [2, 1, 28, 28], data: images.subarray(0, 2 * 784) } });
    expect((out["logits"]!.data as Float32Array).every(Number.isFinite)).toBe(true);
  } finally {
    await s.release();
  }
  const row = (tensor: string) => q.formats.find((f) => f.tensor === tensor);
  return { ...q, row };
}

describe("globs", () => {
  it("* spans '/', ? is one character, the rest is literal", () => {
    expect(globToRegExp("/features/*").test("/features/features.0/Conv")).toBe(true);
    expect(globToRegExp("/fc?/Gemm").test("/fc1/Gemm")).toBe(true);
    expect(globToRegExp("/fc?/Gemm").test("/fc12/Gemm")).toBe(false);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
  });
});

describe("mixed formats in one model (cnn)", () => {
  it("int4 Gemm weights next to int8 Conv weights; a skipped stem stays float", async () => {
    const q = await quantizeCnn({ layers: [{ match: { op: "Gemm" }, weights: "int4" }, { match: { name: "/features/features.0/*" }, skip: true }] });
    expect(q.row("fc1.weight")).toMatchObject({ role: "weight", format: "int4[-7,7]", granularity: "per-channel", rule: 0 });
    expect(q.row("features.3.weight")).toMatchObject({ format: "int8[-64,64]", rule: null });
    expect(q.row("features.0.weight")).toBeUndefined();
    expect(q.decisions.find((d) => d.node.name === "/features/features.0/Conv")!.reason).toBe("skipped by layers[1]");
    const init = (n: string) => q.model.graph!.initializers.find((t) => t.name === n)!;
    expect(init("fc1.weight__quantized").dtype).toBe(22); // INT4
    expect(init("features.3.weight__quantized").dtype).toBe(3); // INT8
  });

  it("FP8 weights in one layer, int8 in the next; blocks in one layer only", async () => {
    const q = await quantizeCnn({ layers: [{ match: { name: "/fc1/Gemm" }, weights: "fp8-e4m3" }, { match: { name: "/fc2/Gemm" }, weights: "int4-block:16" }] });
    expect(q.row("fc1.weight")).toMatchObject({ format: "fp8-e4m3", granularity: "per-channel", rule: 0 });
    expect(q.row("fc2.weight")).toMatchObject({ format: "int4[-7,7]", granularity: "per-block:16", rule: 1 });
    expect(q.row("features.6.weight")).toMatchObject({ format: "int8[-64,64]", granularity: "per-channel" });
    // An FP8-weight layer keeps a float bias; the int8 layers' biases are int32.
    expect(q.row("fc1.bias")).toBeUndefined();
    expect(q.row("features.6.bias")).toMatchObject({ role: "bias", format: "int32" });
  });

  it("int16 activations in one branch: the rule's node's output, and only it", async () => {
    const q = await quantizeCnn({ layers: [{ match: { name: "/features/features.3/Conv" }, acts: "int16" }] });
    // The Conv's Relu is fused: the quantized tensor is the Relu's output, decided by the Conv's rule.
    expect(q.row("/features/features.4/Relu_output_0")).toMatchObject({ role: "activation", format: "int16", calibration: "minmax", rule: 0 });
    expect(q.row("/features/features.1/Relu_output_0")).toMatchObject({ format: "uint8", rule: null });
    // The rule's weights default to int16 activations' weight bits: 8 (the 7-bit narrowing is for 8-bit activations).
    expect(q.row("features.3.weight")).toMatchObject({ format: "int8[-127,127]", rule: 0 });
  });

  it("a per-layer calibration method is used for that layer's output", async () => {
    const q = await quantizeCnn({ layers: [{ match: { name: "/fc1/Gemm" }, calibration: "percentile:99" }] });
    expect(q.row("/relu/Relu_output_0")).toMatchObject({ calibration: "percentile:99", rule: 0 });
    expect(q.row("/features/features.1/Relu_output_0")).toMatchObject({ calibration: "minmax" });
  });
});

describe("rule mistakes: one usage error naming the rule and the key", () => {
  const m = cnn();
  const run = (input: RecipeInput) => quantizeModel(m, arraySource(feedsFor(m.graph!, calib, "calib.npy", 8)), buildRecipe({ ...input, recipeFile: "r.json" }), { threads: 1 });

  it("a rule that matches no node", async () => {
    await expect(run({ layers: [{ match: { op: "Softmax" }, weights: "int4" }] })).rejects.toThrow(/^r\.json: layers\[0\]\.match \{"op":\["Softmax"\]\} matches no node of the model$/);
  });

  it("a rule shadowed by an earlier one", async () => {
    await expect(run({ layers: [{ match: { op: "Gemm" }, weights: "int4" }, { match: { name: "/fc1/Gemm" }, weights: "int8" }] })).rejects.toThrow(/layers\[1\].*matches only nodes that earlier rules take/);
  });

  it("readers asking for different activation formats name both rules", async () => {
    // x is read by two Convs whose rules want different activation formats for it.
    const w = tensor("w", [2, 1, 1, 1], [0.5, -0.25]);
    const g = graph([node("Conv", ["x", "w"], ["a"], [], "a"), node("Conv", ["x", "w"], ["b"], [], "b"), node("Add", ["a", "b"], ["y"], [], "add")], [value("x", 1, ["n", 1, 2, 2])], [value("y", 1, ["n", 2, 2, 2])], [w]);
    const source = arraySource({ x: { dtype: 1, dims: [4, 1, 2, 2], data: Float32Array.from({ length: 16 }, (_, i) => i / 16) } });
    const recipe = buildRecipe({ recipeFile: "r.json", layers: [{ match: { name: "a" }, acts: "int16" }, { match: { name: "b" }, acts: "int8" }] });
    await expect(quantizeModel(model(g, 17), source, recipe, { threads: 1 })).rejects.toThrow("r.json: tensor 'x' is read by nodes whose rules ask for different activation formats: layers[0] (acts int16) and layers[1] (acts int8)");
  });

  it("bad values inside a rule name the rule", () => {
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [{ match: { op: "Gemm" }, weights: "int9" }] })).toThrow(/^r\.json: layers\[0\]: /);
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [{ match: { op: "Gemm" }, weigths: "int4" }] })).toThrow("r.json: unknown key 'layers[0].weigths' (did you mean 'weights'?)");
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [{ match: { opp: "Gemm" } }] })).toThrow("unknown key 'layers[0].match.opp' (did you mean 'op'?)");
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [{ match: { op: "Gemm" }, weightBits: true }] })).toThrow("'layers[0].weightBits' must be a number or a string, got boolean true");
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [{ weights: "int4" }] })).toThrow("'layers[0].match' is missing");
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [{ match: { nameRegex: "(" } }] })).toThrow(/nameRegex' is not a valid regular expression/);
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [{ match: { op: "Gemm" }, weightRounding: "adaroun" }] })).toThrow(/r.json.*layers\[0\]\.weightRounding. must be one of nearest, gptq, adaround, got .adaroun./);
  });

  it("--exclude naming nothing in the model is refused", async () => {
    await expect(run({ exclude: ["NoSuchNode"] })).rejects.toThrow("exclude 'NoSuchNode' names no node and no op type of the model");
    await expect(run({ exclude: ["/fc2/Gemm", "Relu"] })).resolves.toBeDefined();
  });

  it("closest keys: typos get a suggestion, unrelated words none", () => {
    expect(closestKey("granularty", ["granularity", "weights"])).toBe("granularity");
    expect(closestKey("zzzzzz", ["granularity", "weights"])).toBeUndefined();
  });
});

describe("recipe files through the CLI: exit 2, one line naming the file and the key", () => {
  const write = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };
  const cases: [string, string, RegExp][] = [
    ["typo.json", `{"granularty": "per-tensor"}`, /typo\.json: unknown key 'granularty' \(did you mean 'granularity'\?\)/],
    ["array.json", `[{"weights": "int4"}]`, /array\.json: the top level must be a JSON object, got array/],
    ["type.json", `{"cle": "yes"}`, /type\.json: 'cle' must be a boolean, got string "yes"/],
    ["nomatch.json", `{"layers": [{"match": {"name": "/nope/*"}, "weights": "int4"}]}`, /nomatch\.json: layers\[0\]\.match \{"name":"\/nope\/\*"\} matches no node of the model/],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => {
      const r = fixq("quantize", join(MODELS_DIR, "cnn.onnx"), "-o", join(tmp, `${name}.onnx`), "--recipe", write(name, text), "--calib-samples", "8");
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    });
  }
});
