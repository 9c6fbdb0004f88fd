/**
 * Bias correction on hand-built graphs (the bundled models are in
 * bias-correction-models.test.ts):
 *  - the clipped-normal expectation against numerical integration (fast-check),
 *    and the ReLU closed form;
 *  - tap coverage of padded convs;
 *  - analytic: b −= ε·E[x] on Gemm → ReLU → Gemm with E[x] known exactly
 *    (γ = 0 gives E = max(β, 0); β = 0, γ = 1 gives 1/√(2π));
 *  - analytic on a 3×3 conv with padding: exact in ORT when x ≡ E[x], borders
 *    included, where the padding-free formula of the paper is not;
 *  - empirical: b −= E[ŷ] − E[y]; a two-layer chain takes a float run and two
 *    quantized runs, the second measuring the model whose first layer is
 *    already corrected.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Graph } from "../../src/ir/graph.js";
import { analyticInputMeans, correctBiases, tapCoverage } from "../../src/quant/bias-correction.js";
import { clippedNormalMean, normalPdf } from "../../src/passes/bn-moments.js";
import { arraySource, type DataSource } from "../../src/quant/feeds.js";
import { writeQdq } from "../../src/quant/qdq-write.js";
import { resolvePlan } from "../../src/quant/resolve-plan.js";
import { roundNearest } from "../../src/quant/round-weights.js";
import { assignLateSpecs, assignSpecs } from "../../src/quant/specs.js";
import { dequantizeWithSpec, quantizeWithSpec } from "../../src/quant/weights.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { graph, int, ints, model, node, value } from "../ir/builders.js";
import { run, tensor, values } from "../passes/float-helpers.js";

/**
 * What the quantize stages give correctBiases: the graph with weight and
 * activation specs (resolved plan, specs for the given ranges), the codes
 * nearest rounding chose, and the QDQ graph for corrected biases. With
 * `weightsOnly`, activation and bias specs are dropped.
 */
function quantizer(flags: RecipeInput, ranges: Record<string, [number, number]>, weightsOnly = false) {
  const recipe = buildRecipe(flags);
  const r = new Map(Object.entries(ranges).map(([k, [lo, hi]]) => [k, { lo, hi }]));
  return (g: Graph) => {
    const { graph, outScales } = assignSpecs(g, resolvePlan(g, recipe), r);
    const specified = weightsOnly ? { ...graph, quant: new Map([...graph.quant!].filter(([k]) => k === "W1" || k === "W2")) } : graph;
    const codes = roundNearest(specified);
    const plan = resolvePlan(g, recipe);
    const biased = (h: Graph) => (weightsOnly ? h : assignLateSpecs(h, plan, outScales).graph);
    const quantized = (h: Graph) => writeQdq(biased(h), { codes: new Map([...codes, ...roundNearest(biased(h), codes)]) });
    return { specified, codes, quantized, spec: (v: string) => biased(specified).quant!.get(v)! };
  };
}

/** DQ(Q(w)) − w under the spec the quantizer gives the constant `w` of `g`. */
function weightError(g: Graph, q: ReturnType<typeof quantizer>, w: string): Float64Array {
  const spec = q(g).spec(w);
  const t = g.initializers.find((x) => x.name === w)!;
  const f = Float64Array.from(values(g, w));
  const dq = dequantizeWithSpec(quantizeWithSpec(f, t.dims.map(Number), spec), t.dims.map(Number), spec);
  return f.map((x, i) => dq[i]! - x);
}

/** correctBiases on `g` as the quantize stages call it. */
function correct(g: Graph, mode: "analytic" | "empirical", q: ReturnType<typeof quantizer>, extra: { source?: DataSource; batchSize?: number } = {}) {
  const { specified, codes, quantized } = q(g);
  return correctBiases(model(specified), mode, { codes, quantized, ...extra });
}

describe("clippedNormalMean", () => {
  /** Simpson's rule over ±12σ: E[clip(y, a, b)]. */
  function integrate(mu: number, sigma: number, a: number, b: number): number {
    const n = 20000;
    const [lo, hi] = [mu - 12 * sigma, mu + 12 * sigma];
    const h = (hi - lo) / n;
    let s = 0;
    for (let i = 0; i <= n; i++) {
      const y = lo + i * h;
      const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
      s += w * Math.min(b, Math.max(a, y)) * normalPdf((y - mu) / sigma);
    }
    return (s * h) / 3 / sigma;
  }

  it("ReLU: μΦ(μ/σ) + σφ(μ/σ); N(0, 1) gives 1/√(2π)", () => {
    expect(clippedNormalMean(0, 1, 0, Number.POSITIVE_INFINITY)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 7);
    expect(clippedNormalMean(5, 0, 0, 6)).toBe(5);
    expect(clippedNormalMean(-1, 0, 0, 6)).toBe(0);
    expect(clippedNormalMean(1, 2, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toBeCloseTo(1, 7);
  });

  it("matches numerical integration for ReLU, ReLU6 and any clip (1e-5)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -8, max: 8, noNaN: true }),
        fc.double({ min: 0.05, max: 5, noNaN: true }),
        fc.constantFrom<[number, number]>([0, Number.POSITIVE_INFINITY], [0, 6], [-1, 2], [Number.NEGATIVE_INFINITY, 0.5]),
        (mu, sigma, [a, b]) => Math.abs(clippedNormalMean(mu, sigma, a, b) - integrate(mu, sigma, a, b)) < 1e-5,
      ),
      { numRuns: 200 },
    );
  });
});

describe("tapCoverage", () => {
  const conv = (attrs = [ints("pads", [1, 1, 1, 1])]) => node("Conv", ["x", "W"], ["y"], attrs);
  it("3×3, pad 1, stride 1 on 5×5: 4/5 of positions read the input at the edge taps", () => {
    const f = Array.from(tapCoverage(conv(), [1, 1, 5, 5], [3, 3]));
    const d = [0.8, 1, 0.8];
    for (const [t, v] of f.entries()) expect(v).toBeCloseTo(d[Math.floor(t / 3)]! * d[t % 3]!, 12);
  });
  it("stride 2 on 28 (14 outputs): tap 0 reads padding once per row", () => {
    const f = tapCoverage(conv([ints("pads", [1, 1, 1, 1]), ints("strides", [2, 2])]), [1, 1, 28, 28], [3, 3]);
    expect(f[0]).toBeCloseTo((13 / 14) ** 2, 12);
    expect(f[4]).toBe(1);
    expect(f[8]).toBe(1);
  });
  it("SAME_UPPER equals explicit pads; unknown spatial dims give ones", () => {
    const same = node("Conv", ["x", "W"], ["y"], [{ name: "auto_pad", type: 3, s: new TextEncoder().encode("SAME_UPPER") }]);
    expect(Array.from(tapCoverage(same, [1, 1, 5, 5], [3, 3]))).toEqual(Array.from(tapCoverage(conv(), [1, 1, 5, 5], [3, 3])));
    expect(Array.from(tapCoverage(conv(), [1, 1, "h", 5], [3, 3]))).toEqual(new Array(9).fill(1));
  });
});

/** x → Gemm g1 → h (BN stats β = [1, 0], γ = [0, 1]) → Relu → Gemm g2 → y. */
function gemmChain(alpha = 1): Graph {
  return {
    ...graph(
      [node("Gemm", ["x", "W1", "B1"], ["h"], [], "g1"), node("Relu", ["h"], ["r"]), node("Gemm", ["r", "W2", "B2"], ["y"], [{ name: "alpha", type: 1, f: alpha }], "g2")],
      [value("x", 1, ["n", 2])],
      [value("y", 1, ["n", 2])],
      [tensor("W1", [2, 2], [1, 0, 0, 1]), tensor("B1", [2], [1, 0]), tensor("W2", [2, 2], [1.27, 0.504, 0.013, -0.3]), tensor("B2", [2], [0.5, -0.25])],
    ),
    bnStats: new Map([["h", { beta: Float64Array.of(1, 0), gamma: Float64Array.of(0, 1) }]]),
  };
}

describe("correctBiases (analytic): before/expected", () => {
  const specify = quantizer({ granularity: "per-tensor", weightBits: 8 }, { x: [0, 1], r: [0, 4], y: [-4, 4] });
  const er = [1, 1 / Math.sqrt(2 * Math.PI)]; // E[relu(N(1, 0))], E[relu(N(0, 1))]

  it("E[r] = [1, 1/√(2π)]; g1's input is the graph input, so it has none", () => {
    const { means, unknown } = analyticInputMeans(gemmChain());
    expect(Array.from(means.get("g2")!)).toEqual([1, expect.closeTo(er[1]!, 7)]);
    expect(unknown.get("g1")).toMatch(/'x' is a graph input/);
  });

  for (const alpha of [1, 2]) {
    it(`alpha ${alpha}: b₂ −= α·Σ_k ε[k, o]·E[r_k] (ε from per-tensor 8-bit: scale 0.01, 0.504 → 0.50, 0.013 → 0.01)`, async () => {
      const g = gemmChain(alpha);
      const eps = weightError(g, specify, "W2"); // B[K, N]: eps[k·2 + o]
      expect(eps[1]).toBeCloseTo(-0.004, 6);
      expect(eps[2]).toBeCloseTo(-0.003, 6);
      const delta = [0, 1].map((o) => alpha * (eps[o]! * er[0]! + eps[2 + o]! * er[1]!));
      const { graph: out, report } = await correct(g, "analytic", specify);
      expect(values(out, "B2")).toEqual([expect.closeTo(0.5 - delta[0]!, 7), expect.closeTo(-0.25 - delta[1]!, 7)]);
      expect(values(out, "B1")).toEqual([1, 0]);
      expect(values(out, "W2")).toEqual(values(g, "W2"));
      expect(report).toMatchObject({ pass: "bias-correction", mode: "analytic", runs: 0, corrected: [{ layer: "g2", channels: 2 }] });
      expect(report.corrected[0]!.maxAbsDelta).toBeCloseTo(Math.max(...delta.map(Math.abs)), 9);
      expect(report.skipped).toEqual([{ layer: "g1", reason: "'x' is a graph input (no BN statistics)" }]);
    });
  }
});

describe("correctBiases (analytic): padded 3×3 conv", () => {
  // x → Conv 1×1 (c1, weight 0, bias 2) → h ≡ 2, stats N(2, 0) → Relu → Conv 3×3 pad 1 (c2) → y
  const w2 = [0.9, -0.31, 0.47, 0.12, 1.0, -0.77, 0.05, 0.33, -0.58];
  const g: Graph = {
    ...graph(
      [node("Conv", ["x", "W1", "B1"], ["h"], [], "c1"), node("Relu", ["h"], ["r"]), node("Conv", ["r", "W2", "B2"], ["y"], [ints("pads", [1, 1, 1, 1]), int("group", 1)], "c2")],
      [value("x", 1, [1, 1, 5, 5])],
      [value("y", 1, [1, 1, 5, 5])],
      [tensor("W1", [1, 1, 1, 1], [0]), tensor("B1", [1], [2]), tensor("W2", [1, 1, 3, 3], w2), tensor("B2", [1], [0.1])],
    ),
    bnStats: new Map([["h", { beta: Float64Array.of(2), gamma: Float64Array.of(0) }]]),
  };
  const specify = quantizer({ granularity: "per-tensor", weights: "int4" }, { x: [0, 1], r: [0, 4], y: [-8, 8] });

  it("the corrected quantized conv has the float conv's spatial mean exactly, borders included", async () => {
    const eps = weightError(g, specify, "W2");
    const { graph: out } = await correct(g, "analytic", specify);
    const wq = values(g, "W2").map((w, i) => w + eps[i]!);
    const quantized = { ...out, initializers: out.initializers.map((t) => (t.name === "W2" ? tensor("W2", [1, 1, 3, 3], wq) : t)) };
    const feeds = { x: { dtype: 1, dims: [1, 1, 5, 5], data: new Float32Array(25) } };
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const ref = mean((await run(model(g), feeds))["y"]!);
    const got = mean((await run(model(quantized), feeds))["y"]!);
    expect(Math.abs(got - ref)).toBeLessThan(1e-6);
    // Without the tap coverage (the paper's formula), the mean would be off by Σ ε_k·2·(f_k − 1).
    const f = tapCoverage(g.nodes[2]!, [1, 1, 5, 5], [3, 3]);
    const paperError = eps.reduce((s, e, k) => s + e * 2 * (1 - f[k]!), 0);
    expect(Math.abs(paperError)).toBeGreaterThan(1e-3);
  });
});

describe("correctBiases (empirical): layer by layer", () => {
  // x → Gemm g1 → h → Gemm g2 → y, 3-bit per-tensor weights (coarse, so ε is large). Only the weights are
  // quantized here (the activation and bias specs are dropped), so every mean below is exact in float32.
  const g = graph(
    [node("Gemm", ["x", "W1", "B1"], ["h"], [], "g1"), node("Gemm", ["h", "W2", "B2"], ["y"], [], "g2")],
    [value("x", 1, ["n", 2])],
    [value("y", 1, ["n", 2])],
    [tensor("W1", [2, 2], [0.9, -0.35, 0.55, 0.2]), tensor("B1", [2], [0.1, 0.2]), tensor("W2", [2, 2], [1.4, 0.5, -0.9, 1.6]), tensor("B2", [2], [0, 0])],
  );
  const xs = Float32Array.from([0.5, 1, 1.5, 0.25, 2, 0.75, 1, 1.25, 0.5, 0.5, 1.75, 2, 0, 1, 2, 0.5]);
  const ex = [0, 1].map((c) => xs.filter((_, i) => i % 2 === c).reduce((a, b) => a + b, 0) / 8);
  const full = quantizer({ granularity: "per-tensor", weightBits: 3 }, { x: [0, 2.55], h: [-4, 4], y: [-4, 4] });
  const specify = quantizer({ granularity: "per-tensor", weightBits: 3 }, { x: [0, 2.55], h: [-4, 4], y: [-4, 4] }, true);

  it("g1 in wave 1; g2 in wave 2, in the model whose g1 is corrected", async () => {
    const source = arraySource({ x: { dtype: 1, dims: [8, 2], data: xs } });
    const { graph: out, report } = await correct(g, "empirical", specify, { source, batchSize: 3 });
    expect(report.runs).toBe(3); // the float reference, then one run per wave
    expect(report.corrected.map((c) => [c.layer, c.wave])).toEqual([["g1", 1], ["g2", 2]]);
    const [e1, e2] = [weightError(g, specify, "W1"), weightError(g, specify, "W2")];
    const [w1, b1] = [values(g, "W1"), values(g, "B1")];
    // g1: E[ŷ − y] = Σ_k ε1[k, o]·E[x_k].
    const d1 = [0, 1].map((o) => e1[o]! * ex[0]! + e1[2 + o]! * ex[1]!);
    expect(values(out, "B1")).toEqual([expect.closeTo(0.1 - d1[0]!, 6), expect.closeTo(0.2 - d1[1]!, 6)]);
    // g2: after g1's correction E[h̃] = E[h] = W1ᵀE[x] + b1, so E[ŷ − y] = ε2ᵀE[h]. Measured before g1's
    // correction it would also hold g1's shift passed on, W̃2ᵀ·d1.
    const eh = [0, 1].map((o) => w1[o]! * ex[0]! + w1[2 + o]! * ex[1]! + b1[o]!);
    const d2 = [0, 1].map((o) => e2[o]! * eh[0]! + e2[2 + o]! * eh[1]!);
    const w2q = values(g, "W2").map((w, i) => w + e2[i]!);
    const wrong = [0, 1].map((o) => d2[o]! + w2q[o]! * d1[0]! + w2q[2 + o]! * d1[1]!);
    expect(values(out, "B2")).toEqual([expect.closeTo(-d2[0]!, 6), expect.closeTo(-d2[1]!, 6)]);
    expect(Math.max(...[0, 1].map((o) => Math.abs(wrong[o]! - d2[o]!)))).toBeGreaterThan(0.01);
  });

  it("with activations and int32 biases quantized too, the first layer's correction also removes the bias's rounding", async () => {
    const source = arraySource({ x: { dtype: 1, dims: [8, 2], data: xs } });
    const { graph: out } = await correct(g, "empirical", full, { source });
    const [e1, eb1] = [weightError(g, full, "W1"), weightError(g, full, "B1")];
    expect(Math.max(...eb1.map(Math.abs))).toBeGreaterThan(5e-4); // the grid s_x·s_w = 0.003 is coarse with 3-bit weights
    const d1 = [0, 1].map((o) => e1[o]! * ex[0]! + e1[2 + o]! * ex[1]! + eb1[o]!);
    expect(values(out, "B1")).toEqual([expect.closeTo(0.1 - d1[0]!, 5), expect.closeTo(0.2 - d1[1]!, 5)]);
  });

  it("refuses to run without data", async () => {
    await expect(correct(g, "empirical", specify)).rejects.toThrow(/calibration data/);
  });

  it("with no layer to correct, reports each skipped layer and runs nothing (no ORT session without outputs)", async () => {
    // a MatMul without a bias Add has no bias to correct
    const mm = graph([node("MatMul", ["x", "W1"], ["y"], [], "mm")], [value("x", 1, ["n", 2])], [value("y", 1, ["n", 2])], [tensor("W1", [2, 2], [0.9, -0.35, 0.55, 0.2])]);
    const q = quantizer({ granularity: "per-tensor", weightBits: 3 }, { x: [0, 2.55], y: [-4, 4] });
    const source = arraySource({ x: { dtype: 1, dims: [8, 2], data: xs } });
    const { graph: out, report } = await correct(mm, "empirical", q, { source });
    expect(report).toMatchObject({ corrected: [], runs: 0, skipped: [{ layer: "mm", reason: "MatMul without a bias Add (no bias to correct)" }] });
    expect(values(out, "W1")).toEqual(values(mm, "W1"));
  });
});
