/**
 * integer/lower-conv-transpose.ts and conv-transpose-phases.ts: a ConvTranspose
 * lowers to one stride-1 conv per output phase, a requant each, and one remap
 * interleaving them. The phase plan is checked by hand on the classic
 * k = 3, s = 2, p = 1, output_padding = 1 decoder layer. Then, for geometries
 * covering strides 1–3, pads, output_padding, dilations, groups (depthwise
 * included), a kernel smaller than its stride (phases without taps) and
 * `output_shape` with an odd total padding, the emulator's output codes equal
 * an independent reference computed here: ONNX's ConvTranspose definition
 * (each input pixel scattered through the kernel, y[o] += x[i]·w[t] at
 * o = i·s + t·d − p) on the integer input, weight and bias codes read from
 * the QDQ file, requantized by numerics' requantize with the program's
 * multipliers. Quantized models (ConvTransposes with groups and
 * output_padding + Relu, with phases without taps, and with output_shape,
 * whose pads ONNX Runtime derives; a tiny decoder Conv → ConvTranspose →
 * Resize → Conv in two Resize modes) go through the whole integer pipeline: certified, within a step or two of
 * ONNX Runtime's fake-quant model, JS = integer-only ONNX (run by ONNX
 * Runtime) = emulator bit for bit. The QDQ writer quantizes a ConvTranspose
 * weight per output channel along axis 1 (groups 1), and the QDQ models run
 * in ONNX Runtime (graph optimizations on) within 30 dB output SQNR of float.
 * A fixed-point decoder (ap_fixed formats) writes each phase through a
 * fixedrescale, and JS and integer ONNX equal the emulator on it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { axisPlan } from "../../src/integer/conv-transpose-phases.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program, RequantOp } from "../../src/integer/program.js";
import type { Graph, Model } from "../../src/ir/graph.js";
import { decodeModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { roundHalfEven } from "../../src/numerics/int.js";
import { quantizeValue } from "../../src/numerics/int-group.js";
import { requantize } from "../../src/numerics/requant.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { expectBitExact } from "../backends/js/check.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { onnxIntMismatches } from "./fixed-designs.js";
import { type ConvTransposeGeometry, convTransposeCase, decoderCase } from "./decoder-models.js";
import { checkIntegerPipeline, type PipelineCase } from "./integer-pipeline.js";

afterAll(cleanupModules);

describe("axisPlan", () => {
  it("splits k = 3, s = 2, p = 1 over H = 3 into O = 6 (output_padding 1) as two phases", () => {
    // o even (r = 0): o + 1 = 2i + t needs t = 1, i = o/2;  o odd (r = 1): t = 0 (i = q + 1) and t = 2 (i = q)
    expect(axisPlan(3, 3, 2, 1, 1, 6)).toEqual({
      length: 3,
      phases: [
        { taps: [1], dilation: 1, padHead: 0, padTail: 0, offset: 0, count: 3 },
        { taps: [2, 0], dilation: 1, padHead: 0, padTail: 1, offset: 0, count: 3 },
      ],
    });
  });

  it("does the scatter's own MACs (H·k per axis, every tap once per input pixel), half of a zero-inserted conv's (O·k) at stride 2", () => {
    for (const [H, k, s, p, O] of [
      [32, 3, 2, 1, 64], // k3 s2 p1 output_padding 1
      [32, 4, 2, 1, 64], // k4 s2 p1 (DCGAN)
      [32, 2, 2, 0, 64], // k2 s2
      [20, 5, 2, 2, 40], // k5 s2 p2 output_padding 1
    ] as const) {
      const plan = axisPlan(H, k, s, 1, p, O);
      const macs = plan.phases.reduce((a, ph) => a + plan.length * ph.taps.length, 0);
      expect(macs).toBe(H * k);
      expect(O * k).toBe(2 * macs);
    }
  });

  it("gives a phase no taps when the kernel is shorter than the stride (k = 2, s = 3)", () => {
    const plan = axisPlan(4, 2, 3, 1, 0, 11);
    expect(plan.phases.map((p) => p.taps)).toEqual([[0], [1], []]);
    expect(plan.phases.map((p) => p.count)).toEqual([4, 4, 3]);
  });
});

/** The integer codes of a DequantizeLinear-fed input of `node` in a QDQ graph, with the zero point subtracted. */
function dequantizedCodes(g: Graph, name: string): { codes: Float64Array; scale: Float64Array } | undefined {
  const dq = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === name);
  if (!dq) return undefined;
  const init = (n: string) => g.initializers.find((t) => t.name === n)!;
  const zp = dq.inputs[2] ? tensorToFloat64(init(dq.inputs[2])) : new Float64Array([0]);
  expect(Array.from(zp).every((z) => z === 0)).toBe(true);
  return { codes: tensorToFloat64(init(dq.inputs[0]!)), scale: tensorToFloat64(init(dq.inputs[1]!)) };
}

/** The int32 bias: its codes when stored quantized, else round(b / (S_x·S_w[m])) (S_w per output channel m, of length M/g along axis 1). */
function biasCodes(g: Graph, name: string, sx: number, sw: Float64Array, M: number): Float64Array {
  const q = dequantizedCodes(g, name);
  if (q) return q.codes;
  const b = tensorToFloat64(g.initializers.find((t) => t.name === name)!);
  return Float64Array.from({ length: M }, (_, m) => roundHalfEven(b[m]! / (sx * sw[m % sw.length]!)));
}

/**
 * ONNX's ConvTranspose on integers, straight from its definition: every input
 * pixel scattered through the kernel into acc[m, i·s + t·d − p] (the leading
 * `pads` cropped), bias first; then the program's requant.
 */
function naiveConvTranspose(qdq: Model, p: Program, x: Float32Array, N: number, g: ConvTransposeGeometry, outHW: [number, number]): Int32Array {
  const graph = qdq.graph!;
  const node = graph.nodes.find((n) => n.opType === "ConvTranspose")!;
  const w = dequantizedCodes(graph, node.inputs[1]!)!;
  const q = p.ops.find((o) => o.kind === "quantize")!;
  if (q.kind !== "quantize") throw new Error("unreachable");
  const b = biasCodes(graph, node.inputs[2]!, q.scale, w.scale, g.outChannels);
  const rq = p.ops.filter((o): o is RequantOp => o.kind === "requant");
  const [C, H, W] = g.input;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides ?? [1, 1];
  const [dh, dw] = g.dilations ?? [1, 1];
  const group = g.group ?? 1;
  const M = g.outChannels;
  const Mg = M / group;
  const Cg = C / group;
  const [OH, OW] = outHW;
  let [ph, pw] = g.pads ?? [0, 0];
  if (g.outputShape) {
    // the ONNX spec (auto_pad NOTSET): pads[start] = total − ⌊total/2⌋, the odd one at the start
    const op = g.outputPadding ?? [0, 0];
    const total = [sh * (H - 1) + op[0] + (kh - 1) * dh + 1 - OH, sw * (W - 1) + op[1] + (kw - 1) * dw + 1 - OW];
    [ph, pw] = total.map((t) => t - Math.floor(t / 2)) as [number, number];
  }
  const y = new Int32Array(N * M * OH * OW);
  for (let n = 0; n < N; n++) {
    const acc = new Float64Array(M * OH * OW);
    for (let m = 0; m < M; m++) acc.fill(b[m]!, m * OH * OW, (m + 1) * OH * OW);
    for (let c = 0; c < C; c++) {
      const grp = Math.floor(c / Cg);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const xv = quantizeValue(x[((n * C + c) * H + i) * W + j]!, q.scale, q.zeroPoint, q.qmin, q.qmax) - q.zeroPoint;
          for (let ml = 0; ml < Mg; ml++) {
            for (let t = 0; t < kh; t++) {
              const oh = i * sh + t * dh - ph;
              if (oh < 0 || oh >= OH) continue;
              for (let u = 0; u < kw; u++) {
                const ow = j * sw + u * dw - pw;
                if (ow < 0 || ow >= OW) continue;
                acc[((grp * Mg + ml) * OH + oh) * OW + ow]! += xv * w.codes[((c * Mg + ml) * kh + t) * kw + u]!;
              }
            }
          }
        }
      }
    }
    const r = rq[0]!;
    for (let m = 0; m < M; m++) {
      const d = r.multipliers[r.multipliers.length === 1 ? 0 : m]!;
      for (let k = 0; k < OH * OW; k++) y[n * M * OH * OW + m * OH * OW + k] = requantize(acc[m * OH * OW + k]!, d, r.outZero, r.clampLo, r.clampHi, p.rounding);
    }
  }
  return y;
}

const GEOMETRIES: ConvTransposeGeometry[] = [
  { name: "k3 s2 p1 output_padding 1", input: [4, 5, 4], outChannels: 6, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] },
  { name: "k4 s2 p1 (DCGAN)", input: [3, 4, 3], outChannels: 4, kernel: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1] },
  { name: "groups 2, uneven pads, output_padding [1, 0], Relu", input: [4, 5, 5], outChannels: 6, kernel: [3, 3], strides: [2, 2], pads: [0, 1, 1, 0], outputPadding: [1, 0], group: 2, relu: true },
  { name: "depthwise (groups = channels)", input: [3, 4, 4], outChannels: 3, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 3 },
  { name: "stride 3, dilation 2, pads [2, 1, 0, 2]", input: [2, 4, 5], outChannels: 3, kernel: [3, 3], strides: [3, 3], pads: [2, 1, 0, 2], dilations: [2, 2] },
  { name: "dilation 2 with stride 2 (taps of one parity per phase)", input: [2, 4, 4], outChannels: 2, kernel: [3, 2], strides: [2, 2], dilations: [2, 3] },
  { name: "k2 s3 (phases without taps), output_padding [2, 1]", input: [2, 3, 4], outChannels: 3, kernel: [2, 2], strides: [3, 3], outputPadding: [2, 1] },
  { name: "output_shape with odd total padding", input: [3, 4, 4], outChannels: 2, kernel: [3, 3], strides: [2, 2], outputShape: [8, 7] },
  { name: "stride 1 pads 1 (one phase, no remap)", input: [3, 5, 4], outChannels: 4, kernel: [3, 3], pads: [1, 1, 1, 1] },
  { name: "strides [2, 1]", input: [2, 3, 5], outChannels: 2, kernel: [2, 3], strides: [2, 1], pads: [0, 1, 0, 1] },
];

/** Quantizes a case with the default recipe (calibrated on its feeds) and integerizes it. */
async function lower(c: PipelineCase): Promise<{ qdq: Model; p: Program }> {
  const host = Object.fromEntries(Object.entries(c.feeds).map(([k, data]) => [k, { dtype: 1, dims: c.dims[k]!, data }]));
  const { model: qdq } = await quantizeModel(c.model, arraySource(host), buildRecipe({}), { threads: 1 });
  return { qdq, p: integerizeModel(qdq) };
}

describe("ConvTranspose in the emulator equals ONNX's definition on the integer codes", () => {
  const N = 6;
  it.each(GEOMETRIES.map((g, k) => [g.name, g, k] as const))("%s", async (_name, g, k) => {
    const c = convTransposeCase(g, 100 + k, N);
    const { qdq, p } = await lower(c);
    const out = p.outputs[0]!;
    const [, OH, OW] = out.shape as [number, number, number];
    const single = (g.strides ?? [1, 1]).every((s) => s === 1);
    expect(p.ops.filter((o) => o.kind === "remap").length).toBe(single ? 0 : 1);
    expect(p.ops.filter((o) => o.kind === "conv").length).toBe((g.strides ?? [1, 1])[0] * (g.strides ?? [1, 1])[1]);
    const emu = runProgram(p, new Map([["x", c.feeds.x!]]), N);
    const want = naiveConvTranspose(qdq, p, c.feeds.x!, N, g, [OH, OW]);
    expect(Array.from(emu.ints.get(out.name)!)).toEqual(Array.from(want));
  }, 30_000);
});

describe("the QDQ writer and ConvTranspose weights", () => {
  it("quantizes a groups-1 ConvTranspose weight [C, M, k, k] per output channel along axis 1", async () => {
    const { qdq } = await lower(convTransposeCase(GEOMETRIES[0]!, 7, 8));
    const g = qdq.graph!;
    const ct = g.nodes.find((n) => n.opType === "ConvTranspose")!;
    const dq = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === ct.inputs[1])!;
    expect(dq.attributes.find((a) => a.name === "axis")?.i).toBe(1);
    expect(g.initializers.find((t) => t.name === dq.inputs[1])!.dims.map(Number)).toEqual([6]);
  }, 30_000);
});

describe.each([
  convTransposeCase(GEOMETRIES[2]!, 11, 64),
  convTransposeCase(GEOMETRIES[6]!, 14, 64),
  convTransposeCase(GEOMETRIES[7]!, 15, 64),
  decoderCase(12, 64, "asymmetric", "floor"),
  decoderCase(13, 64, "half_pixel", "round_prefer_floor"),
  decoderCase(16, 64, "half_pixel", "floor", "linear"),
])("integer ConvTranspose pipeline: $name", (c) => {
  it("certified; tracks fake-quant; JS = integer ONNX = emulator", async () => {
    const { program, worstSteps } = await checkIntegerPipeline(c, 64);
    expect(program.ops.some((o) => o.kind === "remap")).toBe(true);
    expect(worstSteps).toBeLessThanOrEqual(2);
  }, 60_000);
});

/** Output SQNR (dB) of the QDQ model run by ONNX Runtime with its graph optimizations (integer kernels where it has them) against the float model. */
async function qdqSqnr(c: PipelineCase): Promise<number> {
  const host = Object.fromEntries(Object.entries(c.feeds).map(([k, data]) => [k, { dtype: 1, dims: c.dims[k]!, data }]));
  const { model: qdq } = await quantizeModel(c.model, arraySource(host), buildRecipe({}), { threads: 1 });
  const run = async (m: Model) => {
    const s = await OrtSession.create(m, { threads: 1 });
    return (await s.run(host).finally(() => s.release())).y!.data as Float32Array;
  };
  const f = await run(c.model);
  const q = await run(qdq);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < f.length; i++) {
    signal += f[i]! ** 2;
    noise += (q[i]! - f[i]!) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

describe("QDQ ConvTranspose and Resize models in ONNX Runtime track the float model", () => {
  it.each([
    ["ConvTranspose groups 2 + Relu", convTransposeCase(GEOMETRIES[2]!, 31, 64)],
    ["ConvTranspose k4 s2 (DCGAN)", convTransposeCase(GEOMETRIES[1]!, 32, 64)],
    ["decoder, Resize half_pixel", decoderCase(33, 64, "half_pixel", "round_prefer_floor")],
    ["decoder, Resize linear", decoderCase(34, 64, "half_pixel", "floor", "linear")],
  ] as const)("%s: output SQNR ≥ 30 dB", async (_name, c) => {
    expect(await qdqSqnr(c)).toBeGreaterThanOrEqual(30); // measured 40–41 dB
  }, 30_000);
});

describe("a fixed-point decoder (fixed<8,3> activations, fixed<8,1> weights)", () => {
  it("writes every ConvTranspose and linear Resize phase through a fixedrescale; JS = integer ONNX = emulator", async () => {
    const c = decoderCase(41, 32, "half_pixel", "floor", "linear");
    const host = { x: { dtype: 1, dims: c.dims.x!, data: c.feeds.x! } };
    const { model } = await quantizeModel(c.model, arraySource(host), buildRecipe({ acts: "fixed<8,3>", weights: "fixed<8,1>" }), { threads: 1 });
    const p = integerizeModel(decodeModel(encodeModel(model)));
    // enc, 4 ConvTranspose phases, 4 Resize phases, head
    expect(p.ops.filter((o) => o.kind === "fixedrescale").length).toBe(10);
    expect(p.ops.some((o) => o.kind === "requant")).toBe(false);
    const sets = [{ data: { x: c.feeds.x! }, batch: 32 }];
    expect(await expectBitExact(p, sets)).toBeGreaterThan(0);
    const onnx = await onnxIntMismatches(p, sets);
    expect({ ints: onnx.ints, floats: onnx.floats }).toEqual({ ints: 0, floats: 0 });
  }, 60_000);
});
