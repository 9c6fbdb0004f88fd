/**
 * Generated JS vs the emulator and a naive interpreter, bit for bit, on
 * hand-built programs covering every op kind, both requant roundings,
 * per-channel multipliers of every shift class, negative zero points, int8
 * and uint8, on random and extreme data.
 */
import { afterAll, describe, expect, it } from "vitest";
import { INT32_MAX, INT32_MIN, quantizeMultiplier, type RequantRounding } from "../../../src/numerics/requant.js";
import { Rng } from "../../helpers/prng.js";
import { expectBitExact } from "./check.js";
import { allFeeds, classMultipliers, usefulMultipliers } from "./feeds.js";
import { intInputs } from "./compare.js";
import { cleanupModules, importProgram } from "./load-module.js";
import { emitJsModule } from "../../../src/backends/js/emit.js";
import { dyadic, I8, I16, I32, ProgramBuilder, randomInts, U8 } from "./program-builder.js";

afterAll(cleanupModules);

const ROUNDINGS: readonly RequantRounding[] = ["single", "double"];

/** Accumulators of magnitude 2^22…2^30 (so acc·2^30 passes 2^52) that are odd, ≡ 2 mod 4, or odd multiples of 2^19: ties of m = 2^30 and 3·2^29. */
function wideTies(rng: Rng, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => {
    const sign = rng.chance(0.5) ? 1 : -1;
    const kind = rng.int(3);
    const base = rng.range(2 ** 20, 2 ** 27);
    return sign * (kind === 0 ? 2 * base + 1 : kind === 1 ? 4 * base + 2 : 2 ** 19 * (2 * rng.range(8, 2000) + 1));
  });
}

/** The inverse of an odd m modulo 2^k (Newton's iteration). */
function inverseMod2k(m: bigint, k: number): bigint {
  const mod = 1n << BigInt(k);
  let x = 1n;
  for (let i = 0; i < 6; i++) x = (x * (2n - m * x)) % mod;
  return ((x % mod) + mod) % mod;
}

/** n samples of one int32 acc per multiplier with acc·m ≡ 2^(s−1) − 1, 2^(s−1) or 2^(s−1) + 1 (mod 2^s), checked exactly. */
function nearTies(rng: Rng, n: number, ms: readonly number[], s: number): Int32Array {
  const mod = 1n << BigInt(s);
  const out = new Int32Array(n * ms.length);
  for (let i = 0; i < out.length; i++) {
    const m = BigInt(ms[i % ms.length]!);
    const target = (1n << BigInt(s - 1)) + BigInt(rng.range(-1, 1));
    let acc = (target * inverseMod2k(m, s)) % mod; // one representative in [0, 2^s)
    acc += BigInt(rng.range(-1, 0)) << BigInt(s); // the int32 one, positive or negative
    if ((((acc * m) % mod) + mod) % mod !== target % mod) throw new Error("nearTies: bad inverse");
    out[i] = Number(acc);
  }
  return out;
}

describe.each(ROUNDINGS)("%s rounding", (rounding) => {
  it("quantize → dequantize: ties, saturation, ±0, ±Inf, NaN (uint8, int8, narrow and int16 ranges)", async () => {
    const b = new ProgramBuilder(rounding);
    b.output(b.input([64], U8, 0.0123, 131), 0.0123);
    b.output(b.input([64], I8, Math.fround(1 / 3), -7), Math.fround(1 / 3));
    b.output(b.input([64], I8, 0.5, 0, [-127, 127]), 0.5);
    b.output(b.input([64], I16, 2 ** -10, -300), 2 ** -10);
    expect(await expectBitExact(b.build(), allFeeds(b.build(), 1, 200))).toBeGreaterThan(0);
  });

  it("requant on the whole int32 range: every shift class, per channel (axis 0 and last) and per tensor", async () => {
    const rng = new Rng(rounding === "single" ? 2 : 3);
    const C = 12;
    const b = new ProgramBuilder(rounding);
    // double rounding's left shift (s < 31) overflows for large accumulators: those channels get a narrow input
    const safe = rounding === "single";
    const range: [number, number] = safe ? [INT32_MIN, INT32_MAX] : [-(2 ** 16), 2 ** 16];
    const x0 = b.input([C, 5], I32, 1, 0, range);
    const x1 = b.input([4, C], I32, 1, 0, range);
    const mulsA = classMultipliers(rng, C, rounding);
    const mulsB = [...classMultipliers(rng, C - 3, rounding, 16), { m: 2 ** 30, s: 35 }, { m: 3 * 2 ** 29, s: 33 }, { m: 3 * 2 ** 29, s: 30 }];
    b.output(b.requant(x0, mulsA, 0, I8, -3), 0.1);
    b.output(b.requant(x1, mulsB, 1, U8, 128, [3, 250]), 0.1);
    b.output(b.requant(x0, [dyadic(rng, rounding === "single" ? 37 : 45)], 0, I16, 5), 0.1);
    // small shifts with small multipliers (m < 2^s), unsaturated on accumulators of ±300
    const x2 = b.input([16, 3], I32, 1, 0, [-300, 300]);
    const small = Array.from({ length: 16 }, (_, k) => (rounding === "single" ? k + 1 : k + 16)).map((s) => dyadic(rng, s, Math.min(s, 31)));
    b.output(b.requant(x2, small, 0, I16, -7), 0.1);
    // int32 values dequantized directly: float32(q − zp) rounds before the scale multiplies
    b.output(b.input([8], I32, 0.001, 12345, [INT32_MIN, INT32_MAX]), 0.001);
    // ties where acc·m passes 2^52 (the split-product path), unsaturated into int32
    const x4 = b.input([4], I32, 1, 0, safe ? [INT32_MIN, INT32_MAX] : [-(2 ** 30), 2 ** 30]);
    const tieMuls = [{ m: 2 ** 30, s: 31 }, { m: 3 * 2 ** 29, s: 31 }, { m: 2 ** 30, s: 50 }, { m: 3 * 2 ** 29, s: 50 }];
    b.output(b.requant(x4, tieMuls, 0, I32, 0), 1);
    // acc·m within 1 of a tie while |acc·m| > 2^53, where a double product would round (odd 24-bit m, s = 31)
    const x5 = b.input([3], I32, 1, 0, [INT32_MIN, INT32_MAX]);
    const oddMuls = [0, 1, 2].map(() => ({ m: 2 * rng.range(2 ** 22, 2 ** 23 - 1) + 1, s: 31 }));
    b.output(b.requant(x5, oddMuls, 0, I32, 0), 1);
    const p = b.build();
    const feeds = allFeeds(p, 4, 64);
    // accumulators near each shift's rounding boundaries: ties of the power-of-two multipliers, small values
    const ties = new Int32Array(64 * 4 * C);
    for (let i = 0; i < ties.length; i++) ties[i] = (2 * rng.range(-50, 50) + 1) * 2 ** rng.range(0, 2);
    feeds.push({ data: { in0: intInputs(rng, 64 * C * 5, -300, 300), in1: ties, in2: intInputs(rng, 64 * 48, -300, 300), in3: intInputs(rng, 64 * 8, INT32_MIN, INT32_MAX), in4: wideTies(rng, 64 * 4), in5: nearTies(rng, 64, oddMuls.map((d) => d.m), 31) }, batch: 64, quantized: true });
    expect(await expectBitExact(p, feeds, 7)).toBeGreaterThan(0);
  });

  it.each([
    ["uint8, zero point 128, 3×3 pad 1", U8, 128, 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1]],
    ["int8, negative zero point, depthwise 3×3 stride 2, asymmetric pads", I8, -7, 4, [3, 3], [2, 2], [0, 1, 1, 0], [1, 1]],
    ["int8, 2 groups, 2×3 kernel, dilation 2, no bias", I8, 5, 2, [2, 3], [1, 2], [2, 0, 1, 3], [2, 2]],
    ["uint8, pointwise 1×1", U8, 3, 1, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]],
    ["uint8, depthwise 2×3, strides 1×2, dilations 2×1, uneven pads", U8, 9, 4, [2, 3], [1, 2], [1, 0, 2, 1], [2, 1]],
  ] as const)("conv (%s) → per-channel requant", async (_, type, zin, group, kernel, strides, pads, dilations) => {
    const rng = new Rng(10 + group + kernel[1]);
    const C = 4;
    const O = group === 4 ? 4 : 6;
    const b = new ProgramBuilder(rounding);
    const x = b.input([C, 9, 8], type, 0.02, zin);
    const weight = randomInts(rng, O * (C / group) * kernel[0] * kernel[1], -127, 127);
    const bias = group === 2 ? undefined : randomInts(rng, O, -20000, 20000);
    const acc = b.conv(x, { inputZero: zin, weight, weightShape: [O, C / group, kernel[0], kernel[1]], bias, strides, pads, dilations, group });
    const muls = O > 3 ? [...usefulMultipliers(rng, O - 3, 14), ...classMultipliers(rng, 3, rounding)] : usefulMultipliers(rng, O, 14);
    b.output(b.requant(acc, muls, 0, type, zin), 0.02);
    b.output(b.requant(acc, [quantizeMultiplier(2 ** -9)], 0, I32, 0), 1); // the raw accumulator, nearly
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 20 + group))).toBeGreaterThan(0);
  });

  it("dense on [K] and [T, K] inputs → per-channel requant (axis 0 and 1), weights beyond int8", async () => {
    const rng = new Rng(30);
    const b = new ProgramBuilder(rounding);
    const x0 = b.input([50], U8, 0.01, 200);
    const x1 = b.input([3, 20], I8, 0.01, -100);
    const a0 = b.dense(x0, 200, randomInts(rng, 50 * 7, -255, 255), 7, randomInts(rng, 7, -(2 ** 20), 2 ** 20));
    const a1 = b.dense(x1, -100, randomInts(rng, 20 * 5, -127, 127), 5);
    b.output(b.requant(a0, usefulMultipliers(rng, 7, 18), 0, I8, 1), 0.1);
    b.output(b.requant(a1, [...usefulMultipliers(rng, 3, 14), ...classMultipliers(rng, 2, rounding)], 1, U8, 128, [128, 255]), 0.1);
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 31))).toBeGreaterThan(0);
  });

  it("conv and dense whose worst case passes 2^53 (int32 inputs, wide weights): the Math.imul kernel", async () => {
    const rng = new Rng(35);
    const b = new ProgramBuilder(rounding);
    const x = b.input([2, 5, 5], I32, 1, 7, [INT32_MIN, INT32_MAX]);
    const c = b.conv(x, { inputZero: 7, weight: randomInts(rng, 3 * 2 * 9, -(2 ** 20), 2 ** 20), weightShape: [3, 2, 3, 3], bias: randomInts(rng, 3, -(2 ** 24), 2 ** 24), strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
    const d = b.dense(b.reshape(x, [50]), 7, randomInts(rng, 50 * 6, -(2 ** 20), 2 ** 20), 6);
    b.output(b.requant(c, usefulMultipliers(rng, 3, 26), 0, I8, 0), 0.1);
    b.output(b.requant(d, [quantizeMultiplier(2 ** -15)], 0, I32, 0), 0.1);
    const p = b.build();
    const text = (await importProgram(p)).files.get("model.mjs")!;
    expect(text).toMatch(/gemmInt\(patch/);
    expect(text).toMatch(/gemmInt\(xz/);
    const feeds = [20, 1].map((batch) => ({ data: { in0: intInputs(rng, batch * 50, -120, 135) }, batch, quantized: true }));
    expect(await expectBitExact(p, feeds)).toBeGreaterThan(0);
  });

  it("sumpool (windowed with padding, and global) → requant", async () => {
    const rng = new Rng(40);
    const b = new ProgramBuilder(rounding);
    const x = b.input([3, 7, 7], U8, 0.03, 128);
    const s1 = b.pool("sumpool", x, { inputZero: 128, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
    const s2 = b.pool("sumpool", x, { inputZero: 128, kernel: [7, 7], strides: [1, 1], pads: [0, 0, 0, 0] });
    const s3 = b.pool("sumpool", x, { inputZero: 128, kernel: [2, 3], strides: [3, 1], pads: [0, 2, 1, 0] });
    b.output(b.requant(s1, [quantizeMultiplier(1 / 9)], 0, U8, 128), 0.03);
    b.output(b.requant(s2, [quantizeMultiplier(1 / 49)], 0, U8, 128), 0.03);
    b.output(b.requant(s3, usefulMultipliers(rng, 3, 9), 0, I8, -2), 0.03);
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 41))).toBeGreaterThan(0);
  });

  it("maxpool (padding ignored, strides, dilations)", async () => {
    const b = new ProgramBuilder(rounding);
    const x = b.input([2, 6, 7], I8, 0.05, -9);
    b.output(b.pool("maxpool", x, { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 1] }), 0.05);
    b.output(b.pool("maxpool", x, { kernel: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1], dilations: [2, 1] }), 0.05);
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 50))).toBeGreaterThan(0);
  });

  it("rescale: residual add of two branches, three branches with a zero multiplier, a lone ReLU clamp", async () => {
    const rng = new Rng(60);
    const b = new ProgramBuilder(rounding);
    const x0 = b.input([4, 5], I8, 0.04, -3);
    const x1 = b.input([4, 5], U8, 0.07, 120);
    const x2 = b.input([4, 5], I16, 0.001, 1000);
    const m = () => rng.range(2 ** 29, 2 ** 30);
    b.output(b.rescale([x0, x1], { inputZeros: [-3, 120], multipliers: [m(), m()], shift: 31, outZero: 4 }, I8), 0.1);
    b.output(b.rescale([x0, x1, x2], { inputZeros: [-3, 120, 1000], multipliers: [m(), 0, rng.range(2 ** 20, 2 ** 21)], shift: 28, outZero: -128 }, U8, [0, 200]), 0.1);
    b.output(b.rescale([x0], { inputZeros: [-3], multipliers: [1], shift: 0, outZero: -3 }, I8, [-3, 127]), 0.04);
    b.output(b.rescale([x1], { inputZeros: [120], multipliers: [rng.range(2 ** 30, 2 ** 31 - 1)], shift: 1, outZero: 0 }, I16), 0.04);
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 61))).toBeGreaterThan(0);
  });

  it("data movement: transpose, reshape, concat on several axes, several outputs", async () => {
    const b = new ProgramBuilder(rounding);
    const x0 = b.input([2, 3, 4], U8, 0.1, 7);
    const x1 = b.input([4, 5], U8, 0.1, 7);
    const t = b.transpose(x0, [2, 0, 1]); // [4, 2, 3]
    const r = b.reshape(t, [4, 6]);
    b.output(b.concat([r, x1, r], 1), 0.1); // [4, 17]
    b.output(b.concat([b.transpose(x1, [1, 0]), b.reshape(x0, [6, 4])], 0), 0.1); // [11, 4]
    b.output(b.transpose(x0, [1, 2, 0]), 0.1);
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 70))).toBeGreaterThan(0);
  });

  it("remap: nearest ×2 of [2, 3, 4], a reversed and repeated gather, and a rank change [2, 3, 4] → [5, 2]", async () => {
    const b = new ProgramBuilder(rounding);
    const x = b.input([2, 3, 4], I8, 0.1, -3);
    const rep = (n: number, s: number, stride: number) => Int32Array.from({ length: n * s }, (_, i) => Math.floor(i / s) * stride);
    b.output(b.remap(x, [Int32Array.of(0, 12), rep(3, 2, 4), rep(4, 2, 1)]), 0.1); // [2, 6, 8]
    b.output(b.remap(x, [Int32Array.of(12, 0, 12), Int32Array.of(8, 4, 4, 0), Int32Array.of(3, 2, 1, 0, 0)]), 0.1); // [3, 4, 5]
    b.output(b.remap(x, [Int32Array.of(0, 4, 8, 12, 23), Int32Array.of(0, 0)]), 0.1); // [5, 2]
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 71))).toBeGreaterThan(0);
  });

  it("a small network: conv → requant (ReLU clamp) → maxpool → sumpool → requant → reshape → dense → requant", async () => {
    const rng = new Rng(80);
    const b = new ProgramBuilder(rounding);
    const x = b.input([1, 12, 12], U8, 1 / 255, 0);
    const c = b.conv(x, { inputZero: 0, weight: randomInts(rng, 8 * 9, -127, 127), weightShape: [8, 1, 3, 3], bias: randomInts(rng, 8, -500, 500), strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
    const r1 = b.requant(c, usefulMultipliers(rng, 8, 14), 0, I8, -128, [-128, 127]);
    const mp = b.pool("maxpool", r1, { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] });
    const sp = b.pool("sumpool", mp, { inputZero: -128, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] });
    const r2 = b.requant(sp, [quantizeMultiplier(0.25)], 0, I8, -128);
    const flat = b.reshape(r2, [8 * 3 * 3]);
    const d = b.dense(flat, -128, randomInts(rng, 72 * 10, -127, 127), 10, randomInts(rng, 10, -3000, 3000));
    b.output(b.requant(d, usefulMultipliers(rng, 10, 15), 0, I8, 0), 0.2);
    const p = b.build();
    expect(await expectBitExact(p, allFeeds(p, 81, 70), 16)).toBeGreaterThan(0);
  });
});

describe("double rounding's left shift", () => {
  const leftShift = (range: [number, number]) => {
    const b = new ProgramBuilder("double");
    const x = b.input([2], I32, 1, 0, range);
    b.output(b.requant(x, [{ m: 2 ** 30 + 12345, s: 20 }], 0, I8, 0), 1);
    return b.build();
  };

  it("is refused, naming the op, where acc·2^(31−s) can overflow int32 over the certified range", () => {
    expect(() => emitJsModule(leftShift([INT32_MIN, INT32_MAX]))).toThrow(/Requant '\/rq\d+': js back end cannot run requant op 1: double rounding's left shift by 11 \(s = 20\) overflows int32/);
    expect(() => emitJsModule(leftShift([-(2 ** 20), 2 ** 20]))).toThrow(/left shift by 11/);
  });

  it("throws a RangeError at run time when integer feeds beyond the quantize range make acc·2^(31−s) overflow, as numerics/requant.ts does", async () => {
    const p = leftShift([-(2 ** 20), 2 ** 20 - 1]);
    const { mod } = await importProgram(p);
    expect(mod.runAllInt({ in0: Int32Array.of(2 ** 20 - 1, -(2 ** 20)) }, 1).ints.out0).toEqual(Int32Array.of(127, -128));
    expect(() => mod.runAllInt({ in0: Int32Array.of(2 ** 20, 0) }, 1)).toThrow(RangeError);
    expect(() => mod.runAllInt({ in0: Int32Array.of(0, -(2 ** 20) - 1) }, 1)).toThrow(RangeError);
  });
});

