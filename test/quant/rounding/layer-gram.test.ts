/**
 * The layer as matrices: im2col patches times the weight matrix of each group
 * give ONNX Runtime's Conv output (strides, dilations, explicit and SAME
 * padding, groups, depthwise), so the patch order matches the weight's, and
 * likewise ConvTranspose's transposed patches (strides, pads, output_padding,
 * groups, dilation, 1-D); the
 * streaming Gram equals Σ p·pᵀ over those patches, across batches; Gemm and
 * MatMul inputs are their rows (a Gemm with transA, the columns of A);
 * with chunks, each chunk's Gram is that of its samples' columns alone,
 * batches crossing chunk boundaries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Attribute, Graph } from "../../../src/ir/graph.js";
import { inferTypes } from "../../../src/ir/infer-types.js";
import { GraphEdit } from "../../../src/passes/graph-edit.js";
import { type Layer, readLayer } from "../../../src/passes/layers.js";
import { LayerGram } from "../../../src/quant/rounding/layer-gram.js";
import { GramKernel } from "../../../src/quant/rounding/gram-kernel.js";
import { ChunkGrams } from "../../../src/quant/rounding/chunk-grams.js";
import { convGeometry } from "../../../src/ir/conv-geometry.js";
import { convTransposeGeometry, layerMatrix, type LayerMatrix, writePatches, writeTransposedPatches } from "../../../src/quant/rounding/layer-matrix.js";
import { tensorToFloat64 } from "../../../src/ir/tensor.js";
import { Rng } from "../../helpers/prng.js";
import { graph, int, ints, model, node, value } from "../../ir/builders.js";
import { randTensor, run } from "../../passes/float-helpers.js";

function layerOf(g: Graph): { layer: Layer; m: LayerMatrix } {
  const l = readLayer(new GraphEdit(g), inferTypes(g), 0) as Layer;
  const m = layerMatrix(l, g.nodes[0]!) as LayerMatrix;
  return { layer: l, m };
}

const convCases: { name: string; x: number[]; w: number[]; attrs: Attribute[] }[] = [
  { name: "3×3, stride 2, asymmetric pads", x: [2, 4, 7, 6], w: [6, 4, 3, 3], attrs: [ints("strides", [2, 2]), ints("pads", [1, 0, 0, 1])] },
  { name: "groups 2, stride 2, SAME_UPPER", x: [2, 4, 6, 5], w: [6, 2, 3, 2], attrs: [int("group", 2), ints("strides", [2, 2]), { name: "auto_pad", type: 3, s: new TextEncoder().encode("SAME_UPPER") } as Attribute] },
  { name: "dilation 2", x: [1, 2, 7, 7], w: [2, 2, 3, 3], attrs: [ints("dilations", [2, 2]), ints("pads", [2, 1, 2, 1])] },
  { name: "depthwise 3×3, pads 1", x: [1, 3, 5, 5], w: [3, 1, 3, 3], attrs: [int("group", 3), ints("pads", [1, 1, 1, 1])] },
  { name: "1-D, stride 2", x: [2, 2, 9], w: [3, 2, 3], attrs: [ints("strides", [2])] },
];

let kernel: GramKernel;
beforeAll(async () => {
  kernel = await GramKernel.create(1);
});
afterAll(() => kernel.release());

describe("layer matrices and Gram", () => {
  it.each(convCases)("Conv $name: W_g · patch equals ONNX Runtime's output; Gram = Σ p·pᵀ", async ({ x, w, attrs }) => {
    const rng = new Rng(5);
    const wt = randTensor(rng, "W", w);
    const g = graph([node("Conv", ["X", "W"], ["Y"], attrs)], [value("X", 1, x)], [value("Y", 1)], [wt]);
    const xt = randTensor(rng, "X", x);
    const xs = Float32Array.from(tensorToFloat64(xt));
    const y = (await run(model(g), { X: { dtype: 1, dims: x, data: xs } }))["Y"]!;
    const { layer, m } = layerOf(g);
    const wv = Float32Array.from(randTensorValues(wt));
    const geo = convGeometry(g.nodes[0]!, x.slice(2), w.slice(2));
    const positions = geo.outSize.reduce((a, b) => a * b, 1);
    const sample = x.slice(1).reduce((a, b) => a * b, 1);
    const cg = x[1]! / m.groups;
    const want = Array.from({ length: m.groups }, () => new Float64Array(m.cols * m.cols));
    for (let n = 0; n < x[0]!; n++) {
      for (let gi = 0; gi < m.groups; gi++) {
        // Positions in chunks of 4, as columns 0–3 of a block.
        for (let p0 = 0; p0 < positions; p0 += 4) {
          const count = Math.min(4, positions - p0);
          const pt = new Float64Array(m.cols * 4);
          writePatches(xs, n * sample, geo, gi, cg, pt, 4, 0, p0, count);
          for (let b = 0; b < count; b++) {
            for (let r = 0; r < m.rows; r++) {
              let s = 0;
              for (let c = 0; c < m.cols; c++) s += wv[m.index[(gi * m.rows + r) * m.cols + c]!]! * pt[c * 4 + b]!;
              const o = gi * m.rows + r;
              expect(s).toBeCloseTo(y[(n * w[0]! + o) * positions + p0 + b]!, 4);
            }
            for (let i = 0; i < m.cols; i++) for (let j = 0; j < m.cols; j++) want[gi]![i * m.cols + j] += pt[i * 4 + b]! * pt[j * 4 + b]!;
          }
        }
      }
    }
    // Streamed in two batches of one sample each (or one batch).
    const gram = new LayerGram(layer, g.nodes[0]!, m, kernel);
    const half = x[0]! > 1 ? 1 : x[0]!;
    await gram.add({ dtype: 1, dims: [half, ...x.slice(1)], data: xs.subarray(0, half * sample) });
    if (half < x[0]!) await gram.add({ dtype: 1, dims: [x[0]! - half, ...x.slice(1)], data: xs.subarray(half * sample) });
    await gram.finish();
    expect(gram.columns).toBe(x[0]! * positions);
    // float32 within a block of columns, float64 across blocks.
    for (const [gi, h] of gram.h.entries()) for (const [k, v] of h.entries()) expect(Math.abs(v - want[gi]![k]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[gi]![k]!)));
  });

  it.each([
    { name: "stride 2, pads, output_padding", x: [2, 3, 4, 5], w: [3, 2, 3, 3], attrs: [ints("strides", [2, 2]), ints("pads", [1, 0, 0, 1]), ints("output_padding", [1, 0])] },
    { name: "groups 2, dilation 2", x: [1, 4, 4, 4], w: [4, 3, 2, 3], attrs: [int("group", 2), ints("dilations", [2, 2])] },
    { name: "1-D, stride 3", x: [2, 2, 5], w: [2, 2, 4], attrs: [ints("strides", [3])] },
  ])("ConvTranspose $name: W_g · transposed patch equals ONNX Runtime's output; Gram = Σ p·pᵀ", async ({ x, w, attrs }) => {
    const rng = new Rng(6);
    const wt = randTensor(rng, "W", w);
    const g = graph([node("ConvTranspose", ["X", "W"], ["Y"], attrs)], [value("X", 1, x)], [value("Y", 1)], [wt]);
    const xs = Float32Array.from(tensorToFloat64(randTensor(rng, "X", x)));
    const y = (await run(model(g), { X: { dtype: 1, dims: x, data: xs } }))["Y"]!;
    const { layer, m } = layerOf(g);
    const wv = randTensorValues(wt);
    const geo = convTransposeGeometry(g.nodes[0]!, x.slice(2), w.slice(2));
    const positions = geo.outSize.reduce((a, b) => a * b, 1);
    const outChannels = m.groups * m.rows;
    expect(y.length).toBe(x[0]! * outChannels * positions);
    const sample = x.slice(1).reduce((a, b) => a * b, 1);
    const cg = x[1]! / m.groups;
    const want = Array.from({ length: m.groups }, () => new Float64Array(m.cols * m.cols));
    for (let n = 0; n < x[0]!; n++) {
      for (let gi = 0; gi < m.groups; gi++) {
        const pt = new Float64Array(m.cols * positions);
        writeTransposedPatches(xs, n * sample, geo, gi, cg, pt, positions, 0, 0, positions);
        for (let p = 0; p < positions; p++) {
          for (let r = 0; r < m.rows; r++) {
            let s = 0;
            for (let c = 0; c < m.cols; c++) s += wv[m.index[(gi * m.rows + r) * m.cols + c]!]! * pt[c * positions + p]!;
            expect(s).toBeCloseTo(y[(n * outChannels + gi * m.rows + r) * positions + p]!, 4);
          }
          for (let i = 0; i < m.cols; i++) for (let j = 0; j < m.cols; j++) want[gi]![i * m.cols + j] += pt[i * positions + p]! * pt[j * positions + p]!;
        }
      }
    }
    const gram = new LayerGram(layer, g.nodes[0]!, m, kernel);
    await gram.add({ dtype: 1, dims: x, data: xs });
    await gram.finish();
    expect(gram.columns).toBe(x[0]! * positions);
    for (const [gi, h] of gram.h.entries()) for (const [k, v] of h.entries()) expect(Math.abs(v - want[gi]![k]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[gi]![k]!)));
  });

  it.each([
    { name: "Gemm transB", op: "Gemm", w: [3, 5], attrs: [int("transB", 1)], x: [4, 5] },
    { name: "MatMul, rank-3 input", op: "MatMul", w: [5, 3], attrs: [], x: [2, 3, 5] },
  ])("$name: the rows of the input are the columns, W[r, c] reads feature c", async ({ op, w, attrs, x }) => {
    const rng = new Rng(8);
    const wt = randTensor(rng, "W", w);
    const g = graph([node(op, ["X", "W"], ["Y"], attrs)], [value("X", 1, x)], [value("Y", 1)], [wt]);
    const { layer, m } = layerOf(g);
    expect([m.groups, m.rows, m.cols]).toEqual([1, 3, 5]);
    const wv = randTensorValues(wt);
    // W[r, c] is the weight multiplying feature c into output r.
    for (let r = 0; r < 3; r++) for (let c = 0; c < 5; c++) expect(wv[m.index[r * 5 + c]!]).toBe(op === "Gemm" ? wv[r * 5 + c] : wv[c * 3 + r]);
    const xs = Float32Array.from({ length: x.reduce((a, b) => a * b, 1) }, () => rng.float() - 0.5);
    const gram = new LayerGram(layer, g.nodes[0]!, m, kernel);
    await gram.add({ dtype: 1, dims: x, data: xs });
    await gram.finish();
    const rows = xs.length / 5;
    expect(gram.columns).toBe(rows);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += xs[r * 5 + i]! * xs[r * 5 + j]!;
        expect(gram.h[0]![i * 5 + j]).toBeCloseTo(s, 5);
      }
    }
  });

  it("Gemm transA: the columns of A [K, M] are the input columns, and ONNX Runtime's output is W·(column)", async () => {
    const rng = new Rng(9);
    const wt = randTensor(rng, "W", [5, 3]);
    const g = graph([node("Gemm", ["A", "W"], ["Y"], [int("transA", 1)])], [value("A", 1, [5, 4])], [value("Y", 1)], [wt]);
    const { layer, m } = layerOf(g);
    expect([m.groups, m.rows, m.cols, m.transA]).toEqual([1, 3, 5, true]);
    const xs = Float32Array.from({ length: 20 }, () => rng.float() - 0.5);
    const y = (await run(model(g), { A: { dtype: 1, dims: [5, 4], data: xs } }))["Y"]!;
    const wv = randTensorValues(wt);
    for (let r = 0; r < 3; r++) {
      for (let col = 0; col < 4; col++) {
        let s = 0;
        for (let c = 0; c < 5; c++) s += wv[m.index[r * 5 + c]!]! * xs[c * 4 + col]!;
        expect(s).toBeCloseTo(y[col * 3 + r]!, 5);
      }
    }
    const gram = new LayerGram(layer, g.nodes[0]!, m, kernel);
    await gram.add({ dtype: 1, dims: [5, 4], data: xs });
    await gram.finish();
    expect(gram.columns).toBe(4);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let col = 0; col < 4; col++) s += xs[i * 4 + col]! * xs[j * 4 + col]!;
        expect(gram.h[0]![i * 5 + j]).toBeCloseTo(s, 5);
      }
    }
  });

  it("columns across blocks of 1024 and batches: float64 sums of float32 block products", async () => {
    const rng = new Rng(4);
    const g = graph([node("Gemm", ["X", "W"], ["Y"], [int("transB", 1)])], [value("X", 1, [1500, 3])], [value("Y", 1)], [randTensor(rng, "W", [2, 3])]);
    const { layer, m } = layerOf(g);
    const gram = new LayerGram(layer, g.nodes[0]!, m, kernel);
    const xs = Float32Array.from({ length: 3 * 3000 }, () => rng.float());
    await gram.add({ dtype: 1, dims: [1500, 3], data: xs.subarray(0, 4500) });
    await gram.add({ dtype: 1, dims: [1500, 3], data: xs.subarray(4500) });
    await gram.finish();
    expect(gram.columns).toBe(3000);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let r = 0; r < 3000; r++) s += xs[r * 3 + i]! * xs[r * 3 + j]!;
        expect(Math.abs(gram.h[0]![i * 3 + j]! - s) / s).toBeLessThan(1e-6);
      }
    }
  });
});

describe("chunked Gram matrices (stochastic-Gram AdaRound)", () => {
  it("Conv, groups 2: chunk c's Gram equals the Gram of its samples alone; the chunks sum to H", async () => {
    const rng = new Rng(8);
    const x = [10, 4, 5, 5];
    const g = graph([node("Conv", ["X", "W"], ["Y"], [int("group", 2), ints("pads", [1, 1, 1, 1])])], [value("X", 1, x)], [value("Y", 1)], [randTensor(rng, "W", [4, 2, 3, 3])]);
    const { layer, m } = layerOf(g);
    const sample = 4 * 25;
    const xs = Float32Array.from({ length: 10 * sample }, () => rng.float() - 0.3);
    const gram = new LayerGram(layer, g.nodes[0]!, m, kernel);
    gram.chunks = new ChunkGrams(3, 10, m.groups, m.cols); // 4 samples per chunk: 0–3, 4–7, 8–9
    for (let b = 0; b < 10; b += 3) {
      const n = Math.min(3, 10 - b);
      await gram.add({ dtype: 1, dims: [n, ...x.slice(1)], data: xs.subarray(b * sample, (b + n) * sample) }, b, n);
    }
    await gram.finish();
    const kk = m.cols * m.cols;
    for (const [c, [from, to]] of [[0, 4], [4, 8], [8, 10]].entries()) {
      const alone = new LayerGram(layer, g.nodes[0]!, m, kernel);
      await alone.add({ dtype: 1, dims: [to - from, ...x.slice(1)], data: xs.subarray(from * sample, to * sample) });
      await alone.finish();
      expect(gram.chunks.columns[c]).toBe(alone.columns);
      for (let gi = 0; gi < m.groups; gi++) {
        const got = gram.chunks.slice(gi, c);
        for (let i = 0; i < kk; i++) expect(got[i]).toBeCloseTo(alone.h[gi]![i]!, 3);
      }
    }
    for (let gi = 0; gi < m.groups; gi++) {
      for (let i = 0; i < kk; i++) expect(gram.chunks.slice(gi, 0)[i]! + gram.chunks.slice(gi, 1)[i]! + gram.chunks.slice(gi, 2)[i]!).toBeCloseTo(gram.h[gi]![i]!, 3);
    }
    const n1 = gram.chunks.normalized(1, gram.h[1]!, gram.columns);
    expect(n1.count).toBe(3);
    expect(n1.h.length).toBe(4 * kk);
    expect(n1.h[kk + 5]).toBeCloseTo(gram.chunks.slice(1, 1)[5]! / gram.chunks.columns[1]!, 6);
    expect(n1.h[3 * kk + 5]).toBeCloseTo(gram.h[1]![5]! / gram.columns, 6); // the whole H/N last
  });

  it("MatMul on [samples, rows, K]: a sample's rows all go to its chunk; an empty chunk is dropped, H/N comes last", async () => {
    const rng = new Rng(9);
    const g = graph([node("MatMul", ["X", "W"], ["Y"])], [value("X", 1, [7, 4, 3])], [value("Y", 1)], [randTensor(rng, "W", [3, 2])]);
    const { layer, m } = layerOf(g);
    const xs = Float32Array.from({ length: 7 * 4 * 3 }, () => rng.float());
    const gram = new LayerGram(layer, g.nodes[0]!, m, kernel);
    gram.chunks = new ChunkGrams(3, 5, m.groups, m.cols); // sized for 5 samples (2 per chunk); samples 4–6 all fall in the last
    await gram.add({ dtype: 1, dims: [5, 4, 3], data: xs.subarray(0, 60) }, 0, 5);
    await gram.add({ dtype: 1, dims: [2, 4, 3], data: xs.subarray(60) }, 5, 2);
    await gram.finish();
    expect(Array.from(gram.chunks.columns)).toEqual([8, 8, 12]);
    for (const [c, [from, to]] of [[0, 2], [2, 4], [4, 7]].entries()) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          let s = 0;
          for (let r = from * 4; r < to * 4; r++) s += xs[r * 3 + i]! * xs[r * 3 + j]!;
          expect(gram.chunks.slice(0, c)[i * 3 + j]).toBeCloseTo(s, 4);
        }
      }
    }
    const empty = new ChunkGrams(4, 8, 1, 3);
    empty.columns[0] = 2;
    empty.columns[2] = 6;
    empty.sub[0]!.fill(6, 18, 27);
    const n = empty.normalized(0, new Float64Array(9).fill(16), 8);
    expect(n.count).toBe(2);
    expect(Array.from(n.h.subarray(9, 18))).toEqual(Array(9).fill(1));
    expect(Array.from(n.h.subarray(18))).toEqual(Array(9).fill(2));
  });
});

function randTensorValues(t: ReturnType<typeof randTensor>): number[] {
  return Array.from(tensorToFloat64(t));
}
