/**
 * integer/lower-linear.ts on the forms third-party exports use:
 *   - 1-D Conv (torch Conv1d: [N, C, L] by [M, C/g, K]) grouped, strided,
 *     dilated and asymmetrically padded, then a pointwise 1-D Conv: each a
 *     `conv` op of height 1 between two reshapes; then 1-D MaxPool, padded
 *     AveragePool and GlobalAveragePool over [C, L], pools of height 1;
 *   - Gemm with alpha and beta (transB = 1 and 0, beta < 0, beta = 0).
 * Quantized by `quantizeModel` (default recipe), then the shared pipeline
 * check (integer-pipeline.ts): certified, tracks ONNX Runtime's fake-quant
 * model within two output steps, JS = integer ONNX = emulator bit for bit;
 * the generated C and the HLS design's C simulation equal the emulator
 * (skipped with a notice without gcc/g++/make; required with
 * FIXQ_REQUIRE_DATA=1). The QDQ model itself runs in
 * ONNX Runtime (integer kernels on) within 3% of the float model's output
 * range, and its Gemm biases are int32 at α·S_x·S_w / |β|. transA = 1, a 3-D
 * Conv and alpha ≤ 0 are refused in one line naming the node (their QDQ
 * models run in ONNX Runtime within the same 3%). On hand-specified graphs:
 * a C at α·S_x·S_w/|β| is added as its codes (negated for β < 0), a C at
 * any other scale is rounded to the accumulator's, β = 0 drops it. A
 * fixed-point design of the same model rescales by exact small multipliers
 * (alpha 1.5 = 3·2^−1) and its JS equals the emulator.
 */
import { afterAll, describe, expect, it } from "vitest";
import { integerize, integerizeModel } from "../../src/integer/integerize.js";
import type { ConvOp, DenseOp, FixedRescaleOp, RequantOp } from "../../src/integer/program.js";
import { runProgram } from "../../src/backends/emulator/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph, Model } from "../../src/ir/graph.js";
import { type AffineQuant, intFormat, type QuantSpec } from "../../src/ir/quant.js";
import { makeFloatTensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { tallyBuilt, tallyC } from "../backends/c/check-c.js";
import { buildHls } from "../backends/hls/build-hls.js";
import { allFeeds } from "../backends/js/feeds.js";
import { resultMismatches } from "../backends/js/compare.js";
import { cleanupModules, importProgram } from "../backends/js/load-module.js";
import { tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { Rng } from "../helpers/prng.js";
import { floatVector, graph, int, ints, model, node, randomWeight, value } from "../ir/builders.js";
import { checkIntegerPipeline, type PipelineCase } from "./integer-pipeline.js";

const HAVE_GCC = toolAvailable("gcc") && toolAvailable("make");
const HAVE_GPP = toolAvailable("g++") && toolAvailable("make");
const tmp = tempDir("fixq-lower-linear-");
afterAll(() => {
  cleanupModules();
  tmp.remove();
});

const rng = new Rng(8);
const N = 128;
const randn = (n: number) => Float32Array.from({ length: n }, () => (rng.float() + rng.float() + rng.float() - 1.5) * 2);
const floatAttr = (name: string, f: number) => ({ name, type: 1, f });
const bias = (name: string, n: number) => floatVector(name, Array.from({ length: n }, () => rng.float() - 0.5));

/** Conv1d (group 2, stride 2, dilation 2, pads 1/2) → Relu → Conv1d 1×1 → MaxPool1d → AvgPool1d, ‖ GlobalAveragePool → Concat → Flatten → three Gemms with alpha/beta. */
function conv1dGemms(globalPool = "GlobalAveragePool"): PipelineCase {
  const g = graph(
    [
      node("Conv", ["x", "wc1", "bc1"], ["c1"], [ints("kernel_shape", [3]), ints("pads", [1, 2]), ints("strides", [2]), ints("dilations", [2]), int("group", 2)], "conv1d"),
      node("Relu", ["c1"], ["r1"], [], "relu1"),
      node("Conv", ["r1", "wc2", "bc2"], ["c2"], [ints("kernel_shape", [1])], "pointwise1d"),
      node("MaxPool", ["c2"], ["mp"], [ints("kernel_shape", [2]), ints("strides", [2])], "maxpool1d"),
      node("AveragePool", ["mp"], ["ap"], [ints("kernel_shape", [3]), ints("pads", [1, 1]), int("count_include_pad", 1)], "avgpool1d"),
      node(globalPool, ["c2"], ["gp"], [], "gap1d"),
      node("Concat", ["ap", "gp"], ["cat"], [int("axis", 2)], "cat"),
      node("Flatten", ["cat"], ["f"], [], "flatten"),
      node("Gemm", ["f", "wf1", "bf1"], ["g1"], [int("transB", 1), floatAttr("alpha", 0.5), floatAttr("beta", 2)], "fc1"),
      node("Relu", ["g1"], ["r2"], [], "relu2"),
      node("Gemm", ["r2", "wf2", "bf2"], ["g2"], [floatAttr("alpha", 1.5), floatAttr("beta", -0.75)], "fc2"),
      node("Gemm", ["g2", "wf3", "bf3"], ["y"], [int("transB", 1), floatAttr("alpha", 2), floatAttr("beta", 0)], "fc3"),
    ],
    [value("x", 1, ["N", 4, 12])],
    [value("y", 1, ["N", 5])],
    [
      randomWeight(rng, "wc1", [6, 2, 3]),
      bias("bc1", 6),
      randomWeight(rng, "wc2", [4, 6, 1]),
      bias("bc2", 4),
      randomWeight(rng, "wf1", [10, 16]),
      bias("bf1", 10),
      randomWeight(rng, "wf2", [10, 7]),
      bias("bf2", 7),
      randomWeight(rng, "wf3", [5, 7]),
      bias("bf3", 5),
    ],
  );
  return { name: "Conv1d + Gemm alpha/beta", model: model(g, 13), feeds: { x: randn(N * 48) }, dims: { x: [N, 4, 12] } };
}

/** The models of the checks below, drawn once from the seeded generator. */
const CASE = conv1dGemms();
/**
 * For the fixed-point design: a global max pool, since a global average over 6
 * positions of one scale has exact ties (k/6 = m + ½) that ORT's float32
 * rounds to even and the design's dyadic 1/6 does not (a property of
 * fixed-point average pools, which this test is not about).
 */
const FIXED_CASE = conv1dGemms("GlobalMaxPool");

async function runOrt(m: Model, feeds: Record<string, Float32Array>, dims: Record<string, number[]>, optimization: "all" | "disabled"): Promise<Float32Array> {
  const s = await OrtSession.create(m, { threads: 1, optimization });
  const host = Object.fromEntries(Object.entries(feeds).map(([k, data]) => [k, { dtype: 1, dims: dims[k]!, data }]));
  const out = await s.run(host).finally(() => s.release());
  return out[s.outputNames[0]!]!.data as Float32Array;
}

/** The scale of the int32 initializer a DequantizeLinear feeds into input `slot` of node `name`. */
function dqScaleInto(m: Model, name: string, slot: number): Float64Array {
  const g = m.graph!;
  const target = g.nodes.find((n) => n.name === name)!;
  const dq = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === target.inputs[slot])!;
  return tensorToFloat64(g.initializers.find((t) => t.name === dq.inputs[1])!);
}

describe("integer Conv1d and Gemm with alpha/beta", () => {
  const c = CASE;
  it("lowers to height-1 convs and dense ops; certified; tracks fake-quant; JS = integer ONNX = emulator (= C, = HLS csim)", async () => {
    const { program: p, qdq, worstSteps } = await checkIntegerPipeline(c, N);
    const convs = p.ops.filter((o): o is ConvOp => o.kind === "conv");
    expect(convs.map((o) => o.weightShape)).toEqual([
      [6, 2, 1, 3],
      [4, 6, 1, 1],
    ]);
    expect(convs[0]!.pads).toEqual([0, 1, 0, 2]);
    expect([convs[0]!.strides, convs[0]!.dilations]).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(p.ops.filter((o) => o.kind === "maxpool" || o.kind === "sumpool").map((o) => [o.kind, (o as { kernel: readonly number[] }).kernel])).toEqual([
      ["maxpool", [1, 2]],
      ["sumpool", [1, 3]],
      ["sumpool", [1, 6]],
    ]);
    const dense = p.ops.filter((o): o is DenseOp => o.kind === "dense");
    expect(dense.map((o) => [o.inFeatures, o.outFeatures, o.bias !== undefined])).toEqual([
      [16, 10, true],
      [10, 7, true],
      [7, 5, false], // beta = 0: C adds nothing
    ]);
    expect(worstSteps).toBeLessThanOrEqual(2);

    // the QDQ bias scales: α·S_x·S_w[c] / |β| (fc1: 0.5/2, fc2: 1.5/0.75)
    for (const [fc, ratio] of [
      ["fc1", 0.25],
      ["fc2", 2],
    ] as const) {
      const [sx, sw, sb] = [0, 1, 2].map((slot) => dqScaleInto(qdq, fc, slot));
      const off = Array.from(sb!, (s, k) => Math.abs(s - ratio * sx![0]! * sw![sw!.length === 1 ? 0 : k]!) / s);
      expect(Math.max(...off)).toBeLessThanOrEqual(1e-6);
    }
    // fc3's bias (beta = 0) is not quantized
    expect(qdq.graph!.nodes.some((n) => n.opType === "DequantizeLinear" && n.outputs[0] === qdq.graph!.nodes.find((m) => m.name === "fc3")!.inputs[2])).toBe(false);

    // the QDQ model in ONNX Runtime (integer kernels) against the float model
    const yf = await runOrt(c.model, c.feeds, c.dims, "all");
    const yq = await runOrt(qdq, c.feeds, c.dims, "all");
    const range = yf.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    const worst = yf.reduce((a, v, i) => Math.max(a, Math.abs(v - yq[i]!)), 0);
    expect(worst).toBeLessThanOrEqual(0.03 * range);

    if (HAVE_GCC) {
      const t = tallyC(p, tmp.fresh(), allFeeds(p, 3), "-O1 -Wconversion -Wsign-conversion");
      expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
      expect(t.compared).toBeGreaterThan(0);
    }
    if (HAVE_GPP) {
      // the HLS design in C simulation (fixq's ap_types), its own layer loops
      const t = tallyBuilt(buildHls(p, tmp.fresh()), allFeeds(p, 4, 8));
      expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
      expect(t.compared).toBeGreaterThan(0);
    }
  }, 120_000);
});

/**
 * Quantizes a one-node float model on data of shape `dims`, checks that the
 * QDQ model runs in ONNX Runtime within 3% of the float output's range, then
 * integerizes it; returns the error's message.
 */
async function integerizeError(m: Model, dims: number[]): Promise<string> {
  const x = randn(dims.reduce((a, b) => a * b, 1));
  const { model: q } = await quantizeModel(m, arraySource({ x: { dtype: 1, dims, data: x } }), buildRecipe({}), { threads: 1 });
  const [yf, yq] = [await runOrt(m, { x }, { x: dims }, "all"), await runOrt(q, { x }, { x: dims }, "all")];
  const range = yf.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  expect(yf.reduce((a, v, i) => Math.max(a, Math.abs(v - yq[i]!)), 0)).toBeLessThanOrEqual(0.03 * range);
  try {
    integerizeModel(q);
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
}

describe("integer lowering refuses, in one line naming the node (the QDQ model runs near float)", () => {
  it("Gemm with transA = 1 (the batch axis would move)", async () => {
    const g = graph([node("Gemm", ["x", "w"], ["y"], [int("transA", 1)], "tA")], [value("x", 1, [3, 8])], [value("y", 1, [8, 5])], [randomWeight(rng, "w", [3, 5])]);
    expect(await integerizeError(model(g, 13), [3, 8])).toMatch(/^cannot integerize: Gemm 'tA' has transA = 1: its input's batch axis would become a feature axis/);
  });

  it("Gemm with alpha ≤ 0", async () => {
    const g = graph([node("Gemm", ["x", "w"], ["y"], [int("transB", 1), floatAttr("alpha", -1)], "neg")], [value("x", 1, ["N", 8])], [value("y", 1, ["N", 5])], [randomWeight(rng, "w", [5, 8])]);
    expect(await integerizeError(model(g, 13), [16, 8])).toMatch(/^cannot integerize: Gemm 'neg' has alpha = -1, beta = 1; integer code needs a finite alpha > 0/);
  });

  it("3-D Conv", async () => {
    const g = graph([node("Conv", ["x", "w"], ["y"], [ints("kernel_shape", [2, 2, 2])], "c3d")], [value("x", 1, ["N", 2, 4, 4, 4])], [value("y", 1, ["N", 3, 3, 3, 3])], [randomWeight(rng, "w", [3, 2, 2, 2, 2])]);
    expect(await integerizeError(model(g, 13), [4, 2, 4, 4, 4])).toBe("cannot integerize: Conv 'c3d' is a 3-D convolution; integer code covers 1-D and 2-D Conv");
  });
});

/** A stripped QDQ graph x → Gemm(W, C; transB, alpha 0.5, beta) → y with hand-set specs; C's int32 spec at `biasScale`. */
function handGemm(beta: number, biasScale: number): Graph {
  const w = makeFloatTensor("w", [3, 4], [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12].map((k) => k * 0.02));
  const c = floatVector("c", [0.0123, -0.456, 0.789].map((v) => Math.round(v / biasScale) * biasScale));
  const u8 = (scale: number): AffineQuant => ({ kind: "affine", format: intFormat("uint8"), scale: Float32Array.of(scale), zeroPoint: Int32Array.of(128) });
  const quant = new Map<string, QuantSpec>([
    ["x", u8(0.05)],
    ["y", u8(0.1)],
    ["w", { kind: "affine", format: intFormat("int8", { symmetric: true }), scale: Float32Array.of(0.02), zeroPoint: Int32Array.of(0) }],
    ["c", { kind: "affine", format: { dtype: DataType.INT32, bits: 32, signed: true, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 }, scale: Float32Array.of(biasScale, biasScale, biasScale), zeroPoint: new Int32Array(3), axis: 0 }],
  ]);
  const g = graph([node("Gemm", ["x", "w", "c"], ["y"], [int("transB", 1), floatAttr("alpha", 0.5), floatAttr("beta", beta)], "fc")], [value("x", 1, ["N", 4])], [value("y", 1, ["N", 3])], [w, c]);
  return { ...g, quant };
}

describe("Gemm alpha/beta on a hand-specified graph", () => {
  const dense = (g: Graph) => integerize(g).ops.find((o): o is DenseOp => o.kind === "dense")!;
  const accScale = 0.5 * 0.05 * 0.02; // α·S_x·S_w

  it("a C stored at α·S_x·S_w/|β| (fixq's, QGemm's) is added as its codes, negated for β < 0; M = α·S_x·S_w/S_y", () => {
    const s = Math.fround(accScale / 2);
    const codes = [0.0123, -0.456, 0.789].map((v) => Math.round(v / s));
    const p = integerize(handGemm(-2, s));
    const d = p.ops.find((o): o is DenseOp => o.kind === "dense")!;
    expect(Array.from(d.bias!)).toEqual(codes.map((k) => -k));
    const r = p.ops.find((o): o is RequantOp => o.kind === "requant")!;
    const M = (0.5 * Math.fround(0.05) * Math.fround(0.02)) / Math.fround(0.1); // the specs' float32 scales
    expect(Math.abs(r.multipliers[0]!.m * 2 ** -r.multipliers[0]!.s - M)).toBeLessThanOrEqual(2 ** -30 * M);
  });

  it("a C stored at another scale (S_x·S_w, as a tool that ignores alpha and beta writes it) becomes round(β·C / (α·S_x·S_w))", () => {
    const s = Math.fround(0.05 * 0.02);
    const c = [0.0123, -0.456, 0.789].map((v) => Math.round(v / s) * s);
    expect(Array.from(dense(handGemm(2, s)).bias!)).toEqual(c.map((v) => Math.round((2 * v) / accScale)));
  });

  it("β = 0 adds no bias", () => {
    expect(dense(handGemm(0, 0.001)).bias).toBeUndefined();
  });
});

describe("a fixed-point design (fixed<16,6,RND_CONV,SAT>: the QDQ export's rounding) with Conv1d and Gemm alpha/beta", () => {
  it("rescales by exact small multipliers (alpha 1.5 = 3·2^−1), tracks fake-quant, JS = emulator", async () => {
    const c = FIXED_CASE;
    const host = { x: { dtype: 1, dims: c.dims["x"]!, data: c.feeds["x"]! } };
    const { model: q } = await quantizeModel(c.model, arraySource(host), buildRecipe({ format: "fixed<16,6,RND_CONV,SAT>" }), { threads: 1 });
    const p = integerizeModel(q);
    const fc2 = p.ops.find((o): o is FixedRescaleOp => o.kind === "fixedrescale" && o.source === "Gemm 'fc2'")!;
    // M = 1.5·S_x·S_w/S_y, every S a power of two: an odd multiplier of 3 times a power of two, not a 31-bit dyadic
    expect(fc2.multipliers[0]! / 3).toBe(2 ** Math.round(Math.log2(fc2.multipliers[0]! / 3)));
    const emu = runProgram(p, new Map([["x", c.feeds["x"]!]]), N, { assertRanges: certifyProgram(p).ranges });
    const fq = await runOrt(q, c.feeds, c.dims, "disabled");
    const step = (p.ops.at(-1) as { scale: number }).scale;
    const y = emu.outputs.get("y")!;
    // measured 0 steps; one allowed for a float32 tie ORT may round otherwise on another CPU
    expect(y.reduce((a, v, i) => Math.max(a, Math.abs(v - fq[i]!) / step), 0)).toBeLessThanOrEqual(1);
    const { mod } = await importProgram(p);
    expect(resultMismatches(mod.runAll(c.feeds, N), emu, ["y"])).toMatchObject({ floats: 0, ints: 0 });
  }, 60_000);
});
