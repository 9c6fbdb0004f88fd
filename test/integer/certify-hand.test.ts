/**
 * Certificates of small hand-built programs whose exact ranges are worked out
 * by hand in the comments (before → expected).
 */
import { describe, expect, it } from "vitest";
import { certifyProgram } from "../../src/integer/certify.js";
import type { ConvOp, DenseOp, IntOp, QuantizeOp, RequantOp, RescaleOp, SumPoolOp } from "../../src/integer/program.js";
import { program, val } from "./certify-helpers.js";

const quant = (qmin: number, qmax: number, zeroPoint = 0, scale = 1): QuantizeOp => ({
  kind: "quantize",
  source: "QuantizeLinear 'x'",
  input: "x",
  output: "q",
  scale,
  zeroPoint,
  qmin,
  qmax,
});

const conv = (weight: number[], shape: [number, number, number, number], extra: Partial<ConvOp> = {}): ConvOp => ({
  kind: "conv",
  source: "Conv 'c1'",
  input: "q",
  output: "acc",
  inputZero: 0,
  weight: Int32Array.from(weight),
  weightShape: shape,
  strides: [1, 1],
  pads: [0, 0, 0, 0],
  dilations: [1, 1],
  group: 1,
  ...extra,
});

describe("conv → requant, no padding", () => {
  // uint8 input with zero point 128: d = x − 128 ∈ [−128, 127]; one 3×3 filter, bias 10
  const w = [1, -2, 3, 0, 0, 0, -1, 1, 0];
  const rq: RequantOp = {
    kind: "requant",
    source: "Conv 'c1' requant",
    input: "acc",
    output: "y",
    multipliers: [{ m: 2 ** 30, s: 35 }], // M = 2^−5
    axis: 0,
    outZero: 0,
    clampLo: -128,
    clampHi: 127,
  };
  const p = program(
    [1, 3, 3],
    [val("q", [1, 3, 3], 8, false), val("acc", [1, 1, 1]), val("y", [1, 1, 1], 8, true)],
    [quant(0, 255, 128), conv(w, [1, 1, 3, 3], { inputZero: 128, bias: Int32Array.of(10) }), rq],
  );
  const cert = certifyProgram(p);

  it("gives Σ_{w>0} w·127 + Σ_{w<0} w·(−128) + bias as the max, and the mirror as the min", () => {
    // max = 10 + (1 + 3 + 1)·127 + (−2 − 1)·(−128) = 10 + 635 + 384 = 1029
    // min = 10 + (1 + 3 + 1)·(−128) + (−2 − 1)·127 = 10 − 640 − 381 = −1011
    expect(cert.ranges.get("acc")).toEqual({ lo: -1011, hi: 1029 });
    expect(cert.ranges.get("q")).toEqual({ lo: 0, hi: 255 });
  });

  it("chooses the least width and reports the headroom", () => {
    // 1029 > 2^10 − 1 = 1023, so 11 signed bits do not hold it; 12 do: headroom 32 − 12 = 20
    const row = cert.rows.find((r) => r.value === "acc")!;
    expect([row.width, row.storage, row.headroom, row.signed]).toEqual([12, 32, 20, true]);
    // the quantized input: unsigned 8 bits in uint8
    const q = cert.rows.find((r) => r.value === "q")!;
    expect([q.width, q.signed, q.headroom]).toEqual([8, false, 0]);
  });

  it("maps the range through the requantization", () => {
    // y = rshr(acc, 5): 1029/32 = 32.16 → 32; −1011/32 = −31.59 → −32; int7 holds [−32, 32] (int6 stops at 31)
    expect(cert.ranges.get("y")).toEqual({ lo: -32, hi: 32 });
    const row = cert.rows.find((r) => r.value === "y")!;
    expect([row.width, row.storage, row.headroom]).toEqual([7, 8, 1]);
    expect(row.product).toEqual({ accWidth: 12, mulBits: 31, width: 43, limit: 63 });
    expect(cert.problems).toEqual([]);
    expect(cert.ok).toBe(true);
  });

  it("tightens the input range from a float input range", () => {
    // x ∈ [−1.0, 2.0] at scale 0.5, zero point 128: q ∈ [126, 132], d ∈ [−2, 4]
    const p2 = program([1, 3, 3], [...p.values.values()], [quant(0, 255, 128, 0.5), ...p.ops.slice(1)]);
    const c2 = certifyProgram(p2, { inputRanges: new Map([["x", { lo: -1, hi: 2 }]]) });
    expect(c2.ranges.get("q")).toEqual({ lo: 126, hi: 132 });
    // max = 10 + 5·4 + (−3)·(−2) = 36; min = 10 + 5·(−2) + (−3)·4 = −12
    expect(c2.ranges.get("acc")).toEqual({ lo: -12, hi: 36 });
  });
});

describe("padding", () => {
  it("counts only the taps inside the input when every position touches padding", () => {
    // 1×1 input, 3×3 kernel, pads 1: the single output position sees the centre tap only.
    // weights 1 everywhere but the centre (2), int8 input d ∈ [−128, 127]:
    // max = 2·127 = 254, min = 2·(−128) = −256 (the padding-blind Σ would give 10·127 = 1270)
    const w = [1, 1, 1, 1, 2, 1, 1, 1, 1];
    const p = program(
      [1, 1, 1],
      [val("q", [1, 1, 1], 8), val("acc", [1, 1, 1])],
      [quant(-128, 127), conv(w, [1, 1, 3, 3], { pads: [1, 1, 1, 1] })],
    );
    expect(certifyProgram(p).ranges.get("acc")).toEqual({ lo: -256, hi: 254 });
  });

  it("finds the max at a padded position when padding beats an interior tap", () => {
    // input q ∈ [10, 20] (d = q, zero point 0); 1×3 kernel [−1, 5, −1] over a 1×3 input, pads left/right 1:
    //   position 0 sees taps {1, 2}: max 5·20 − 10 = 90, min 5·10 − 20 = 30
    //   position 1 sees all taps:    max 100 − 20 = 80,  min 50 − 40 = 10
    //   position 2 sees taps {0, 1}: as position 0
    // so the max 90 lies at a padded position and the min 10 in the interior
    const p = program(
      [1, 1, 3],
      [val("q", [1, 1, 3], 8), val("acc", [1, 1, 3])],
      [quant(-128, 127), conv([-1, 5, -1], [1, 1, 1, 3], { pads: [0, 1, 0, 1] })],
    );
    const cert = certifyProgram(p, { inputRanges: new Map([["x", { lo: 10, hi: 20 }]]) });
    expect(cert.ranges.get("acc")).toEqual({ lo: 10, hi: 90 });
  });

  it("sums pools with padding-aware counts", () => {
    // 2×2 input, 2×2 window, stride 1, pads 1: output 3×3 whose windows hold 1 (corners), 2 (edges), 4 (centre) elements
    const sp: SumPoolOp = { kind: "sumpool", source: "AveragePool 'p'", input: "q", output: "s", inputZero: 0, kernel: [2, 2], strides: [1, 1], pads: [1, 1, 1, 1] };
    const p = program([1, 2, 2], [val("q", [1, 2, 2], 8), val("s", [1, 3, 3])], [quant(-128, 127), sp]);
    // d ∈ [−5, 3]: max = 4·3 = 12, min = 4·(−5) = −20
    expect(certifyProgram(p, { inputRanges: new Map([["x", { lo: -5, hi: 3 }]]) }).ranges.get("s")).toEqual({ lo: -20, hi: 12 });
    // d ∈ [2, 5]: the min is a corner's single element, 2; the max 4·5 = 20
    expect(certifyProgram(p, { inputRanges: new Map([["x", { lo: 2, hi: 5 }]]) }).ranges.get("s")).toEqual({ lo: 2, hi: 20 });
  });
});

describe("dense and the data-movement ops", () => {
  const dense: DenseOp = {
    kind: "dense",
    source: "Gemm 'fc'",
    input: "q",
    output: "acc",
    inputZero: 3,
    weight: Int32Array.of(1, -1, 2, 0, 0, 0),
    inFeatures: 3,
    outFeatures: 2,
    bias: Int32Array.of(5, -7),
  };
  const p = program([3], [val("q", [3], 8, false), val("acc", [2])], [quant(0, 255, 3), dense]);
  const cert = certifyProgram(p);

  it("gives per-channel extremes", () => {
    // uint8, zero point 3: d ∈ [−3, 252]
    // channel 0: max = 5 + (1 + 2)·252 + (−1)·(−3) = 764; min = 5 + 3·(−3) + (−1)·252 = −256
    // channel 1: all-zero weights: [−7, −7]
    const row = cert.rows.find((r) => r.value === "acc")!;
    expect(row.channels).toEqual({ axis: 0, lo: [-256, -7], hi: [764, -7] });
    expect(row.range).toEqual({ lo: -256, hi: 764 });
    expect(row.zeroChannels).toEqual([1]);
    // 764 needs 11 signed bits (int10 stops at 511)
    expect(row.width).toBe(11);
  });

  it("keeps ranges through maxpool, reshape and transpose, unions them in concat, and sums them in rescale", () => {
    const ops: IntOp[] = [
      quant(-128, 127),
      conv([1, 0, 0, 0, -1, 0, 0, 0, 2], [3, 1, 1, 3], {}),
      {
        kind: "requant",
        source: "rq",
        input: "acc",
        output: "a",
        multipliers: [
          { m: 2 ** 30, s: 31 },
          { m: 2 ** 30, s: 32 },
          { m: 2 ** 30, s: 30 },
        ],
        axis: 0,
        outZero: 0,
        clampLo: -128,
        clampHi: 127,
      },
      { kind: "maxpool", source: "mp", input: "a", output: "m", kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
      { kind: "transpose", source: "tr", input: "m", output: "t", perm: [2, 1, 0] },
      { kind: "reshape", source: "rs", input: "t", output: "r" },
      { kind: "concat", source: "cat", inputs: ["a", "a"], output: "cc", axis: 0 },
      {
        kind: "rescale",
        source: "Add 'add'",
        inputs: ["a", "a"],
        output: "sum",
        inputZeros: [0, 0],
        multipliers: [3, 5],
        shift: 2,
        outZero: 1,
        clampLo: -128,
        clampHi: 127,
      } satisfies RescaleOp,
    ];
    const p2 = program(
      [1, 1, 3],
      [
        val("q", [1, 1, 3], 8),
        val("acc", [3, 1, 1]),
        val("a", [3, 1, 1], 8),
        val("m", [3, 1, 1], 8),
        val("t", [1, 1, 3], 8),
        val("r", [3], 8),
        val("cc", [6, 1, 1], 8),
        val("sum", [3, 1, 1], 8),
      ],
      ops,
    );
    const c = certifyProgram(p2, { inputRanges: new Map([["x", { lo: -10, hi: 20 }]]) });
    // 1×3 kernels over a 1×3 input, one position; q ∈ [−10, 20]:
    //   channel 0 w = [1, 0, 0]:  [−10, 20];  channel 1 w = [0, −1, 0]: [−20, 10];  channel 2 w = [0, 0, 2]: [−20, 40]
    expect(c.channels.get("acc")).toMatchObject({ axis: 0, lo: Float64Array.of(-10, -20, -20), hi: Float64Array.of(20, 10, 40) });
    // requant by 1/2, 1/4, 1 (single rounding, ties up): ch0 [−5, 10]; ch1 [−5, 3] (−20/4 = −5, 10/4 = 2.5 → 3); ch2 [−20, 40]
    expect(c.channels.get("a")).toMatchObject({ axis: 0, lo: Float64Array.of(-5, -5, -20), hi: Float64Array.of(10, 3, 40) });
    expect(c.ranges.get("a")).toEqual({ lo: -20, hi: 40 });
    for (const v of ["m", "t", "r", "cc"]) expect(c.ranges.get(v)).toEqual({ lo: -20, hi: 40 });
    // the transpose moves the channel axis 0 → 2, the reshape [1,1,3] → [3] keeps it (axis 0)
    expect(c.channels.get("t")!.axis).toBe(2);
    expect(c.channels.get("r")!.axis).toBe(0);
    expect(c.channels.get("cc")!.lo.length).toBe(6);
    // rescale: Σ = 8·a per channel: ch0 [−40, 80], ch1 [−40, 24], ch2 [−160, 320]; y = 1 + rshr(Σ, 2) clamped:
    //   ch0 [−9, 21], ch1 [−9, 7], ch2 [−39, 81]
    const sumRow = c.rows.find((r) => r.kind === "rescale-sum")!;
    expect(sumRow.range).toEqual({ lo: -160, hi: 320 });
    expect([sumRow.width, sumRow.storage, sumRow.headroom]).toEqual([10, 64, 54]);
    expect(c.channels.get("sum")).toMatchObject({ lo: Float64Array.of(-9, -9, -39), hi: Float64Array.of(21, 7, 81) });
    expect(c.problems).toEqual([]);
  });
});
