/**
 * The ONNX forms fixq writes for float formats, run in ONNX Runtime (CPU) and
 * compared bit for bit with fixq's own numerics:
 * - FP8 weights: DequantizeLinear of FLOAT8E4M3FN/E5M2 codes with an FP8 zero
 *   point, per tensor and per channel (opset 19);
 * - FP8 activations: QuantizeLinear → DequantizeLinear, saturating;
 * - MXFP8 / MXINT8 weights: blocked DequantizeLinear-21 with float32 2^e scales,
 *   ragged last block, Conv weights reshaped from [Cout, Cin·kh·kw];
 * - dynamic MX / NVFP4 activations: the graph of standard ops of
 *   block-act-graph.ts, for every element format;
 * and the forms ORT cannot run (FLOAT4E2M1, E8M0 scales), checked for
 * structure and against the dequantized form.
 */
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph, Node } from "../../src/ir/graph.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import type { DynamicBlockQuant, FloatQuant, MxQuant, Nvfp4Quant } from "../../src/ir/quant.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { decodeFloats, encodeFloats } from "../../src/numerics/float-codec.js";
import { FP8_E4M3FN, FP8_E5M2 } from "../../src/numerics/float-formats.js";
import { fakeQuantizeMx, MX_FORMATS, mxFormat, mxScales } from "../../src/numerics/mx.js";
import { fakeQuantizeNvfp4, quantizeNvfp4 } from "../../src/numerics/nvfp4.js";
import { blockLayout } from "../../src/numerics/groups.js";
import { irVersionForOpset } from "../../src/passes/upgrade-opset.js";
import { dynamicBlockGraph } from "../../src/quant/block-act-graph.js";
import { decodeFloatWeight, encodeFloatWeight } from "../../src/quant/float-weights.js";
import { writeFloatWeight } from "../../src/quant/qdq-float-write.js";
import { Rng } from "../helpers/prng.js";
import { graph, model, value } from "../ir/builders.js";

function fresh(): (b: string) => string {
  let k = 0;
  return (b) => `${b}_${k++}`;
}

async function runOrt(g: Graph, opset: number, feeds: Record<string, ort.Tensor>, level: "disabled" | "all" = "all"): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel({ ...model(g, opset), irVersion: irVersionForOpset(opset) }), { graphOptimizationLevel: level });
  try {
    return (await s.run(feeds))["y"]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Values spread over many binades, with exact powers of two, ties of small grids, zeros and both signs. */
function testValues(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const sign = rng.float() < 0.5 ? -1 : 1;
    const r = rng.float();
    if (r < 0.1) x[i] = sign * 2 ** Math.floor(rng.float() * 20 - 10);
    else if (r < 0.2) x[i] = sign * [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 7][Math.floor(rng.float() * 8)]! * 2 ** Math.floor(rng.float() * 6 - 3);
    else if (r < 0.25) x[i] = 0;
    else x[i] = sign * 2 ** (rng.float() * 24 - 12);
  }
  return x;
}

function expectBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (Object.is(actual[i], expected[i]) || (actual[i] === 0 && expected[i] === 0)) continue;
    expect.fail(`${what}: element ${i}: ORT ${actual[i]}, fixq ${expected[i]}`);
  }
}

/** A graph with no inputs whose output y is what `nodes` compute from the initializers. */
function constGraph(nodes: Node[], inits: Tensor[], y: string, dims: number[]): Graph {
  return graph([...nodes, { opType: "Identity", name: "out", inputs: [y], outputs: ["y"], attributes: [] }], [], [value("y", DataType.FLOAT, dims)], inits);
}

describe("FP8 weights and activations in ORT", () => {
  for (const fmt of [FP8_E4M3FN, FP8_E5M2]) {
    for (const axis of [undefined, 0]) {
      it(`${fmt.name} weight DequantizeLinear ${axis === undefined ? "per tensor" : "per channel"}: ORT gives fixq's decoded values`, async () => {
        const dims = [6, 50];
        const w = makeFloatTensor("w", dims, testValues(300, 7));
        const amax = axis === undefined ? [Math.max(...Array.from(tensorToFloat64(w), Math.abs))] : [0, 1, 2, 3, 4, 5].map((c) => Math.max(...Array.from(tensorToFloat64(w).slice(c * 50, c * 50 + 50), Math.abs)));
        const spec: FloatQuant = { kind: "float", format: fmt, scale: Float32Array.from(amax, (a) => a / fmt.max), axis };
        const out = writeFloatWeight("w", w, spec, { storage: "native", e8m0Scales: false }, fresh(), encodeFloatWeight(w, spec));
        const q = out.inits.find((t) => t.dtype === fmt.onnxType && t.dims.length === 2)!;
        expect(out.inits.filter((t) => t.dtype === fmt.onnxType).length).toBe(2); // codes and zero point
        const y = await runOrt(constGraph(out.nodes, out.inits, out.out, dims), 19, {});
        expectBits(y, decodeFloatWeight(q.raw!, dims, spec), "weights");
      });
    }

    it(`${fmt.name} activation QuantizeLinear → DequantizeLinear (saturating) agrees with encode/decode`, async () => {
      const x = testValues(4000, 11);
      x[0] = 1e30;
      x[1] = -1e30;
      const s = Math.fround(3 / fmt.max);
      const g = graph(
        [
          { opType: "QuantizeLinear", name: "q", inputs: ["x", "s", "z"], outputs: ["q"], attributes: [] },
          { opType: "DequantizeLinear", name: "dq", inputs: ["q", "s", "z"], outputs: ["y"], attributes: [] },
        ],
        [value("x", DataType.FLOAT, [x.length])],
        [value("y", DataType.FLOAT, [x.length])],
        [makeFloatTensor("s", [], [s]), { name: "z", dtype: fmt.onnxType, dims: [], raw: new Uint8Array(1) }],
      );
      const y = await runOrt(g, 19, { x: new ort.Tensor("float32", x, [x.length]) }, "disabled");
      const scaled = Float32Array.from(x, (v) => v / s);
      const expected = decodeFloats(fmt, encodeFloats(fmt, scaled, { saturate: true })).map((v) => v * s);
      expectBits(y, expected, "Q/DQ");
    });
  }
});

describe("MX weights: blocked DequantizeLinear-21 in ORT", () => {
  for (const name of ["mxfp8e4m3", "mxfp8e5m2", "mxint8"] as const) {
    it(`${name}: a Conv weight [5, 3, 3, 3] blocked along Cin·kh·kw = 27, and a Gemm weight with K = 70 (ragged)`, async () => {
      const fmt = mxFormat(name);
      for (const [dims, view, axis] of [
        [[5, 3, 3, 3], [5, 27], 1],
        [[70, 4], [70, 4], 0],
      ] as const) {
        const n = dims.reduce((a, b) => a * b, 1);
        const w = makeFloatTensor("w", dims, testValues(n, n));
        const x = Float32Array.from(tensorToFloat64(w));
        const spec: MxQuant = { kind: "mx", format: fmt, view, axis, blockSize: 32, scales: mxScales(fmt, x, blockLayout(view, axis, 32)) };
        const out = writeFloatWeight("w", w, spec, { storage: "native", e8m0Scales: false }, fresh(), encodeFloatWeight(w, spec));
        expect(out.nodes.map((k) => k.opType)).toEqual(view.length === dims.length && view.every((d, k) => d === dims[k]) ? ["DequantizeLinear"] : ["DequantizeLinear", "Reshape"]);
        const y = await runOrt(constGraph(out.nodes, out.inits, out.out, [...dims]), 21, {});
        expectBits(y, fakeQuantizeMx(fmt, x, view, axis), `${name} [${dims}]`);
      }
    });
  }

  it("dequantized storage holds exactly what the native form decodes to (MXFP4, NVFP4)", () => {
    const dims = [4, 3, 3, 3];
    const w = makeFloatTensor("w", dims, testValues(108, 5));
    const x = Float32Array.from(tensorToFloat64(w));
    const view = [4, 27];
    const mx: MxQuant = { kind: "mx", format: mxFormat("mxfp4"), view, axis: 1, blockSize: 32, scales: mxScales(mxFormat("mxfp4"), x, blockLayout(view, 1, 32)) };
    const t = quantizeNvfp4(x, view, 1);
    const nv: Nvfp4Quant = { kind: "nvfp4", view, axis: 1, blockSize: 16, tensorScale: t.tensorScale, blockScales: t.blockScales };
    for (const spec of [mx, nv]) {
      const native = writeFloatWeight("w", w, spec, { storage: "native", e8m0Scales: false }, fresh(), encodeFloatWeight(w, spec));
      const deq = writeFloatWeight("w", w, spec, { storage: "dequantized", e8m0Scales: false }, fresh(), encodeFloatWeight(w, spec));
      expect(deq.nodes).toEqual([]);
      const fp4 = native.inits.find((i) => i.dtype === DataType.FLOAT4E2M1)!;
      expect(fp4.dims).toEqual(view);
      expect(fp4.raw!.length).toBe(Math.ceil(108 / 2));
      // decode the native FP4 codes with the IR's reader, scale them as the DequantizeLinear chain does
      const codes = Float32Array.from(tensorToFloat64(fp4));
      const expected = spec.kind === "mx" ? fakeQuantizeMx(spec.format, x, view, 1) : fakeQuantizeNvfp4(x, view, 1, spec.tensorScale);
      expect(Array.from(tensorToFloat64(deq.inits[0]!))).toEqual(Array.from(expected));
      expect(codes.every((c) => [0, 0.5, 1, 1.5, 2, 3, 4, 6].includes(Math.abs(c)))).toBe(true);
    }
  });

  it("NVFP4 native: E4M3 block scales dequantized by the FP32 tensor scale, then FP4 blocks of 16 (opset 23)", () => {
    const dims = [3, 40];
    const w = makeFloatTensor("w", dims, testValues(120, 9));
    const t = quantizeNvfp4(Float32Array.from(tensorToFloat64(w)), dims, 1);
    const spec: Nvfp4Quant = { kind: "nvfp4", view: dims, axis: 1, blockSize: 16, tensorScale: t.tensorScale, blockScales: t.blockScales };
    const out = writeFloatWeight("w", w, spec, { storage: "native", e8m0Scales: false }, fresh(), encodeFloatWeight(w, spec));
    const inits = new Map(out.inits.map((i) => [i.name, i]));
    expect(out.nodes.map((k) => k.opType)).toEqual(["DequantizeLinear", "DequantizeLinear"]);
    const [dq1, dq2] = out.nodes as [Node, Node];
    expect(inits.get(dq1.inputs[0]!)!.dtype).toBe(DataType.FLOAT8E4M3FN);
    expect(inits.get(dq1.inputs[0]!)!.dims).toEqual([3, 3]);
    expect(inits.get(dq1.inputs[1]!)!.dims).toEqual([]);
    expect(dq2.inputs[1]).toBe(dq1.outputs[0]);
    expect(inits.get(dq2.inputs[0]!)!.dtype).toBe(DataType.FLOAT4E2M1);
    expect(dq2.attributes.map((a) => [a.name, Number(a.i)])).toEqual([
      ["axis", 1],
      ["block_size", 16],
    ]);
  });

  it("MX scales are FLOAT8E8M0 with output_dtype FLOAT when the opset allows (24), float32 powers of two otherwise", () => {
    const dims = [2, 64];
    const w = makeFloatTensor("w", dims, testValues(128, 3));
    const fmt = mxFormat("mxfp4");
    const scales = mxScales(fmt, Float32Array.from(tensorToFloat64(w)), blockLayout(dims, 1, 32));
    const spec: MxQuant = { kind: "mx", format: fmt, view: dims, axis: 1, blockSize: 32, scales };
    const e8 = writeFloatWeight("w", w, spec, { storage: "native", e8m0Scales: true }, fresh(), encodeFloatWeight(w, spec));
    const s8 = e8.inits.find((i) => i.name === e8.nodes[0]!.inputs[1])!;
    expect(s8.dtype).toBe(DataType.FLOAT8E8M0);
    expect(Array.from(s8.raw!)).toEqual(Array.from(scales));
    expect(e8.nodes[0]!.attributes.find((a) => a.name === "output_dtype")?.i).toBe(DataType.FLOAT);
    const f32 = writeFloatWeight("w", w, spec, { storage: "native", e8m0Scales: false }, fresh(), encodeFloatWeight(w, spec));
    const s32 = f32.inits.find((i) => i.name === f32.nodes[0]!.inputs[1])!;
    expect(Array.from(tensorToFloat64(s32))).toEqual(Array.from(scales, (c) => 2 ** (c - 127)));
    expect(Array.from(tensorToFloat64(s8))).toEqual(Array.from(tensorToFloat64(s32)));
  });

  it("ONNX Runtime 1.30 cannot run FLOAT4E2M1 DequantizeLinear (why --fp4-storage dequantized exists)", async () => {
    const dims = [2, 32];
    const w = makeFloatTensor("w", dims, testValues(64, 4));
    const fmt = mxFormat("mxfp4");
    const spec: MxQuant = { kind: "mx", format: fmt, view: dims, axis: 1, blockSize: 32, scales: mxScales(fmt, Float32Array.from(tensorToFloat64(w)), blockLayout(dims, 1, 32)) };
    const out = writeFloatWeight("w", w, spec, { storage: "native", e8m0Scales: false }, fresh(), encodeFloatWeight(w, spec));
    await expect(runOrt(constGraph(out.nodes, out.inits, out.out, dims), 23, {})).rejects.toThrow(/Could not find an implementation for DequantizeLinear\(23\)/);
  });
});

describe("dynamic MX / NVFP4 activations: the standard-op graph in ORT equals fixq's numerics", () => {
  const cases: { dims: number[]; axis: number }[] = [
    { dims: [3, 70], axis: 1 }, // Gemm input, K = 70: two full blocks of 32 and one of 6
    { dims: [2, 40, 3, 2], axis: 1 }, // Conv input: blocks along channels at each pixel
    { dims: [2, 5, 64], axis: 2 }, // MatMul input, last axis, whole blocks
  ];
  const formats: (DynamicBlockQuant["format"])[] = [...MX_FORMATS, "nvfp4"];
  for (const format of formats) {
    const name = format === "nvfp4" ? "nvfp4" : format.name;
    it(name, async () => {
      for (const c of cases) {
        const n = c.dims.reduce((a, b) => a * b, 1);
        const x = testValues(n, n + c.axis);
        const blockSize = format === "nvfp4" ? 16 : 32;
        const tensorScale = format === "nvfp4" ? Math.fround(37 / 2688) : undefined;
        const spec: DynamicBlockQuant = { kind: "dynamic-block", format, axis: c.axis, extent: c.dims[c.axis]!, blockSize, tensorScale };
        const sub = dynamicBlockGraph("x", "y", spec, fresh());
        const g = graph(sub.nodes, [value("x", DataType.FLOAT, c.dims)], [value("y", DataType.FLOAT, c.dims)], sub.inits);
        const expected = format === "nvfp4" ? fakeQuantizeNvfp4(x, c.dims, c.axis, tensorScale) : fakeQuantizeMx(format, x, c.dims, c.axis);
        for (const level of ["disabled", "all"] as const) {
          const y = await runOrt(g, 19, { x: new ort.Tensor("float32", x, c.dims) }, level);
          expectBits(y, expected, `${name} [${c.dims}] axis ${c.axis} (${level})`);
        }
      }
    });
  }
});
