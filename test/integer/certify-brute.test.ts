/**
 * The certified ranges against brute force: random tiny conv, dense and
 * sumpool layers (padding, strides, dilations, groups, zero points inside and
 * outside the input range), every possible input enumerated and run through
 * the reference evaluator. The certificate must equal the brute-force extremes
 * exactly (a looser bound fails), and `worstCaseInput` must attain them.
 */
import { describe, expect, it } from "vitest";
import { certifyProgram } from "../../src/integer/certify.js";
import type { ConvOp, DenseOp, IntOp, QuantizeOp, RequantOp, SumPoolOp } from "../../src/integer/program.js";
import { worstCaseInput } from "../../src/integer/worst-case.js";
import { requantize } from "../../src/numerics/requant.js";
import { Rng } from "../helpers/prng.js";
import { forEachInput, outSize, program, refConv, refDense, refSumPool, val } from "./certify-helpers.js";

const quant: QuantizeOp = { kind: "quantize", source: "q", input: "x", output: "q", scale: 1, zeroPoint: 0, qmin: -128, qmax: 127 };

/** Per-channel extremes of `run` over every input with entries in [lo, hi]; outputs are channel-major, `per` per channel. */
function brute(n: number, lo: number, hi: number, channels: number, per: number, run: (x: Int32Array) => number[]) {
  const max = new Array<number>(channels).fill(-Infinity);
  const min = new Array<number>(channels).fill(Infinity);
  forEachInput(n, lo, hi, (x) => {
    const y = run(x);
    for (let i = 0; i < y.length; i++) {
      const c = Math.floor(i / per) % channels;
      if (y[i]! > max[c]!) max[c] = y[i]!;
      if (y[i]! < min[c]!) min[c] = y[i]!;
    }
  });
  return { max, min };
}

function randomWeights(rng: Rng, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => (rng.chance(0.3) ? 0 : rng.range(-3, 3)));
}

function inputRange(rng: Rng, n: number): { lo: number; hi: number } {
  const lo = rng.range(-4, 4);
  return { lo, hi: lo + (n <= 8 ? 2 : 1) };
}

describe("brute force", () => {
  it("conv: certified per-channel extremes equal the enumerated ones, and worst-case inputs attain them", () => {
    const rng = new Rng(61);
    let cases = 0;
    let paddedWins = 0;
    while (cases < 120) {
      const group = rng.chance(0.3) ? 2 : 1;
      const cin = group * rng.range(1, 2);
      const cout = group * rng.range(1, 2);
      const [inH, inW] = [rng.range(1, 3), rng.range(1, 3)];
      if (cin * inH * inW > 12) continue;
      const [kh, kw] = [rng.range(1, 3), rng.range(1, 3)];
      const strides: [number, number] = [rng.range(1, 2), rng.range(1, 2)];
      const dilations: [number, number] = [rng.range(1, 2), rng.range(1, 2)];
      const pads: [number, number, number, number] = [rng.range(0, 2), rng.range(0, 2), rng.range(0, 2), rng.range(0, 2)];
      const outH = outSize(inH, kh, strides[0], pads[0], pads[2], dilations[0]);
      const outW = outSize(inW, kw, strides[1], pads[1], pads[3], dilations[1]);
      if (outH < 1 || outW < 1) continue;
      const n = cin * inH * inW;
      const r = inputRange(rng, n);
      const op: ConvOp = {
        kind: "conv",
        source: `Conv 'c${cases}'`,
        input: "q",
        output: "acc",
        inputZero: rng.range(r.lo - 2, r.hi + 2),
        weight: randomWeights(rng, cout * (cin / group) * kh * kw),
        weightShape: [cout, cin / group, kh, kw],
        bias: rng.chance(0.5) ? Int32Array.from({ length: cout }, () => rng.range(-5, 5)) : undefined,
        strides,
        pads,
        dilations,
        group,
      };
      const inShape = [cin, inH, inW];
      const outShape = [cout, outH, outW];
      const p = program(inShape, [val("q", inShape, 8), val("acc", outShape)], [quant, op]);
      const cert = certifyProgram(p, { inputRanges: new Map([["x", r]]) });
      const b = brute(n, r.lo, r.hi, cout, outH * outW, (x) => refConv(op, x, inShape, outShape));
      const ch = cert.channels.get("acc")!;
      expect([...ch.hi], `case ${cases}`).toEqual(b.max);
      expect([...ch.lo], `case ${cases}`).toEqual(b.min);
      for (let c = 0; c < cout; c++) {
        for (const which of ["max", "min"] as const) {
          const wc = worstCaseInput(p, op, c, which, cert);
          expect(wc.data.every((v) => v >= r.lo && v <= r.hi)).toBe(true);
          expect(refConv(op, wc.data, inShape, outShape)[wc.outputIndex]).toBe(which === "max" ? b.max[c] : b.min[c]);
        }
      }
      // cases where the max lies only at a position reading padding while full windows exist (some must occur for the test to mean anything)
      const interior = new Set<number>();
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const inside = (o: number, s: number, p0: number, k: number, d: number, size: number) => o * s - p0 >= 0 && o * s - p0 + (k - 1) * d < size;
          if (inside(oh, strides[0], pads[0], kh, dilations[0], inH) && inside(ow, strides[1], pads[1], kw, dilations[1], inW)) interior.add(oh * outW + ow);
        }
      }
      for (let c = 0; c < cout; c++) {
        const at = worstCaseInput(p, op, c, "max", cert).outputIndex - c * outH * outW;
        if (interior.size > 0 && !interior.has(at)) paddedWins++; // full windows win ties, so padding wins strictly here
      }
      cases++;
    }
    expect(paddedWins).toBeGreaterThan(10);
  });

  it("dense: certified extremes equal the enumerated ones, and so does the requantized range", () => {
    const rng = new Rng(62);
    for (let t = 0; t < 60; t++) {
      const k = rng.range(1, 7);
      const nOut = rng.range(1, 3);
      const r = inputRange(rng, k);
      const op: DenseOp = {
        kind: "dense",
        source: `Gemm 'd${t}'`,
        input: "q",
        output: "acc",
        inputZero: rng.range(r.lo - 2, r.hi + 2),
        weight: randomWeights(rng, nOut * k),
        inFeatures: k,
        outFeatures: nOut,
        bias: Int32Array.from({ length: nOut }, () => rng.range(-5, 5)),
      };
      const d = { m: rng.range(2 ** 30, 2 ** 31 - 1), s: rng.range(31, 34) };
      const rq: RequantOp = { kind: "requant", source: "rq", input: "acc", output: "y", multipliers: [d], axis: 0, outZero: rng.range(-2, 2), clampLo: -3, clampHi: 4 };
      const ops: IntOp[] = [quant, op, rq];
      const p = program([k], [val("q", [k], 8), val("acc", [nOut]), val("y", [nOut], 8)], ops);
      const cert = certifyProgram(p, { inputRanges: new Map([["x", r]]) });
      const b = brute(k, r.lo, r.hi, nOut, 1, (x) => refDense(op, x));
      expect([...cert.channels.get("acc")!.hi]).toEqual(b.max);
      expect([...cert.channels.get("acc")!.lo]).toEqual(b.min);
      const y = brute(k, r.lo, r.hi, 1, nOut, (x) => refDense(op, x).map((a) => requantize(a, d, rq.outZero, rq.clampLo, rq.clampHi)));
      expect(cert.ranges.get("y")).toEqual({ lo: y.min[0], hi: y.max[0] });
      for (let c = 0; c < nOut; c++) {
        const wc = worstCaseInput(p, op, c, "min", cert);
        expect(refDense(op, wc.data)[wc.outputIndex]).toBe(b.min[c]);
      }
    }
  });

  it("sumpool: certified extremes equal the enumerated ones", () => {
    const rng = new Rng(63);
    let cases = 0;
    while (cases < 60) {
      const c = rng.range(1, 2);
      const [inH, inW] = [rng.range(1, 3), rng.range(1, 3)];
      if (c * inH * inW > 12) continue;
      const kernel: [number, number] = [rng.range(1, 3), rng.range(1, 3)];
      const strides: [number, number] = [rng.range(1, 2), rng.range(1, 2)];
      const pads: [number, number, number, number] = [rng.range(0, 2), rng.range(0, 2), rng.range(0, 2), rng.range(0, 2)];
      const outH = outSize(inH, kernel[0], strides[0], pads[0], pads[2]);
      const outW = outSize(inW, kernel[1], strides[1], pads[1], pads[3]);
      if (outH < 1 || outW < 1) continue;
      const n = c * inH * inW;
      const r = inputRange(rng, n);
      const op: SumPoolOp = { kind: "sumpool", source: "p", input: "q", output: "s", inputZero: rng.range(r.lo - 2, r.hi + 2), kernel, strides, pads };
      const inShape = [c, inH, inW];
      const outShape = [c, outH, outW];
      const cert = certifyProgram(program(inShape, [val("q", inShape, 8), val("s", outShape)], [quant, op]), { inputRanges: new Map([["x", r]]) });
      const b = brute(n, r.lo, r.hi, c, outH * outW, (x) => refSumPool(op, x, inShape, outShape));
      expect([...cert.channels.get("s")!.hi]).toEqual(b.max);
      expect([...cert.channels.get("s")!.lo]).toEqual(b.min);
      cases++;
    }
  });
});
