/**
 * The activation formats in the measured sensitivity, and the local search
 * through allocateMixed, on the bundled CNN:
 * - candidates that differ only in activations no longer tie: with uint16
 *   activations every layer moves the output less than with uint8 (a grid
 *   256 times finer), with int8 or int4 weights alike;
 * - the search keeps an assignment within budget whose error is no worse than
 *   the ILP optimum's, and the error it reports is the KL divergence
 *   recomputed here from the model its rules give.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { readTensorFile } from "../../../src/io/npz.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { arraySource, feedsFor } from "../../../src/quant/feeds.js";
import { allocateMixed } from "../../../src/quant/mixed/allocate.js";
import { decidedActivations } from "../../../src/quant/mixed/activation-formats.js";
import { parseBudgets } from "../../../src/quant/mixed/budget.js";
import { mixedSites } from "../../../src/quant/mixed/layers.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { prepareFloatModel } from "../../../src/passes/pipeline.js";
import { OrtSession } from "../../../src/runtime/ort-session.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll } from "vitest";

const tmp = mkdtempSync(join(tmpdir(), "fixq-mixed-acts-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const model = loadModel(join(MODELS_DIR, "cnn.onnx"));
const feeds = feedsFor(model.graph!, readTensorFile(join(MODELS_DIR, "data/calib.npy")), "calib.npy", 64);
const source = () => arraySource(feeds);
const recipe = buildRecipe({});

describe("mixed precision measures activation formats", () => {
  it("each layer decides its output after the fused Relu, the first layer the graph input too", () => {
    const g = prepareFloatModel(model, recipe).model.graph!;
    const decided = decidedActivations(g, recipe, mixedSites(g, recipe));
    const reluAfter = (i: number) => g.nodes[g.nodes.findIndex((n) => n.outputs[0] === mixedSites(g, recipe)[i]!.node.outputs[0]) + 1]!;
    expect(decided).toEqual([[reluAfter(0).outputs[0], "input"], [reluAfter(1).outputs[0]], [reluAfter(2).outputs[0]], [reluAfter(3).outputs[0]], ["logits"]]);
    expect([0, 1, 2, 3].map((i) => reluAfter(i).opType)).toEqual(["Relu", "Relu", "Relu", "Relu"]);
  });

  it("candidates differing only in activations get different sensitivities, uint16 below uint8", async () => {
    const a = await allocateMixed(model, source(), recipe, { candidates: "int8/uint8,int8/uint16,int4/uint8,int4/uint16", budgets: parseBudgets(["bops=60%"]), cacheRoot: join(tmp, "acts"), samples: 32, threads: 1 });
    if (a.kind !== "solved") throw new Error("expected a solution");
    for (const l of a.report.layers) {
      expect(l.costs["int8/uint16"]!.sensitivity, l.node).toBeLessThan(l.costs["int8/uint8"]!.sensitivity);
      expect(l.costs["int4/uint16"]!.sensitivity, l.node).toBeLessThan(l.costs["int4/uint8"]!.sensitivity);
      expect(l.costs["int8/uint16"]!.bops).toBe(2 * l.costs["int8/uint8"]!.bops);
    }
  });

  it("the search keeps an assignment within budget no worse than the ILP optimum, with its KL recomputed", async () => {
    const samples = 64;
    const recipeWith = (rules: Parameters<typeof buildRecipe>[0]["layers"]) => buildRecipe({ layers: rules });
    const a = await allocateMixed(model, source(), recipe, { candidates: "int4,int6,int8", budgets: parseBudgets(["size=75%"]), cacheRoot: join(tmp, "search"), samples: 32, threads: 1, search: { evaluations: 5, samples, recipeWith } });
    if (a.kind !== "solved") throw new Error("expected a solution");
    const s = a.report.search!;
    expect(s.evaluations).toBeGreaterThan(1);
    expect(s.evaluations).toBeLessThanOrEqual(5);
    expect(s.kept.measured).toBeLessThanOrEqual(s.ilp.measured);
    expect(a.report.budgets.size!.used).toBeLessThanOrEqual(a.report.budgets.size!.limit);
    expect(a.report.objective).toBeCloseTo(a.report.layers.reduce((t, l) => t + l.costs[l.chosen]!.sensitivity, 0), 12);
    for (const l of a.report.layers) expect(l.chosen).toBe(s.kept.choice[l.group]);
    // KL(softmax(float) ‖ softmax(quantized)) averaged over the samples, from the model the rules give.
    const q = await quantizeModel(model, source(), recipeWith(a.rules), { threads: 1 });
    const logits = async (m: typeof model) => {
      const ses = await OrtSession.create(m, { threads: 1 });
      try {
        return (await ses.run({ [ses.inputNames[0]!]: feeds[ses.inputNames[0]!]! }))[ses.outputNames[0]!]!.data as Float32Array;
      } finally {
        await ses.release();
      }
    };
    const [p, r] = [await logits(model), await logits(q.model)];
    let kl = 0;
    for (let n = 0; n < samples; n++) {
      const row = (v: Float32Array) => Array.from(v.subarray(n * 10, n * 10 + 10));
      const lse = (v: number[]) => Math.log(v.reduce((t, x) => t + Math.exp(x), 0));
      const [a1, b1] = [row(p), row(r)];
      const [la, lb] = [lse(a1), lse(b1)];
      for (let j = 0; j < 10; j++) kl += Math.exp(a1[j]! - la) * (a1[j]! - la - (b1[j]! - lb));
    }
    expect(s.kept.measured).toBeCloseTo(kl / samples, 6);
  });
});
