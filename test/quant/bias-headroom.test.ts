/**
 * quant/bias-headroom.ts and the zero multiplier of integer/lower-linear.ts,
 * on the case PaddleOCR's detector hits: a Conv with one near-dead output
 * channel (weights ~1e-35, bias 1e-28). With per-channel int8 weights that
 * channel's s_x·s_w is ~1e-38, so its bias needs ~1e10 int32 steps. fixq
 * raises the channel's weight scale until the bias fits at s_x·s_w (what
 * ONNX Runtime's integer kernels need), and the lowering gives the channel
 * the zero multiplier its accumulator bound proves exact; the whole integer
 * pipeline then holds (certificate, emulator within two steps of ORT's
 * fake-quant model, JS = integer ONNX = emulator). Hand-computed unit cases
 * check the formula and what does not qualify (16-bit, fixed point, zero
 * points, per-block).
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { checkedMultiplier } from "../../src/integer/lower-linear.js";
import type { RequantOp } from "../../src/integer/program.js";
import type { LoweringContext } from "../../src/integer/lowering-context.js";
import { DataType } from "../../src/ir/dtype.js";
import { type AffineQuant, intFormat } from "../../src/ir/quant.js";
import { makeFloatTensor, tensorToFloat64 } from "../../src/ir/tensor.js";
import { widenWeightScalesForBias } from "../../src/quant/bias-headroom.js";
import { checkIntegerPipeline } from "../integer/integer-pipeline.js";
import { Rng } from "../helpers/prng.js";
import { floatVector, graph, ints, model, node, value } from "../ir/builders.js";

const INT32_MAX = 2 ** 31 - 1;
const int8 = intFormat("int8", { symmetric: true });
const uint8 = intFormat("uint8");
const affine = (format: AffineQuant["format"], scale: number[], zp?: number[]): AffineQuant => ({
  kind: "affine",
  format,
  scale: Float32Array.from(scale),
  zeroPoint: Int32Array.from(zp ?? scale.map(() => 0)),
  axis: scale.length > 1 ? 0 : undefined,
});

describe("widenWeightScalesForBias", () => {
  it("raises only the channel whose bias passes int32 at s_x·s_w, to the smallest scale that holds it (with 1/64 headroom)", () => {
    const w = affine(int8, [0.01, 1e-37, 0.02]);
    const x = affine(uint8, [0.05], [128]);
    const bias = floatVector("b", [3, Math.fround(1e-28), -2]);
    expect(widenWeightScalesForBias(w, w.scale, x, bias, 1)).toEqual([1]);
    expect(w.scale[0]).toBe(Math.fround(0.01));
    expect(w.scale[2]).toBe(Math.fround(0.02));
    // |b|·(1 + 2^-6) / (s_x·(2^31 − 1)) = 1e-28·1.015625 / (0.05·2147483647) ≈ 9.459e-37
    const need = (Math.fround(1e-28) * 1.015625) / (Math.fround(0.05) * INT32_MAX);
    expect(w.scale[1]).toBeGreaterThanOrEqual(need);
    expect(w.scale[1]).toBeLessThan(need * (1 + 2 ** -20));
    // the bias now fits int32 at the float32 accumulator scale
    expect(1e-28 / Math.fround(Math.fround(0.05) * w.scale[1]!)).toBeLessThan(INT32_MAX);
  });

  it("divides by a Gemm's alpha/|beta| factor and widens a per-tensor scale as a whole", () => {
    const w = affine(int8, [1e-30]);
    const x = affine(uint8, [0.1], [0]);
    expect(widenWeightScalesForBias(w, w.scale, x, floatVector("b", [0, Math.fround(4e-20)]), 0.5)).toEqual([1]);
    expect(w.scale[0]).toBeGreaterThanOrEqual((Math.fround(4e-20) * 1.015625) / (0.5 * Math.fround(0.1) * INT32_MAX));
  });

  it("leaves 16-bit formats, fixed point, zero points and block scales alone", () => {
    const bias = floatVector("b", [1, 1]);
    const x = affine(uint8, [0.05], [0]);
    const cases: [AffineQuant, AffineQuant, Float32Array?][] = [
      [affine(intFormat("int16", { symmetric: true }), [1e-37, 1e-37]), x],
      [affine(int8, [1e-37, 1e-37]), affine(intFormat("uint16"), [0.05], [0])],
      [affine(int8, [1e-37, 1e-37], [0, 3]), x],
      [{ ...affine(int8, [2 ** -120, 2 ** -120]), fixed: { signed: true, width: 8, intBits: -112, quantization: "AP_TRN", overflow: "AP_WRAP", saturationBits: 0 } as never }, x],
      [affine(int8, [1e-37, 1e-37]), x, Float32Array.of(1e-37, 1e-37)], // a per-block weight: its bias scale is not its own
    ];
    for (const [w, xs, out] of cases) {
      const before = Array.from(w.scale);
      expect(widenWeightScalesForBias(w, out ?? w.scale, xs, bias, 1)).toEqual([]);
      expect(Array.from(w.scale)).toEqual(before);
    }
    const w = affine(int8, [1e-37, 1e-37]);
    expect(widenWeightScalesForBias(w, w.scale, x, undefined, 1)).toEqual([]);
    expect(widenWeightScalesForBias(w, w.scale, undefined, bias, 1)).toEqual([]);
  });
});

describe("checkedMultiplier: a rescale beyond shift 62", () => {
  const ctx = { multiplierBits: 31 } as LoweringContext;
  const n = node("Conv", [], [], [], "conv");
  it("is the zero multiplier where the accumulator bound proves every product below ½", () => {
    // M = 2^-50: shift 81 at 31 bits; |acc| ≤ 2^40 → |acc·M| ≤ 2^-10
    expect(checkedMultiplier(ctx, n, 2 ** -50, 2 ** 40)).toEqual({ m: 0, s: 0 });
  });
  it("is refused, naming the node, where it could round to ±1 or without a bound", () => {
    expect(() => checkedMultiplier(ctx, n, 2 ** -50, 2 ** 49)).toThrow(/Conv 'conv' needs the rescale .* shift is outside 0…62/);
    expect(() => checkedMultiplier(ctx, n, 2 ** -50)).toThrow(/shift is outside 0…62/);
  });
  it("leaves ordinary rescales as quantizeMultiplier makes them", () => {
    expect(checkedMultiplier(ctx, n, 0.75, 2 ** 20)).toEqual({ m: 0.75 * 2 ** 31, s: 31 });
  });
});

describe("a Conv with a near-dead channel, default recipe", () => {
  it("quantizes with its bias at s_x·s_w in int32 and lowers whole; the dead channel's output is exactly 0", async () => {
    const rng = new Rng(21);
    const N = 16;
    const wv = Array.from({ length: 4 * 3 * 9 }, (_, i) => (rng.float() * 2 - 1) * (Math.floor(i / 27) === 2 ? 1e-35 : 0.3));
    const g = graph(
      [node("Conv", ["x", "W", "b"], ["y"], [ints("pads", [1, 1, 1, 1])], "conv")],
      [value("x", DataType.FLOAT, ["N", 3, 6, 6])],
      [value("y", DataType.FLOAT, ["N", 4, 6, 6])],
      [makeFloatTensor("W", [4, 3, 3, 3], wv), floatVector("b", [0.1, -0.2, 1e-28, 0.3])],
    );
    const x = Float32Array.from({ length: N * 3 * 36 }, () => rng.float() * 2 - 1);
    const { program: p, qdq } = await checkIntegerPipeline({ name: "dead", model: model(g), feeds: { x }, dims: { x: [N, 3, 6, 6] } }, N);

    // QDQ: the bias's int32 scale is s_x·s_w[c] to float32 precision on every channel, its codes within int32
    const inits = new Map(qdq.graph!.initializers.map((t) => [t.name, t]));
    const dqOf = (q: string) => qdq.graph!.nodes.find((m) => m.opType === "DequantizeLinear" && m.inputs[0] === q)!;
    const conv = qdq.graph!.nodes.find((m) => m.opType === "Conv")!;
    const producer = (v: string) => qdq.graph!.nodes.find((m) => m.outputs.includes(v))!;
    const [dqX, dqW, dqB] = [1, 2, 3].map((k) => producer(conv.inputs[k - 1]!));
    const sx = tensorToFloat64(inits.get(dqX!.inputs[1]!)!)[0]!;
    const sw = tensorToFloat64(inits.get(dqW!.inputs[1]!)!);
    const sb = tensorToFloat64(inits.get(dqB!.inputs[1]!)!);
    const bq = tensorToFloat64(inits.get(dqB!.inputs[0]!)!);
    for (let c = 0; c < 4; c++) {
      expect(sb[c]).toBe(Math.fround(sx * sw[c]!));
      expect(Math.abs(bq[c]!)).toBeLessThan(INT32_MAX);
    }
    expect(sw[2]).toBeGreaterThan(1e-28 / (sx * INT32_MAX)); // widened from ~1e-37
    expect(dqOf(dqB!.inputs[0]!)).toBe(dqB);

    // the program: the dead channel rescales by the zero multiplier, its output is the zero point, i.e. 0.0
    const rq = p.ops.find((o): o is RequantOp => o.kind === "requant")!;
    expect(rq.multipliers[2]).toEqual({ m: 0, s: 0 });
    expect(rq.multipliers.filter((d) => d.m !== 0)).toHaveLength(3);
    const y = runProgram(p, new Map([["x", x]]), N).outputs.get("y")!;
    for (let i = 0; i < N; i++) for (let k = 0; k < 36; k++) expect(y[(i * 4 + 2) * 36 + k]).toBe(0);
    expect(y.some((v) => v !== 0)).toBe(true);
  }, 60_000);
});
