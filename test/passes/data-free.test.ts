/**
 * Data-free mode (quant/data-free-ranges.ts and quantizeModel with dataFree):
 *  - ranges on a hand-built graph: the assumed input range, interval
 *    arithmetic through a padded conv without BN, β ± 6|γ| clipped by ReLU6,
 *    per-channel sums, pooling and a Gemm after Flatten;
 *  - a value whose range cannot be derived is refused with its name;
 *  - on the bundled BN models, with a data source that throws when touched at
 *    all: the model quantizes, runs, and stays within 1.5 points of float
 *    top-1 on the 2,000 evaluation images (per-channel 7-bit weights, the
 *    default); the BN ranges are compared with calibrated MinMax ranges.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { evaluateClassifier } from "../../src/eval/classify.js";
import { readNpy } from "../../src/io/npy.js";
import { isFixqError } from "../../src/ir/errors.js";
import { type Graph, metadataOf } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { prepareFloatModel } from "../../src/passes/pipeline.js";
import { findReport } from "../../src/quant/stage.js";
import { calibrate } from "../../src/quant/calibrate.js";
import { dataFreeRanges } from "../../src/quant/data-free-ranges.js";
import { arraySource, type DataSource } from "../../src/quant/feeds.js";
import { planQuantization } from "../../src/quant/plan.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import type { StreamingExtremes } from "../../src/calib/extremes.js";
import { graph, int, ints, node, value } from "../ir/builders.js";
import { evalImages, evalLabels, tensor } from "./float-helpers.js";

/** A data source that fails the test if anything asks it for data, even its size. */
const untouchable: DataSource = {
  get count(): number {
    throw new Error("data-free mode read the sample count");
  },
  batch() {
    throw new Error("data-free mode read calibration data");
  },
  close() {},
};

//  x [0,1] → Conv 3×3 pad 1 (c1, no BN) → h → Relu → r ─────────────┐
//  r → Conv 1×1 (c2) → y (BN: β = [1, −1], γ = [0.5, −2]) → Clip(0, 6) → z → Add → s
//  z → GlobalAveragePool → p → Flatten → f → Gemm (fc) → logits
const W1 = [0.5, -0.25, 0, 0, 1, 0, 0, 0, -0.5, /* channel 1 */ 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
function tiny(): Graph {
  return {
    ...graph(
      [
        node("Conv", ["x", "W1", "B1"], ["h"], [ints("pads", [1, 1, 1, 1])], "c1"),
        node("Relu", ["h"], ["r"]),
        node("Conv", ["r", "W2", "B2"], ["y"], [int("group", 1)], "c2"),
        node("Clip", ["y", "zero", "six"], ["z"]),
        node("Add", ["z", "r"], ["s"]),
        node("GlobalAveragePool", ["z"], ["p"]),
        node("Flatten", ["p"], ["f"]),
        node("Gemm", ["f", "W3", "B3"], ["logits"], [int("transB", 1)], "fc"),
      ],
      [value("x", 1, ["n", 1, 4, 4])],
      [value("logits", 1, ["n", 2]), value("s", 1, ["n", 2, 4, 4])],
      [
        tensor("W1", [2, 1, 3, 3], W1),
        tensor("B1", [2], [0.2, -0.1]),
        tensor("W2", [2, 2, 1, 1], [1, 0.5, -1, 2]),
        tensor("B2", [2], [1, -1]),
        tensor("zero", [], [0]),
        tensor("six", [], [6]),
        tensor("W3", [2, 2], [1, -1, 0.5, 2]),
        tensor("B3", [2], [0, 1]),
      ],
    ),
    bnStats: new Map([["y", { beta: Float64Array.of(1, -1), gamma: Float64Array.of(0.5, -2) }]]),
  };
}

describe("dataFreeRanges: before/expected", () => {
  const needed = ["x", "h", "r", "z", "s", "p", "logits"];
  it("input range, interval arithmetic (padding reads 0), β ± 6|γ| clipped, sums, pooling, Gemm after Flatten", () => {
    const { ranges, report } = dataFreeRanges(tiny(), needed, { inputRange: [0, 1] });
    // h: Σ_{w>0} w·[0, 1] + Σ_{w<0} w·[0, 1] + b: channel 0 [−0.75 + 0.2, 1.5 + 0.2], channel 1 [−0.1, 0.9 − 0.1].
    const h = [{ lo: -0.55, hi: 1.7 }, { lo: -0.1, hi: 0.8 }];
    const r = h.map((c) => ({ lo: 0, hi: c.hi }));
    // z: β ± 6|γ| = [−2, 4] and [−13, 11], clipped to [0, 6]: [0, 4] and [0, 6]; pooling keeps them.
    const z = [{ lo: 0, hi: 4 }, { lo: 0, hi: 6 }];
    const s = z.map((c, i) => ({ lo: c.lo + r[i]!.lo, hi: c.hi + r[i]!.hi }));
    // logits = W3·f + b (transB: rows are outputs), per input channel: o0 = f0 − f1 ∈ [0 − 6, 4 − 0],
    // o1 = 0.5 f0 + 2 f1 + 1 ∈ [1, 15].
    const logits = { lo: -6, hi: 15 };
    const span = (cs: { lo: number; hi: number }[]) => ({ lo: Math.min(...cs.map((c) => c.lo)), hi: Math.max(...cs.map((c) => c.hi)) });
    const want = { x: { lo: 0, hi: 1 }, h: span(h), r: span(r), z: span(z), s: span(s), p: span(z), logits };
    for (const [k, v] of Object.entries(want)) {
      expect(ranges.get(k)!.lo, k).toBeCloseTo(v.lo, 6);
      expect(ranges.get(k)!.hi, k).toBeCloseTo(v.hi, 6);
    }
    expect(report).toEqual({ pass: "data-free-ranges", sigmas: 6, inputRange: [0, 1], fromBn: 2, fromInput: 1, fromIntervals: 4 });
  });

  const refuse = (g: Graph, want: readonly string[], opts: Parameters<typeof dataFreeRanges>[2], msg: RegExp) => {
    try {
      dataFreeRanges(g, want, opts);
      expect.unreachable();
    } catch (e) {
      expect(isFixqError(e) && e.code).toBe("unsupported");
      expect((e as Error).message).toMatch(msg);
    }
  };

  it("refuses a value it cannot bound, naming it: no input range, or an op it does not model", () => {
    refuse(tiny(), needed, {}, /^data-free: no range for 'x': graph input 'x' has no assumed range \(give --input-range LO,HI\)$/);
    const g = tiny();
    const erf = { ...g, nodes: g.nodes.map((n) => (n.opType === "Relu" ? { ...n, opType: "Erf" } : n)) };
    refuse(erf, needed, { inputRange: [0, 1] }, /^data-free: no range for 'r': Erf is not modelled$/);
  });

  it("refuses a range that would take interval arithmetic through two layers without BN (it compounds)", () => {
    const g = { ...tiny(), bnStats: undefined };
    expect(dataFreeRanges(g, ["r"], { inputRange: [0, 1] }).ranges.get("r")).toBeDefined();
    refuse(g, ["z"], { inputRange: [0, 1] }, /^data-free: no range for 'z': interval arithmetic through 2 layers without BN statistics \(c1, c2\) compounds into a useless range; calibrate it, or quantize the model with its BatchNormalization kept$/);
  });
});

describe("quantizeModel --data-free on the bundled models, with a data source that throws if touched", () => {
  const n = 2000;
  for (const name of ["mobilenetv2.bn", "mobilenetv2.nowd.bn", "resnet.bn"]) {
    it(`${name}: quantizes without data; top-1 within 1.5 points of float`, async () => {
      const model = loadModel(join(MODELS_DIR, `${name}.onnx`));
      const q = await quantizeModel(model, untouchable, buildRecipe({ dataFree: true, inputRange: [0, 1] }), { threads: 1 });
      // resnet.bn's two Identity of shared BN parameters fold first.
      const folds = name === "resnet.bn" ? ["fold-constants"] : [];
      expect(q.passes.map((p) => p.name)).toEqual([...folds, "fold-batchnorm", "fold-affine", "equalize", "absorb-bias", "data-free-ranges", "bias-correction"]);
      expect(findReport(q.passes, "bias-correction")).toMatchObject({ mode: "analytic", runs: 0 });
      expect(findReport(q.passes, "data-free-ranges")!.fromBn).toBeGreaterThan(10);
      expect(JSON.parse(Object.fromEntries(metadataOf(q.model))["fixq.calibration"]!)).toEqual({ dataFree: true, inputRange: [0, 1], bnRangeSigmas: 6 });
      const [f, d] = [await evaluateClassifier(model, evalImages(n), evalLabels(n), { threads: 1 }), await evaluateClassifier(q.model, evalImages(n), evalLabels(n), { threads: 1 })];
      console.log(`${name} data-free (per-channel 7-bit weights): top-1 ${(100 * f.top1).toFixed(2)}% float → ${(100 * d.top1).toFixed(2)}% on ${n} images`);
      expect(f.top1 - d.top1).toBeLessThanOrEqual(0.015);
    });
  }

  it("refuses a model whose BNs the exporter folded (no statistics: ranges would compound through every layer)", async () => {
    const model = loadModel(join(MODELS_DIR, "resnet.onnx"));
    await expect(quantizeModel(model, untouchable, buildRecipe({ dataFree: true, inputRange: [0, 1] }))).rejects.toThrow(
      /^data-free: no range for '\/layer1\/relu\/Relu_output_0': interval arithmetic through 2 layers without BN statistics \(\/stem\/stem\.0\/Conv, \/layer1\/conv1\/Conv\)/,
    );
  });

  it("refuses empirical bias correction, and --data-free without an input range names the input", async () => {
    expect(() => buildRecipe({ dataFree: true, biasCorrection: "empirical" })).toThrow(/empirical needs calibration data/);
    const model = loadModel(join(MODELS_DIR, "resnet.bn.onnx"));
    await expect(quantizeModel(model, untouchable, buildRecipe({ dataFree: true }))).rejects.toThrow(/no range for 'input'.*--input-range/);
  });

  it("the recipe: --data-free turns on CLE, absorption and analytic correction unless the recipe sets them", () => {
    expect(buildRecipe({ dataFree: true })).toMatchObject({ dataFree: true, cle: true, absorbBias: true, biasCorrection: "analytic" });
    expect(buildRecipe({ cle: false }, { dataFree: true, biasCorrection: "none" })).toMatchObject({ cle: false, absorbBias: true, biasCorrection: "none" });
    expect(buildRecipe({ inputRange: "-1, 1" }).inputRange).toEqual([-1, 1]);
    expect(() => buildRecipe({ inputRange: "1,0" })).toThrow(/LO < HI/);
    expect(() => buildRecipe({ biasCorrection: "magic" })).toThrow(/--bias-correction must be one of none, empirical, analytic/);
  });
});

describe("BN ranges against calibrated MinMax (why n = 6)", () => {
  for (const name of ["mobilenetv2.bn", "resnet.bn"]) {
    it(`${name}: β ± 6|γ| ranges are 0.8–1.8× as wide as MinMax on 512 images, except pooled and interval-arithmetic tensors`, async () => {
      const recipe = buildRecipe({ cle: true, absorbBias: true });
      const m = prepareFloatModel(loadModel(join(MODELS_DIR, `${name}.onnx`)), recipe).model;
      const plan = planQuantization(m.graph!, recipe);
      const { ranges } = dataFreeRanges(m.graph!, plan.activations, { inputRange: [0, 1] });
      const calib = readNpy(join(MODELS_DIR, "data/calib.npy"));
      const src = arraySource({ input: { dtype: 1, dims: calib.shape, data: calib.data as Float32Array } });
      const cal = await calibrate(m, src, plan.activations, { batchSize: 128, statistics: "extremes", threads: 1 });
      const ratios: number[] = [];
      for (const t of plan.activations) {
        if (/GlobalAveragePool|logits|^input$/.test(t)) continue;
        const c = cal.histograms.get(t) as StreamingExtremes;
        const d = ranges.get(t)!;
        ratios.push((Math.max(d.hi, 0) - Math.min(d.lo, 0)) / (Math.max(c.max, 0) - Math.min(c.min, 0)));
      }
      console.log(`${name}: data-free/MinMax range width over ${ratios.length} tensors: min ${Math.min(...ratios).toFixed(2)}, median ${ratios.sort((a, b) => a - b)[ratios.length >> 1]!.toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}`);
      expect(Math.min(...ratios)).toBeGreaterThan(0.75);
      expect(Math.max(...ratios)).toBeLessThan(1.8);
    });
  }
});
