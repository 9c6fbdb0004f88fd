/**
 * Bias correction on the bundled BN models (folded by fixq, BN statistics kept):
 *  - the analytic path's E[x] per input channel agrees with the empirical
 *    means of the float model on the 512 calibration images. Tolerance: per
 *    layer, the mean |analytic − empirical| over channels ≤ 0.1 (inputs are
 *    ReLU/ReLU6 outputs or residual sums, per-channel means up to ≈ 1), and
 *    over all channels of a model Σ|analytic − empirical| ≤ 0.2·Σ|empirical|,
 *    with a correlation ≥ 0.9. A zero (or constant) stub fails the last two.
 *    The residual is the BN model's error: running statistics are not the
 *    calibration set's, and activations are not exactly normal.
 *  - run before and after, per-tensor INT8, fake-quant, per output channel of
 *    every quantized layer, on the calibration images it was fitted on and on
 *    1,000 evaluation images:
 *    - empirical correction targets the total error |E[ŷ] − E[y_float]|
 *      (the quantized model's layer output against the float model's) and
 *      must cut it 10×;
 *    - analytic correction targets the layer's own weight error,
 *      |E[ŷ] − E[W ∗ x̃ + b]| (x̃: the layer's input in the quantized model,
 *      W and b the float weights and bias), and must cut that by half. It
 *      cannot see the shift that arrives from the layers before (it has no
 *      data), so the total error falls far less; that figure is printed.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy } from "../../src/io/npy.js";
import type { Model } from "../../src/ir/graph.js";
import { inferTypes } from "../../src/ir/infer-types.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { analyticInputMeans } from "../../src/quant/bias-correction.js";
import { foldBatchNorm } from "../../src/passes/fold-batchnorm.js";
import { GraphEdit } from "../../src/passes/graph-edit.js";
import { graphLayers, type Layer } from "../../src/passes/layers.js";
import { findReport } from "../../src/quant/stage.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { channelMeans } from "../../src/quant/channel-means.js";
import { arraySource, type DataSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { values } from "../passes/float-helpers.js";

const images = (file: string, n: number): DataSource => {
  const x = readNpy(join(MODELS_DIR, "data", file));
  return arraySource({ input: { dtype: 1, dims: [n, 1, 28, 28], data: (x.data as Float32Array).subarray(0, n * 784) } });
};
const layersOf = (m: Model): Layer[] => graphLayers(new GraphEdit(m.graph!), inferTypes(m.graph!)).layers;

describe("analytic E[x] against the empirical means (calibration set)", () => {
  for (const name of ["mobilenetv2.bn", "mobilenetv2.nowd.bn", "resnet.bn"]) {
    it(name, async () => {
      const m0 = loadModel(join(MODELS_DIR, `${name}.onnx`));
      const m = { ...m0, graph: foldBatchNorm(m0.graph!).graph };
      const { means } = analyticInputMeans(m.graph);
      const layers = layersOf(m).filter((l) => means.has(l.name));
      expect(layers.length).toBeGreaterThanOrEqual(name.startsWith("resnet") ? 7 : 22);
      const emp = await channelMeans(m, images("calib.npy", 512), layers.map((l) => ({ value: l.input, rank: l.rank, axis: l.inAxis })), { batchSize: 128, threads: 1 });
      const [a, e]: number[][] = [[], []];
      let worst = 0;
      for (const l of layers) {
        const mu = means.get(l.name)!;
        const raw = emp.get(l.input)!;
        const per = mu.length / raw.length; // a Gemm after Flatten reads channel ⌊f/per⌋
        const got = Array.from(mu, (_, f) => raw[Math.floor(f / per)]!);
        const mae = got.reduce((s, v, c) => s + Math.abs(v - mu[c]!), 0) / mu.length;
        worst = Math.max(worst, mae);
        expect(mae, l.name).toBeLessThanOrEqual(0.1);
        a.push(...mu);
        e.push(...got);
      }
      const rel = a.reduce((s, v, i) => s + Math.abs(v - e[i]!), 0) / e.reduce((s, v) => s + Math.abs(v), 0);
      const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
      const [ma, me] = [mean(a), mean(e)];
      const cov = a.reduce((s, v, i) => s + (v - ma) * (e[i]! - me), 0);
      const corr = cov / Math.sqrt(a.reduce((s, v) => s + (v - ma) ** 2, 0) * e.reduce((s, v) => s + (v - me) ** 2, 0));
      console.log(`${name}: ${layers.length} layers, ${a.length} channels; worst per-layer mean |Δ| ${worst.toFixed(3)}; Σ|Δ|/Σ|E| ${rel.toFixed(3)}; correlation ${corr.toFixed(3)}`);
      expect(rel).toBeLessThanOrEqual(0.2);
      expect(corr).toBeGreaterThanOrEqual(0.9);
    });
  }
});

/** In the QDQ model: the float value before a quantized activation's Q → DQ, and the DQ output a graph input is read as. */
function qdqNames(m: Model) {
  const nodes = m.graph!.nodes;
  const dqOf = (v: string) => nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0] === nodes.find((q) => q.opType === "QuantizeLinear" && q.inputs[0] === v)?.outputs[0]);
  return {
    before: (v: string) => nodes.find((q) => q.opType === "QuantizeLinear" && q.outputs[0] === nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === v)?.inputs[0])?.inputs[0] ?? v,
    input: (v: string) => (m.graph!.inputs.some((i) => i.name === v) ? (dqOf(v)?.outputs[0] ?? v) : v),
  };
}

/**
 * Mean over the quantized layers' output channels of |E[ŷ] − E[reference]|, where the reference is the
 * float model's output (`total`) or the float layer applied to the quantized model's input of the layer
 * (`local`); `float` holds the float model's per-channel output means on the same data.
 */
async function outputMeanErrors(float: Map<string, Float64Array>, floatModel: Model, quantized: Model, layers: readonly Layer[], data: DataSource) {
  const names = qdqNames(quantized);
  const fg = floatModel.graph!;
  const extra = layers.map((l, k) => {
    const n = fg.nodes[l.node]!;
    const [w, b] = [`probe${k}.W`, `probe${k}.B`];
    const t = (name: string, from: string) => makeFloatTensor(name, fg.initializers.find((i) => i.name === from)!.dims.map(Number), Array.from(values(fg, from)));
    return { node: { ...n, name: `probe${k}`, inputs: [names.input(l.input), w, b], outputs: [`probe${k}.y`] }, inits: [t(w, l.weight), t(b, l.bias!.name)] };
  });
  const g = quantized.graph!;
  const probed: Model = { ...quantized, graph: { ...g, nodes: [...g.nodes, ...extra.map((e) => e.node)], initializers: [...g.initializers, ...extra.flatMap((e) => e.inits)] } };
  const probes = layers.flatMap((l, k) => [{ value: names.before(l.output), rank: l.rank, axis: l.outAxis }, { value: `probe${k}.y`, rank: l.rank, axis: l.outAxis }]);
  const q = await channelMeans(probed, data, probes, { batchSize: 128, threads: 1 });
  const mean = (ref: (l: Layer, k: number) => Float64Array) => {
    let [sum, n] = [0, 0];
    layers.forEach((l, k) => {
      const [got, r] = [q.get(names.before(l.output))!, ref(l, k)];
      for (let c = 0; c < got.length; c++) sum += Math.abs(got[c]! - r[c]!);
      n += got.length;
    });
    return sum / n;
  };
  return { total: mean((l) => float.get(l.output)!), local: mean((_, k) => q.get(`probe${k}.y`)!) };
}

describe("bias correction reduces the per-channel output mean error (per-tensor INT8, fake-quant)", () => {
  const cases: [string, RecipeInput][] = [
    ["mobilenetv2.nowd.bn", { granularity: "per-tensor", weightBits: 8, cle: true, absorbBias: true, relu6ToRelu: true }],
    ["resnet.bn", { granularity: "per-tensor", weightBits: 8 }],
  ];
  for (const [name, flags] of cases) {
    it(`${name}: empirical cuts the total error 10×, analytic the layers' own error by half`, async () => {
      const model = loadModel(join(MODELS_DIR, `${name}.onnx`));
      const run = async (biasCorrection: string) => quantizeModel(model, images("calib.npy", 256), buildRecipe({ ...flags, biasCorrection, batchSize: 128 }), { threads: 1 });
      const base = await run("none");
      const layers = layersOf(base.floatModel);
      const sets = { calib: () => images("calib.npy", 256), eval: () => images("eval.npy", 1000) };
      const float: Record<string, Map<string, Float64Array>> = {};
      for (const [k, data] of Object.entries(sets)) float[k] = await channelMeans(base.floatModel, data(), layers.map((l) => ({ value: l.output, rank: l.rank, axis: l.outAxis })), { batchSize: 128, threads: 1 });
      const err: Record<string, Record<"total" | "local", [number, number]>> = {};
      for (const mode of ["none", "empirical", "analytic"]) {
        const q = mode === "none" ? base : await run(mode);
        if (mode !== "none") expect(findReport(q.passes, "bias-correction")!.corrected.length).toBeGreaterThan(0);
        const c = await outputMeanErrors(float["calib"]!, base.floatModel, q.model, layers, sets.calib());
        const e = await outputMeanErrors(float["eval"]!, base.floatModel, q.model, layers, sets.eval());
        err[mode] = { total: [c.total, e.total], local: [c.local, e.local] };
      }
      const fmt = ([c, e]: [number, number]) => `${c.toExponential(2)}/${e.toExponential(2)}`;
      const line = (kind: "total" | "local") => ["none", "empirical", "analytic"].map((m) => `${m} ${fmt(err[m]![kind])}`).join(", ");
      console.log(`${name}, ${layers.length} layers, mean |Δ| per channel (calibration/evaluation images):\n  total ${line("total")}\n  local ${line("local")}`);
      for (const k of [0, 1]) {
        expect(err["empirical"]!.total[k]).toBeLessThan(0.1 * err["none"]!.total[k]);
        expect(err["analytic"]!.local[k]).toBeLessThan(0.5 * err["none"]!.local[k]);
      }
    }, 180_000); // three quantizations and eight channel-mean passes: ~30 s alone, over a minute on a loaded 2-core machine
  }
});
