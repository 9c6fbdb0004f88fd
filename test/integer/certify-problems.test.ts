/**
 * The edge cases a certificate reports: all-zero channels, accumulators and
 * biases beyond int32, the 63-bit requantization product, multipliers that
 * cannot be represented (with the suggested width), bad rescales, and double
 * rounding's left shift overflowing.
 */
import { describe, expect, it } from "vitest";
import { type Certificate, certifyProgram } from "../../src/integer/certify.js";
import type { ConvOp, DenseOp, IntOp, Program, QuantizeOp, RequantOp, RescaleOp } from "../../src/integer/program.js";
import type { Dyadic } from "../../src/numerics/requant.js";
import { program, val } from "./certify-helpers.js";

const int8In: QuantizeOp = { kind: "quantize", source: "q", input: "x", output: "q", scale: 1, zeroPoint: 0, qmin: -128, qmax: 127 };

function dense(weight: number[], bias?: number[], outFeatures = 1): DenseOp {
  return {
    kind: "dense",
    source: "Gemm 'fc'",
    input: "q",
    output: "acc",
    inputZero: 0,
    weight: Int32Array.from(weight),
    inFeatures: weight.length / outFeatures,
    outFeatures,
    bias: bias ? Int32Array.from(bias) : undefined,
  };
}

const requant = (d: Dyadic): RequantOp => ({ kind: "requant", source: "Gemm 'fc' requant", input: "acc", output: "y", multipliers: [d], axis: 0, outZero: 0, clampLo: -128, clampHi: 127 });

function denseProgram(op: DenseOp, d: Dyadic = { m: 2 ** 30, s: 40 }, multiplierBits = 31): Program {
  const k = op.inFeatures;
  const ops: IntOp[] = [int8In, op, requant(d)];
  return program([k], [val("q", [k], 8), val("acc", [op.outFeatures]), val("y", [op.outFeatures], 8)], ops, multiplierBits);
}

const errors = (c: Certificate) => c.problems.filter((q) => q.level === "error");

describe("certificate problems", () => {
  it("flags an all-zero weight channel, whose range is [bias, bias]", () => {
    const conv: ConvOp = {
      kind: "conv",
      source: "Conv 'c'",
      input: "q",
      output: "acc",
      inputZero: 0,
      weight: Int32Array.of(1, -1, 0, 0, 0, 0, 0, 0),
      weightShape: [2, 1, 2, 2],
      bias: Int32Array.of(3, 17),
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      group: 1,
    };
    const c = certifyProgram(program([1, 2, 2], [val("q", [1, 2, 2], 8), val("acc", [2, 1, 1])], [int8In, conv]));
    expect(c.channels.get("acc")!.lo[1]).toBe(17);
    expect(c.channels.get("acc")!.hi[1]).toBe(17);
    expect(c.problems).toHaveLength(1);
    expect(c.problems[0]).toMatchObject({ level: "warning", source: "Conv 'c'" });
    expect(c.problems[0]!.message).toMatch(/channel 1\b.*all weights are zero/);
    expect(c.ok).toBe(true);
  });

  it("reports an accumulator beyond int32 with its channel, and the product beyond 63 bits", () => {
    // channel 1: two weights 2^24 on d ∈ [−128, 127]: [−2^32, 127·2^25], 33 bits
    const c = certifyProgram(denseProgram(dense([1, 1, 2 ** 24, 2 ** 24], undefined, 2)));
    expect(c.ranges.get("acc")).toEqual({ lo: -(2 ** 32), hi: 127 * 2 ** 25 });
    const row = c.rows.find((r) => r.value === "acc")!;
    expect([row.width, row.headroom]).toEqual([33, -1]);
    const [acc, product] = errors(c);
    expect(acc).toMatchObject({ source: "Gemm 'fc'" });
    expect(acc!.message).toMatch(/channel 1\b.*beyond int32.*narrower weights or activations/);
    // 33 + 31 = 64 > 63
    expect(product!.message).toMatch(/33 \+ multiplier width 31 = 64 bits exceeds the 63-bit/);
    expect(c.ok).toBe(false);
    // the requant output is then only known to lie in its clamp range
    expect(c.ranges.get("y")).toEqual({ lo: -128, hi: 127 });
  });

  it("applies the 63-bit rule at its boundary", () => {
    // one weight 2^24: [−2^31, 127·2^24] fills int32 exactly (32 bits): 32 + 31 = 63 passes
    const fill = certifyProgram(denseProgram(dense([2 ** 24])));
    expect(fill.rows.find((r) => r.value === "acc")!.width).toBe(32);
    expect(fill.problems).toEqual([]);
    // a 32-bit multiplier makes it 64
    const wide = certifyProgram(denseProgram(dense([2 ** 24]), { m: 2 ** 31, s: 40 }, 32));
    expect(errors(wide).map((q) => q.message)).toEqual([expect.stringMatching(/32 \+ multiplier width 32 = 64 bits/)]);
    // a bias of −1 pushes the minimum to −2^31 − 1: beyond int32
    const over = certifyProgram(denseProgram(dense([2 ** 24], [-1])));
    expect(errors(over)[0]!.message).toMatch(/beyond int32/);
  });

  it("reports a bias at the int32 limit", () => {
    const c = certifyProgram(denseProgram(dense([1, 2], [2147483647])));
    expect(errors(c)[0]!.message).toMatch(/bias of channel 0 is at the int32 limit/);
  });

  it("reports multipliers that cannot be represented, with a width that can", () => {
    // m = 2^30, s = 70: M = 2^−40 = 0.5·2^−39; at width b the shift is b + 39 ≤ 62 only for b ≤ 23
    const small = certifyProgram(denseProgram(dense([1, 2]), { m: 2 ** 30, s: 70 }));
    expect(errors(small).map((q) => q.message)).toEqual([expect.stringMatching(/shift s = 70 of the tensor is outside 0…62: use a 23-bit multiplier/)]);
    // s = −2: M = 2^32 needs b ≥ 33 for a shift ≥ 0: no width of 1…31 works
    const big = certifyProgram(denseProgram(dense([1, 2]), { m: 2 ** 30, s: -2 }));
    expect(errors(big)[0]!.message).toMatch(/no multiplier width of 1…31 bits represents 4294967296/);
    // m = 2^31 does not fit 31 bits; M = 2^31·2^−31 = 1 is m = 2^30, s = 30 at 31 bits
    const wide = certifyProgram(denseProgram(dense([1, 2]), { m: 2 ** 31, s: 31 }));
    expect(errors(wide)[0]!.message).toMatch(/multiplier m = 2147483648 of the tensor is not an integer in \[0, 2\^31\): use a 31-bit multiplier/);
  });

  it("reports bad rescales", () => {
    const rescale = (multipliers: number[], shift: number): RescaleOp => ({
      kind: "rescale",
      source: "Add 'add'",
      inputs: ["q", "q"],
      output: "y",
      inputZeros: [0, 0],
      multipliers,
      shift,
      outZero: 0,
      clampLo: -128,
      clampHi: 127,
    });
    const wideIn: QuantizeOp = { ...int8In, qmin: -(2 ** 20), qmax: 2 ** 20 };
    const run = (op: RescaleOp, q = int8In) => certifyProgram(program([4], [val("q", [4], 32), val("y", [4], 8)], [q, op]));
    expect(run(rescale([3, 5], 4)).problems).toEqual([]);
    expect(errors(run(rescale([3, 5], 70)))[0]!.message).toMatch(/shift 70 is outside 0…52/);
    expect(errors(run(rescale([2 ** 31, 5], 40)))[0]!.message).toMatch(/multiplier 2147483648 of input 0/);
    // (x − z)·m with |x| ≤ 2^20 and m = 2^28: 2^48
    const c = run(rescale([2 ** 28, 1], 40), wideIn);
    expect(errors(c)[0]!.message).toMatch(/reaches 281474976710656 ≥ 2\^48/);
    const sum = c.rows.find((r) => r.kind === "rescale-sum")!;
    // Σ ∈ [−2^48 − 2^20, 2^48 + 2^20]: 50 bits in 64
    expect([sum.range.lo, sum.range.hi, sum.width, sum.headroom]).toEqual([-(2 ** 48) - 2 ** 20, 2 ** 48 + 2 ** 20, 50, 14]);
  });

  it("reports double rounding's left shift overflowing int32", () => {
    // s = 20 < 31: double rounding first shifts acc ∈ [−2^21, 127·2^14] left by 11, past int32
    const p = { ...denseProgram(dense([2 ** 14]), { m: 2 ** 30, s: 20 }), rounding: "double" as const };
    const c = certifyProgram(p);
    expect(errors(c).map((q) => q.message)).toEqual([expect.stringMatching(/double rounding's left shift overflows int32/)]);
    expect(c.ranges.get("y")).toEqual({ lo: -128, hi: 127 });
    // single rounding has no left shift: the same program is fine
    expect(certifyProgram({ ...p, rounding: "single" }).problems).toEqual([]);
  });
});
