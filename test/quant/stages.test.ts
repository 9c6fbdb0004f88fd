/**
 * The quantization pipeline is one list of named stages: every stage is
 * reported in order with whether it ran and why (the recipe key),
 * `--verify-each` names the stage that broke the model, and the JSON summary
 * lists the stages and the format of every quantized tensor.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readTensorFile } from "../../src/io/npz.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import type { Stage } from "../../src/quant/stage.js";
import { fixq } from "../helpers/fixq-cli.js";

const calib = readTensorFile(join(MODELS_DIR, "data/calib.npy"));
const tmp = mkdtempSync(join(tmpdir(), "fixq-stages-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ORDER = ["fold-constants", "fuse-layernorm", "fold-batchnorm", "fold-affine", "relu6-to-relu", "equalize", "absorb-bias", "upgrade-opset", "plan", "reader-bounds", "ranges", "specs", "round-weights", "bias-correction", "int32-biases", "write", "provenance", "verify"];

async function quantize(name: string, input: RecipeInput, stages?: (s: Stage[]) => Stage[], verifyEach = false) {
  const m = loadModel(join(MODELS_DIR, `${name}.onnx`));
  return quantizeModel(m, arraySource(feedsFor(m.graph!, calib, "calib.npy", 32)), buildRecipe(input), { threads: 1, stages, verifyEach });
}

describe("the stage list", () => {
  it("default recipe: every stage in order; those the recipe turns off say which key", async () => {
    const q = await quantize("resnet.bn", {});
    expect(q.stages.map((s) => s.name)).toEqual(ORDER);
    const by = new Map(q.stages.map((s) => [s.name, s]));
    expect(by.get("fold-batchnorm")).toMatchObject({ ran: true, reason: "always", changed: true });
    expect(by.get("equalize")).toMatchObject({ ran: false, reason: "cle: false" });
    expect(by.get("bias-correction")).toMatchObject({ ran: false, reason: "biasCorrection: none" });
    expect(by.get("ranges")).toMatchObject({ ran: true, reason: "calibration: minmax" });
    expect(by.get("round-weights")).toMatchObject({ ran: true, reason: "weightRounding: nearest" });
    for (const s of q.stages) expect(s.ms).toBeGreaterThanOrEqual(0);
  });

  it("data-free with CLE: the data-free stages run, each under its recipe key", async () => {
    const q = await quantize("mobilenetv2.bn", { dataFree: true, inputRange: [0, 1] });
    const by = new Map(q.stages.map((s) => [s.name, s]));
    expect(by.get("equalize")).toMatchObject({ ran: true, reason: "cle: true" });
    expect(by.get("ranges")!.reason).toMatch(/^dataFree: true/);
    expect(by.get("bias-correction")).toMatchObject({ ran: true, reason: "biasCorrection: analytic" });
    expect(q.passes.map((p) => p.name)).toEqual(["fold-batchnorm", "fold-affine", "equalize", "absorb-bias", "data-free-ranges", "bias-correction"]);
  });

  it("--verify-each names the stage that broke the model; without it the final verify still refuses it", async () => {
    const breaker: Stage = {
      name: "dangling-input",
      reason: "test",
      run(state) {
        const g = state.model.graph!;
        state.model = { ...state.model, graph: { ...g, nodes: [...g.nodes, { opType: "Relu", name: "bad", inputs: ["nowhere"], outputs: ["bad_out"], attributes: [] }] } };
        state.specified = undefined;
        return {};
      },
    };
    const insert = (stages: Stage[]) => stages.flatMap((s) => (s.name === "plan" ? [breaker, s] : [s]));
    await expect(quantize("cnn", {}, insert, true)).rejects.toThrow(/after stage 'dangling-input'/);
  });
});

describe("fixq quantize --json", () => {
  it("lists the stages and the format of every quantized tensor; text mode prints the formats", () => {
    const out = join(tmp, "cnn.onnx");
    const r = fixq("quantize", join(MODELS_DIR, "cnn.onnx"), "-o", out, "--calib-samples", "16", "--json", "--verify-each");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.stages.map((x: { name: string }) => x.name)).toEqual(ORDER);
    expect(s.stages[0]).toEqual({ name: "fold-constants", ms: expect.any(Number), ran: false, reason: "no layout op computes from constants only" });
    expect(s.stages[1]).toEqual({ name: "fuse-layernorm", ms: expect.any(Number), ran: false, reason: "no decomposed LayerNorm or RMSNorm" });
    expect(s.stages[2]).toEqual({ name: "fold-batchnorm", ms: expect.any(Number), ran: true, reason: "always" });
    const weights = s.formats.filter((f: { role: string }) => f.role === "weight");
    expect(weights).toHaveLength(5);
    expect(weights[0]).toEqual({ tensor: "features.0.weight", role: "weight", format: "int8[-64,64]", granularity: "per-channel", rounding: "nearest", calibration: "", rule: null });
    expect(s.formats.find((f: { tensor: string }) => f.tensor === "input")).toMatchObject({ role: "activation", format: "uint8", granularity: "per-tensor", calibration: "minmax" });
    const t = fixq("quantize", join(MODELS_DIR, "cnn.onnx"), "-o", join(tmp, "cnn2.onnx"), "--calib-samples", "16");
    expect(t.status).toBe(0);
    expect(t.stderr).toMatch(/weight\s+int8\[-64,64\]\s+per-channel\s+5×/);
    expect(t.stderr).toMatch(/stages {2}fold-batchnorm \d+ ms/);
  });
});
