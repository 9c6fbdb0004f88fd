import { describe, expect, it } from "vitest";
import { Emulator } from "../../../src/backends/emulator/run.js";
import type { ConvOp, DenseOp, Program } from "../../../src/integer/program.js";
import { intMax, intMin } from "../../../src/numerics/int.js";
import { Rng } from "../../helpers/prng.js";
import { checkInt } from "./check.js";
import { acc, type InputSpec, makeProgram, randInts, randomActType, randomFeeds } from "./programs.js";

/** Largest |x − z| of an input spec. */
const maxDelta = (s: InputSpec) => Math.max(s.zeroPoint - intMin(s.type), intMax(s.type) - s.zeroPoint);

function randomConv(rng: Rng, opts: { depthwise?: boolean; wide?: boolean; mobile?: boolean; pointwise?: boolean } = {}): { p: Program; input: InputSpec } {
  let c: number;
  let oc: number;
  let group: number;
  if (opts.depthwise) {
    c = rng.range(1, 7);
    group = c;
    oc = c * rng.range(1, 2);
  } else {
    group = rng.pick([1, 1, 2, 3]);
    c = group * rng.range(1, 4);
    oc = group * rng.range(1, 7);
  }
  // mobile: the MobileNet depthwise shape (3×3, dilation 1, equal strides 1 or 2) of the specialised SIMD kernel
  const kh = opts.mobile ? 3 : opts.pointwise ? 1 : rng.range(1, 4);
  const kw = opts.mobile ? 3 : opts.pointwise ? 1 : rng.range(1, 4);
  const s = rng.range(1, 2);
  const strides: [number, number] = opts.mobile ? [s, s] : opts.pointwise ? [1, 1] : [rng.range(1, 3), rng.range(1, 3)];
  const dilations: [number, number] = opts.mobile ? [1, 1] : [rng.range(1, 2), rng.range(1, 2)];
  const pads: [number, number, number, number] = opts.pointwise ? [0, 0, 0, 0] : [rng.range(0, 2), rng.range(0, 2), rng.range(0, 2), rng.range(0, 2)];
  const ekh = (kh - 1) * dilations[0] + 1;
  const ekw = (kw - 1) * dilations[1] + 1;
  const h = rng.range(Math.max(1, ekh - pads[0] - pads[2]), opts.mobile ? 17 : 11);
  const w = rng.range(Math.max(1, ekw - pads[1] - pads[3]), opts.mobile ? 17 : 11);
  const oh = Math.floor((h + pads[0] + pads[2] - ekh) / strides[0]) + 1;
  const ow = Math.floor((w + pads[1] + pads[3] - ekw) / strides[1]) + 1;
  const { type, zeroPoint } = randomActType(rng, opts.wide);
  const input: InputSpec = { name: "x", shape: [c, h, w], type, zeroPoint };
  const icg = c / group;
  const K = icg * kh * kw;
  // weights as wide as the int32 accumulator allows (int8-like mostly, beyond int16 when `wide`)
  const wmax = Math.min(opts.wide ? 60000 : 127, Math.floor(2 ** 30 / (K * maxDelta(input))));
  const weight = randInts(rng, oc * K, -wmax, wmax);
  const bias = rng.chance(0.7) ? randInts(rng, oc, -(2 ** 29), 2 ** 29) : undefined;
  const op: ConvOp = {
    kind: "conv",
    source: "Conv 'c'",
    input: "x",
    output: "acc",
    inputZero: zeroPoint,
    weight,
    weightShape: [oc, icg, kh, kw],
    bias,
    strides,
    pads,
    dilations,
    group,
  };
  return { p: makeProgram([input], [op], [acc("acc", [oc, oh, ow])], ["acc"]), input };
}

describe("conv kernel", () => {
  it("matches the reference on random shapes, strides, pads, dilations and groups (int8/uint8, negative zero points)", () => {
    const rng = new Rng(101);
    for (let t = 0; t < 60; t++) {
      const { p, input } = randomConv(rng);
      const batch = rng.range(1, 5);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `conv case ${t}`);
    }
  });

  it("matches the reference on depthwise convs (group = channels, multiplier 1 or 2)", () => {
    const rng = new Rng(202);
    for (let t = 0; t < 30; t++) {
      const { p, input } = randomConv(rng, { depthwise: true });
      const batch = rng.range(1, 4);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `depthwise case ${t}`);
    }
  });

  it("matches the reference on 3×3 depthwise convs with stride 1 or 2 (the specialised SIMD kernel), any pads and sizes", () => {
    const rng = new Rng(505);
    for (let t = 0; t < 40; t++) {
      const { p, input } = randomConv(rng, { depthwise: true, mobile: true, wide: rng.chance(0.3) });
      const batch = rng.range(1, 4);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `3×3 depthwise case ${t}`);
    }
  });

  it("matches the reference on 1×1 stride-1 unpadded convs (the one-pass SIMD packing), odd and even channel counts", () => {
    const rng = new Rng(606);
    for (let t = 0; t < 30; t++) {
      const { p, input } = randomConv(rng, { pointwise: true });
      const batch = rng.range(1, 4);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `1×1 case ${t}`);
    }
  });

  it("matches the reference with 16-bit activations and weights beyond int16 (the exact JS GEMM)", () => {
    const rng = new Rng(303);
    for (let t = 0; t < 30; t++) {
      const { p, input } = randomConv(rng, { wide: true });
      const batch = rng.range(1, 3);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `wide conv case ${t}`);
    }
  });

  it("is exact at the int16 extremes the SIMD dot product pairs (−32768 · −32768 twice)", () => {
    // x − z = −32768 needs int16 x = −32768, z = 0; weights −32768: each pair sums to 2^31, which wraps in int32 lanes
    const input: InputSpec = { name: "x", shape: [2, 1, 1], type: intType16(), zeroPoint: 0 };
    const weight = Int32Array.from([-32768, -32768, -32768, 32767]);
    const bias = Int32Array.from([-(2 ** 31) + 1, 0]);
    const op: ConvOp = {
      kind: "conv",
      source: "Conv 'edge'",
      input: "x",
      output: "acc",
      inputZero: 0,
      weight,
      weightShape: [2, 2, 1, 1],
      bias,
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      group: 1,
    };
    const p = makeProgram([input], [op], [acc("acc", [2, 1, 1])], ["acc"]);
    // channel 0: 2^31 − 2^31 + 1 = 1 (the pair sum alone leaves int32, the total does not)
    const feeds = new Map([["x_f", Int32Array.from([-32768, -32768])]]);
    checkInt(p, feeds, 1, "int16 extremes");
    const e = Emulator.compile(p, 1, { simd: true });
    expect(Array.from(e.runInt(feeds).ints.get("acc_out")!)).toEqual([1, -32768 * -32768 + -32768 * 32767]);
  });
});

function intType16() {
  return { kind: "int" as const, bits: 16, signed: true };
}

describe("dense kernel", () => {
  it("matches the reference on random sizes, leading axes and operand types", () => {
    const rng = new Rng(404);
    for (let t = 0; t < 50; t++) {
      const K = rng.range(1, 70);
      const N = rng.range(1, 23);
      const lead = rng.chance(0.3) ? [rng.range(1, 4)] : [];
      const wide = rng.chance(0.3);
      const { type, zeroPoint } = randomActType(rng, wide);
      const input: InputSpec = { name: "x", shape: [...lead, K], type, zeroPoint };
      const wmax = Math.min(wide ? 60000 : 127, Math.floor(2 ** 30 / (K * maxDelta(input))));
      const op: DenseOp = {
        kind: "dense",
        source: "Gemm 'fc'",
        input: "x",
        output: "acc",
        inputZero: zeroPoint,
        weight: randInts(rng, N * K, -wmax, wmax),
        inFeatures: K,
        outFeatures: N,
        bias: rng.chance(0.7) ? randInts(rng, N, -(2 ** 29), 2 ** 29) : undefined,
      };
      const p = makeProgram([input], [op], [acc("acc", [...lead, N])], ["acc"]);
      const batch = rng.range(1, 11);
      checkInt(p, randomFeeds(rng, [input], batch), batch, `dense case ${t}`);
    }
  });
});
