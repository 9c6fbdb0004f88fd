/**
 * --smooth through layout ops (passes/smooth-layout.ts):
 * - reshapedAxis by hand: [N, 5, 16] → [−1, 16] keeps the channel axis as
 *   axis 1; → [N, 5, 2, 8] splits it and → [N, 80] merges it (refused);
 * - a graph built here, LayerNorm → Reshape [−1, C] → Gemm transB, is a target
 *   (via the Reshape), smoothing keeps its output within 1e-5 and lowers the
 *   spread below 0.7 times; a Reshape that splits the channels is refused in one line
 *   naming the Reshape, and smoothModel fails with that line;
 * - Transposes that move the channel axis to the middle, the front and back to
 *   the end are followed exactly (float output within 1e-5); a Transpose that
 *   leaves it off the last axis at a MatMul whose weight would fit is refused
 *   naming the MatMul;
 * - the torch pre-norm encoder fixtures (scripts/make_prenorm_fixtures.py;
 *   batch_first: LayerNorm → Transpose → MatMul, and seq-first: LayerNorm →
 *   MatMul with Shape readers): both norms are smoothed at α 0.5, the float
 *   output in ONNX Runtime stays within 1e-5 relative (float32 rounding of the
 *   scaled γ, β and weights), and the per-channel max |x| of each norm output,
 *   measured again in ONNX Runtime on the smoothed model, has the spread
 *   max/mean the report predicts and below 0.7 times the spread before
 *   (α 0.5 takes the square root of each channel's max |x| / max |w|);
 * - an opset-23 RMSNormalization → MatMul is smoothed too (γ only), float output
 *   within 1e-5, and so is a torch export of LlamaRMSNorm, fused first;
 * - fixq quantize --smooth on the Transpose fixture writes a model that ONNX
 *   Runtime loads and runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeNpy } from "../../src/io/npy.js";
import { FixqError } from "../../src/ir/errors.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { smoothTargetsWithReasons } from "../../src/passes/smooth.js";
import { reshapedAxis } from "../../src/passes/smooth-layout.js";
import { arraySource } from "../../src/quant/feeds.js";
import { smoothModel } from "../../src/quant/smooth.js";
import { fixqMain } from "../helpers/fixq-main.js";
import { graph, int, ints, model, node, randomWeight, value } from "../ir/builders.js";
import { randn, randTensor, Rng, run, tensor, worstRelErr } from "./float-helpers.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/transformer");
const tmp = mkdtempSync(join(tmpdir(), "fixq-smooth-layout-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("reshapedAxis", () => {
  it("keeps the channel axis when the trailing product matches, refuses a split or a merge", () => {
    expect(reshapedAxis(["N", 5, 16], ["?", 16], 2)).toBe(1);
    expect(reshapedAxis([5, "N", 16], [5, "N", 1, 16], 2)).toBe(3);
    expect(reshapedAxis(["N", 16, 5], ["N", 16, 5], 1)).toBe(1);
    expect(reshapedAxis(["N", 5, 16], ["N", 5, 16, 1], 2)).toBe(2);
    expect(reshapedAxis(["N", 16, 5], ["N", 16, 1, 5], 1)).toBe(1);
    expect(reshapedAxis(["N", 16, 5], ["N", 8, 10], 1)).toMatch(/splits or merges/);
    expect(reshapedAxis(["N", 5, 16], ["N", 5, 2, 8], 2)).toMatch(/splits or merges the channel axis \(16 channels, 1 elements after it, output \[N, 5, 2, 8\]\)/);
    expect(reshapedAxis(["N", 5, 16], ["N", 80], 2)).toMatch(/splits or merges/);
    expect(reshapedAxis(["N", 5, 16], undefined, 2)).toBe("its shapes are not known");
  });
});

const C = 8;

/** LayerNorm → Reshape(shape) → Gemm transB (input [N, 4, C]). */
function normReshapeGemm(shape: number[]): Model {
  const rng = new Rng(3);
  const gamma = Array.from({ length: C }, (_, j) => (j === 2 ? 30 : 1 + rng.float()));
  const g = graph(
    [
      node("LayerNormalization", ["x", "gamma", "beta"], ["h"], [int("axis", -1)], "ln"),
      node("Reshape", ["h", "shape"], ["h2"], [], "flat"),
      node("Gemm", ["h2", "w", "b"], ["y"], [int("transB", 1)], "fc"),
    ],
    [value("x", 1, ["N", 4, C])],
    [value("y", 1, ["M", 6])],
    [
      tensor("gamma", [C], gamma),
      randTensor(rng, "beta", [C], 0.1),
      { name: "shape", dtype: 7, dims: [shape.length], raw: new Uint8Array(BigInt64Array.from(shape.map(BigInt)).buffer) },
      randomWeight(rng, "w", [6, C]),
      randTensor(rng, "b", [6]),
    ],
  );
  return model(g, 17);
}

const source = (dims: number[], seed: number) => arraySource({ x: { dtype: 1, dims, data: randn(new Rng(seed), dims.reduce((a, b) => a * b, 1)) } });

describe("smoothing through Reshape", () => {
  it("LayerNorm → Reshape [−1, C] → Gemm transB: smoothed, float output within 1e-5", async () => {
    const m = normReshapeGemm([-1, C]);
    const { targets, refused } = smoothTargetsWithReasons(m.graph!);
    expect(refused).toEqual([]);
    expect(targets.map((t) => [t.norm.name, t.readers.map((r) => r.name), t.via.map((r) => r.name)])).toEqual([["ln", ["fc"], ["flat"]]]);
    const { model: out, report } = await smoothModel(m, source([32, 4, C], 1), 0.5, { batchSize: 16, threads: 1 });
    expect(report.layers[0]!.spreadAfter).toBeLessThan(report.layers[0]!.spreadBefore * 0.7);
    const feeds = { x: { dtype: 1, dims: [5, 4, C], data: randn(new Rng(2), 5 * 4 * C) } };
    expect(worstRelErr(await run(m, feeds), await run(out, feeds))).toBeLessThanOrEqual(1e-5);
  });

  it("a Reshape that splits the channels is refused in one line naming it", async () => {
    const m = normReshapeGemm([-1, 4, 2]);
    const { targets, refused } = smoothTargetsWithReasons(m.graph!);
    expect(targets).toEqual([]);
    expect(refused).toEqual([{ norm: "LayerNormalization 'ln'", reason: "Reshape 'flat': it splits or merges the channel axis (8 channels, 1 elements after it, output [?, 4, 2])" }]);
    const err = await smoothModel(m, source([8, 4, C], 1), 0.5, { batchSize: 8 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FixqError);
    expect((err as Error).message).toBe(
      "--smooth: cannot carry LayerNormalization 'ln''s channel scale to its linear layers: Reshape 'flat': it splits or merges the channel axis (8 channels, 1 elements after it, output [?, 4, 2])",
    );
  });
});

/** LayerNorm over [N, 4, C] → Transposes (each perm) → MatMul [C, 6]. */
function normTransposesMatMul(perms: number[][]): Model {
  const rng = new Rng(5);
  const nodes = [node("LayerNormalization", ["x", "gamma", "beta"], ["t0"], [int("axis", -1)], "ln")];
  for (const [k, p] of perms.entries()) nodes.push(node("Transpose", [`t${k}`], [`t${k + 1}`], [ints("perm", p)], `tr${k}`));
  nodes.push(node("MatMul", [`t${perms.length}`, "w"], ["y"], [], "mm"));
  const g = graph(nodes, [value("x", 1, ["N", 4, C])], [value("y", 1)], [randTensor(rng, "gamma", [C]), randTensor(rng, "beta", [C], 0.1), randomWeight(rng, "w", [C, 6])]);
  return model(g, 17);
}

describe("smoothing through Transposes", () => {
  it("the channel axis moved to the middle, the front and back is tracked: float output within 1e-5", async () => {
    const m = normTransposesMatMul([
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
    ]);
    // [N, 4, C] → [N, C, 4] (channels on axis 1) → [C, N, 4] (axis 0) → [N, 4, C] (axis 2, last)
    const { targets, refused } = smoothTargetsWithReasons(m.graph!);
    expect(refused).toEqual([]);
    expect(targets[0]!.via.map((n) => n.name)).toEqual(["tr0", "tr1", "tr2"]);
    const { model: out } = await smoothModel(m, source([16, 4, C], 1), 0.5, { batchSize: 16, threads: 1 });
    const feeds = { x: { dtype: 1, dims: [3, 4, C], data: randn(new Rng(2), 3 * 4 * C) } };
    expect(worstRelErr(await run(m, feeds), await run(out, feeds))).toBeLessThanOrEqual(1e-5);
  });

  it("a Transpose that leaves the channels off the last axis before a MatMul whose weight fits is refused, naming the MatMul", () => {
    const rng = new Rng(6);
    const g = graph(
      [
        node("LayerNormalization", ["x", "gamma"], ["h"], [int("axis", -1)], "ln"),
        node("Transpose", ["h"], ["t"], [ints("perm", [0, 2, 1])], "tr"),
        node("MatMul", ["t", "w"], ["y"], [], "mm"),
      ],
      [value("x", 1, ["N", C, C])],
      [value("y", 1)],
      [randTensor(rng, "gamma", [C]), randomWeight(rng, "w", [C, 6])],
    );
    expect(smoothTargetsWithReasons(g).refused).toEqual([{ norm: "LayerNormalization 'ln'", reason: "MatMul 'mm': it contracts axis 2 but the channels are on axis 1" }]);
  });
});

describe("smoothing an RMSNormalization (opset 23)", () => {
  it("γ divided by s (no β), the MatMul's rows multiplied: float output within 1e-5, spread lowered", async () => {
    const rng = new Rng(12);
    const gamma = Array.from({ length: C }, (_, j) => (j === 5 ? -25 : 0.5 + rng.float()));
    const g = graph(
      [node("RMSNormalization", ["x", "gamma"], ["h"], [int("axis", -1), { name: "epsilon", type: 1, f: 1e-6 }], "rms"), node("MatMul", ["h", "w"], ["y"], [], "proj")],
      [value("x", 1, ["N", 4, C])],
      [value("y", 1, ["N", 4, 6])],
      [tensor("gamma", [C], gamma), randomWeight(rng, "w", [C, 6])],
    );
    const m = model(g, 23);
    const { model: out, report } = await smoothModel(m, source([32, 4, C], 1), 0.5, { batchSize: 16, threads: 1 });
    expect(report.layers.map((l) => l.norm)).toEqual(["rms"]);
    expect(out.graph!.nodes[0]!.inputs.length).toBe(2);
    expect(report.layers[0]!.spreadAfter).toBeLessThan(report.layers[0]!.spreadBefore * 0.7);
    const feeds = { x: { dtype: 1, dims: [5, 4, C], data: randn(new Rng(2), 5 * 4 * C) } };
    expect(worstRelErr(await run(m, feeds), await run(out, feeds))).toBeLessThanOrEqual(1e-5);
  });

  it("a torch export of LlamaRMSNorm (decomposed): fused to RMSNormalization first, then smoothed, float output within 1e-5", async () => {
    const m = loadModel(join(FIXTURES, "llama-rmsnorm.onnx"));
    const { model: out, report } = await smoothModel(m, source([32, 5, 8], 3), 0.5, { batchSize: 16, threads: 1 });
    expect(report.layers.length).toBe(1);
    expect(out.graph!.nodes.filter((n) => n.opType === "RMSNormalization").length).toBe(1);
    const feeds = { x: { dtype: 1, dims: [6, 5, 8], data: randn(new Rng(4), 6 * 5 * 8) } };
    expect(worstRelErr(await run(m, feeds), await run(out, feeds))).toBeLessThanOrEqual(1e-5);
  });
});

/** max|x| per channel (last axis) of value v over a run. */
function channelMax(x: Float32Array, c: number): Float64Array {
  const m = new Float64Array(c);
  for (let i = 0; i < x.length; i++) m[i % c] = Math.max(m[i % c]!, Math.abs(x[i]!));
  return m;
}
const spread = (v: Float64Array) => (Math.max(...v) * v.length) / v.reduce((a, b) => a + b, 0);

describe("torch pre-norm encoder layers", () => {
  it.each([
    ["prenorm-encoder.onnx", [16, 5, 16], ["Transpose"]],
    ["prenorm-encoder-seqfirst.onnx", [5, 16, 16], []],
  ] as const)("%s: both norms smoothed, float output kept, channel max flattened", async (file, dims, via) => {
    const m = loadModel(join(FIXTURES, file));
    const { targets } = smoothTargetsWithReasons(m.graph!);
    expect(targets.length).toBe(2);
    expect(targets[0]!.via.map((n) => n.opType)).toEqual(via);
    expect(targets[1]!.via).toEqual([]);
    // calibration = the measured run: one batch of 16 (the seq-first layer's axis 0 is its 5 tokens, fed whole)
    const feeds = { x: { dtype: 1, dims: [...dims], data: randn(new Rng(5), dims.reduce((a, b) => a * b, 1)) } };
    const { model: out, report } = await smoothModel(m, arraySource(feeds), 0.5, { batchSize: 16, threads: 1 });
    expect(report.layers.length).toBe(2);
    const values = targets.map((t) => t.value);
    const [before, after] = [await run(m, feeds, values), await run(out, feeds, values)];
    expect(relOut(before.y!, after.y!)).toBeLessThanOrEqual(1e-5);
    report.layers.forEach((l, k) => {
      const [b, a] = [spread(channelMax(before[values[k]!]!, 16)), spread(channelMax(after[values[k]!]!, 16))];
      expect(b).toBeCloseTo(l.spreadBefore, 6);
      expect(a).toBeCloseTo(l.spreadAfter, 4);
      expect(a).toBeLessThan(b * 0.7);
    });
  });

  it("fixq quantize --smooth 0.5 on the Transpose layer writes a model ONNX Runtime runs", async () => {
    const calib = join(tmp, "calib.npy");
    writeNpy(calib, { dtype: "f4", shape: [32, 5, 16], data: randn(new Rng(6), 32 * 5 * 16) });
    const out = join(tmp, "enc.q.onnx");
    const r = await fixqMain("quantize", join(FIXTURES, "prenorm-encoder.onnx"), "-o", out, "--calib", calib, "--smooth", "0.5");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/smooth {2}α 0\.5, 2 LayerNorms/);
    expect(r.stderr).toMatch(/norm1\/LayerNormalization \(1 readers, via Transpose, α 0\.5\)/);
    const feeds = { x: { dtype: 1, dims: [4, 5, 16], data: randn(new Rng(7), 4 * 5 * 16) } };
    const [f, q] = [await run(loadModel(join(FIXTURES, "prenorm-encoder.onnx")), feeds), await run(loadModel(out), feeds)];
    expect(q.y!.length).toBe(f.y!.length);
    expect(relOut(f.y!, q.y!)).toBeLessThan(0.2);
  }, 60_000);
});

function relOut(a: Float32Array, b: Float32Array): number {
  return worstRelErr({ y: a }, { y: b });
}
