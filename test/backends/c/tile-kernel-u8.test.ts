/**
 * The u8 × s8 batch kernel (tile-kernel-u8.ts). First its bound, against a
 * brute-force model of `vpmaddubsw` (every u0, u1 ∈ [0, U], the int16
 * saturation written out): pairsFitInt16 says yes exactly when no input
 * saturates. Then the generated C against the emulator, bit for bit, on
 * layers that take the kernel with adversarial weights (every weight +64, every
 * weight −64: the pair sum 255·128 = 32640 at the edge of int16; alternating
 * ±127/−128 pairs, which never saturate; random 7-bit weights) and the extreme
 * inputs (allFeeds: 0 and 255 everywhere, the whole range, float samples):
 * in-place convs on uint8 and int8 inputs with nonzero zero points, padding,
 * stride 2 and a channel count that leaves a partial quad; a grouped conv and
 * dense layers (the gathered patch, K not a multiple of 4), fused requant and
 * not; a second, uint4 input (U = 15: any int8 weight fits). A layer with a pair
 * beyond the bound (+127, +127) keeps the int16 kernel. The octet form
 * (tile-kernel-u8-octets.ts): its bound against the int16 sum of two exact
 * pair sums at every corner of [0, U]^4 (a linear form's extremes), and dense
 * layers whose blocks mix octets that fit and quads that do not, all octets
 * fitting with a last lone quad (K = 36), and rows past the last block of 4. Built as the portable
 * body, under ASan + UBSan (at -O0: the checks are inserted before optimisation, a third of -O1's compile), and with AVX2 where this CPU runs it; the VNNI
 * bodies are compiled (not run) where gcc knows the flags. Skips without
 * gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { emitC } from "../../../src/backends/c/emit.js";
import { biasU8, pairsFitInt16 } from "../../../src/backends/c/tile-kernel-u8.js";
import { octetFits, octetSchedule } from "../../../src/backends/c/tile-kernel-u8-octets.js";
import { intType } from "../../../src/numerics/int.js";
import { quantizeMultiplier } from "../../../src/numerics/requant.js";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { allFeeds, usefulMultipliers } from "../js/feeds.js";
import { I8, ProgramBuilder, randomInts, U8 } from "../js/program-builder.js";
import { expectBitExactC } from "./check-c.js";

/** Whether vpmaddubsw's int16 saturation leaves u0·w0 + u1·w1 unchanged for every u0, u1 in [0, U]. */
function neverSaturates(w0: number, w1: number, U: number): boolean {
  for (let u0 = 0; u0 <= U; u0++)
    for (let u1 = 0; u1 <= U; u1++) {
      const s = u0 * w0 + u1 * w1;
      if (Math.min(32767, Math.max(-32768, s)) !== s) return false;
    }
  return true;
}

describe("pairsFitInt16", () => {
  it("agrees with the saturating pair sum on edge and random pairs", () => {
    const rng = new Rng(5);
    const pairs: [number, number][] = [
      [64, 64],
      [64, 65],
      [-64, -64],
      [-64, -65],
      [-128, 0],
      [-128, -1],
      [127, 0],
      [127, 1],
      [127, -128],
      [-128, 127],
      [0, 0],
    ];
    for (let k = 0; k < 24; k++) pairs.push([rng.range(-128, 127), rng.range(-128, 127)]);
    for (const U of [15, 255, 128]) {
      for (const [a, b] of pairs) expect([a, b, U, pairsFitInt16([a, b], U)]).toEqual([a, b, U, neverSaturates(a, b, U)]);
    }
  });

  it("checks every pair of a row, and refuses weights outside int8", () => {
    expect(pairsFitInt16([1, 2, 64, 64, -3, 100], 255)).toBe(true);
    expect(pairsFitInt16([1, 2, 64, 65, -3, 100], 255)).toBe(false);
    expect(pairsFitInt16([128, 0], 1)).toBe(false);
  });

  it("biasU8 folds the offset: bias' + Σ w·u = bias + Σ w·(x − z) modulo 2^32", () => {
    const rng = new Rng(6);
    const w = randomInts(rng, 3 * 10, -128, 127);
    const bias = randomInts(rng, 3, -(2 ** 31), 2 ** 31 - 1);
    const lo = -128;
    const z = 17;
    const b2 = biasU8(w, 3, bias, z - lo);
    for (let o = 0; o < 3; o++) {
      const x = Array.from({ length: 10 }, () => rng.range(-128, 127));
      let want = bias[o]!;
      let got = b2[o]!;
      for (let k = 0; k < 10; k++) {
        want += w[o * 10 + k]! * (x[k]! - z);
        got += w[o * 10 + k]! * (x[k]! - lo);
      }
      expect(got | 0).toBe(want | 0);
    }
  });
});

describe("octetFits / octetSchedule", () => {
  /** Whether w0·u0 + w1·u1 + w2·u2 + w3·u3 stays in int16 at every corner of [0, U]^4 (so everywhere in the box). */
  const cornersFit = (w: number[], U: number) => {
    for (let m = 0; m < 16; m++) {
      const s = w.reduce((a, v, j) => a + ((m >> j) & 1 ? v * U : 0), 0);
      if (s < -32768 || s > 32767) return false;
    }
    return true;
  };

  it("agrees with the int16 sum at the corners, per position and row of a block", () => {
    const rng = new Rng(8);
    const Kw = 16;
    for (let trial = 0; trial < 400; trial++) {
      const U = [255, 128, 15][trial % 3]!;
      const big = trial % 2 === 0 ? 64 : 127;
      const wq = Int32Array.from({ length: 4 * Kw }, () => rng.range(-big, big));
      for (let t = 0; t < 2; t++) {
        let want = true;
        for (let r = 0; r < 4; r++)
          for (let p = 0; p < 2; p++) {
            const b = r * Kw + 8 * t + 2 * p;
            want &&= cornersFit([wq[b]!, wq[b + 1]!, wq[b + 4]!, wq[b + 5]!], U);
          }
        expect([trial, t, octetFits(wq, 0, t, Kw, U)]).toEqual([trial, t, want]);
      }
    }
    // the edge: Σ w⁺ = 128 fits at U = 255 (32640), 129 does not; Σ w⁻ = 128 fits (−32640)
    expect(octetFits(Int32Array.from({ length: 32 }, (_, k) => (k % 8 === 0 || k % 8 === 4 ? 64 : 0)), 0, 0, 8, 255)).toBe(true);
    expect(octetFits(Int32Array.from({ length: 32 }, (_, k) => (k % 8 === 0 ? 65 : k % 8 === 4 ? 64 : 0)), 0, 0, 8, 255)).toBe(false);
  });

  it("lists per block of 4 rows the octets that fit, then the quads left over (a last lone quad included)", () => {
    // 5 rows of Kq = 20 (2 octets + 1 quad): block 0 has octet 1 too large in row 2
    const Kw = 20;
    const wq = Int32Array.from({ length: 5 * Kw }, (_, k) => (Math.floor(k / Kw) === 2 && k % Kw === 9 ? 127 : 1));
    expect([...octetSchedule(wq, 5, Kw, 20, 255)!]).toEqual([1, 3, 0, 2, 3, 4]);
    expect(octetSchedule(Int32Array.from({ length: 4 * 8 }, () => 64), 4, 8, 8, 255)).toBeUndefined(); // Σ w⁺ = 256: none fits
  });
});

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-u8-");
afterAll(tmp.remove);
const dir = tmp.fresh;

const fill = (n: number, f: (k: number) => number) => Int32Array.from({ length: n }, (_, k) => f(k));

function program() {
  const rng = new Rng(91);
  const b = new ProgramBuilder("single");
  const x = b.input([5, 7, 6], U8, 0.02, 3);
  const conv = (inp: string, zin: number, C: number, O: number, group: number, kernel: [number, number], strides: [number, number], pads: [number, number, number, number], weight: Int32Array) =>
    b.conv(inp, { inputZero: zin, weight, weightShape: [O, C / group, kernel[0], kernel[1]], bias: randomInts(rng, O, -5000, 5000), strides, pads, dilations: [1, 1], group });
  const n = (O: number, C: number, k: number) => O * C * k;
  // on the raw input (0 and 255 everywhere from the constant feeds): every weight +64 and every weight −64 (channels 0..2 / 3..5), C = 5 (a partial quad), stride 2, asymmetric pads; read twice (not fused)
  const edge = conv(x, 3, 5, 6, 1, [3, 3], [2, 2], [1, 0, 2, 1], fill(n(6, 5, 9), (k) => (k < n(3, 5, 9) ? 64 : -64)));
  b.output(b.requant(edge, [quantizeMultiplier(2 ** -14)], 0, I8, 0), 0.05);
  const a8 = b.requant(edge, usefulMultipliers(rng, 6, 17), 0, U8, 0);
  // alternating +127 / −128 (opposite signs: never saturates), 9 outputs (blocks 4 + 4 + 1), fused per-channel requant
  const alt = conv(a8, 0, 6, 9, 1, [3, 3], [1, 1], [1, 1, 1, 1], fill(n(9, 6, 9), (k) => (k % 2 === 0 ? 127 : -128)));
  const a9 = b.requant(alt, usefulMultipliers(rng, 9, 19), 0, I8, -7);
  // int8 input with a negative zero point, random 7-bit weights, 1x1 and 3x3; fused per-tensor
  const r1 = conv(a9, -7, 9, 12, 1, [1, 1], [1, 1], [0, 0, 0, 0], randomInts(rng, n(12, 9, 1), -64, 64));
  const r8 = b.requant(r1, [quantizeMultiplier(2 ** -10)], 0, I8, 4);
  const r3 = conv(r8, 4, 12, 8, 1, [3, 3], [1, 1], [1, 1, 1, 1], randomInts(rng, n(8, 12, 9), -64, 64));
  b.output(b.requant(r3, usefulMultipliers(rng, 8, 16), 0, U8, 0), 0.02);
  // grouped (2 groups of 6, not depthwise): the gathered patch
  const gp = conv(r8, 4, 12, 4, 2, [2, 2], [1, 1], [0, 1, 0, 1], randomInts(rng, n(4, 6, 4), -64, 64));
  b.output(b.requant(gp, usefulMultipliers(rng, 4, 14), 0, I8, 0), 0.02);
  // a pair beyond the bound (+127, +127): stays on the int16 kernel
  const wide = conv(a8, 0, 6, 3, 1, [1, 1], [1, 1], [0, 0, 0, 0], fill(n(3, 6, 1), () => 127));
  b.output(b.requant(wide, [quantizeMultiplier(2 ** -12)], 0, U8, 0), 0.02);
  // dense on the flattened uint8 activation: K = 6·4·3 = 72 → then K = 30 (not a multiple of 4), fused and not
  const flat = b.reshape(a8, [b.shape(a8).reduce((p, q) => p * q, 1)]);
  const K = b.shape(flat)[0]!;
  const d1 = b.dense(flat, 0, fill(30 * K, (k) => (k % 3 === 0 ? 64 : k % 3 === 1 ? -64 : rng.range(-64, 64))), 30);
  const h = b.requant(d1, usefulMultipliers(rng, 30, 18), 0, U8, 2);
  const d2 = b.dense(h, 2, randomInts(rng, 7 * 30, -64, 64), 7);
  b.output(d2, 0.001);
  // a third input: dense layers on 36 uint8 features (Kq = 36: four octets and a lone quad), small weights (every octet
  // fits), 9 rows (two blocks of 4 and one more), and full 7-bit weights (blocks mixing octets and quads), fused and not
  const x36 = b.input([36], U8, 0.05, 0);
  b.output(b.requant(b.dense(x36, 0, randomInts(rng, 9 * 36, -16, 16), 9), usefulMultipliers(rng, 9, 16), 0, U8, 0), 0.02);
  b.output(b.dense(x36, 0, randomInts(rng, 8 * 36, -64, 64), 8), 0.001);
  // a second input, uint4 (U = 15): any int8 weight fits, including all −128 and all +127
  const x4 = b.input([6, 5, 5], intType(4, false), 0.1, 8);
  const c = b.conv(x4, { inputZero: 8, weight: fill(7 * 6 * 9, (k) => (k % 7 < 3 ? -128 : 127)), weightShape: [7, 6, 3, 3], bias: randomInts(rng, 7, -500, 500), strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
  b.output(b.requant(c, usefulMultipliers(rng, 7, 15), 0, U8, 0), 0.02);
  return b.build();
}

describe.skipIf(!HAVE)("the u8 batch kernel gives the emulator's bits", () => {
  it("takes the u8 kernel where the bound holds, and the int16 one elsewhere", () => {
    const c = emitC(program()).get("model.c")!;
    // four in-place convs within the bound, and the uint4 one; each twice: the code part is printed for two CPU passes (cpu-dispatch.ts)
    expect(c.match(/fixq_tile_dot_u8\(WT\d+/g)?.length).toBe(2 * 5);
    expect(c.match(/fixq_tile_dot_u8\(WQ\d+/g)?.length).toBeGreaterThanOrEqual(3); // grouped conv, two dense layers
    expect(c).toMatch(/fixq_tile_dot\(WT\d+/); // the (+127, +127) layer
    expect(c).toMatch(/_mm256_maddubs_epi16/);
    // the octet form on the dense layers: per block [np, ns, …]; some blocks mix octets and quads, one layer has all octets and a lone quad
    const scheds = [...c.matchAll(/static const int32_t SQ\d+\[\d+\] = \{([^}]*)\}/g)].map((m) => m[1]!.split(",").map(Number));
    expect(c.match(/fixq_tile_dot_u8s\(WQ\d+/g)?.length).toBe(2 * scheds.length);
    expect(scheds.length).toBeGreaterThanOrEqual(3);
    expect(scheds.some((q) => q[0]! > 0 && q[1]! > 0)).toBe(true);
    expect(scheds.some((q) => q[0] === 4 && q[1] === 1)).toBe(true);
  });

  const flags = [
    ["portable C", "-O2 -DFIXQ_PORTABLE -Wconversion -Wsign-conversion"],
    ["ASan + UBSan (SSE2 / portable bodies: no run-time dispatch)", "-O0 -g -DFIXQ_NO_DISPATCH -fsanitize=address,undefined -fno-sanitize-recover=all"],
    ...(detectCpu().features.includes("avx2") ? [["AVX2", "-O2 -mavx2 -Wconversion -Wsign-conversion"]] : []),
  ];
  it.each(flags)("%s (%s)", (_, cflags) => {
    const p = program();
    expectBitExactC(p, dir(), allFeeds(p, 93, 19), cflags);
  }, 240_000);

  // VNNI bodies: compiled with -Werror where gcc accepts the target flags (this CPU may not run them)
  const vnni = [
    ["AVX512-VNNI", "-mavx2 -mavx512f -mavx512vnni -mavx512vl"],
    ["AVX-VNNI", "-mavx2 -mavxvnni"],
  ].filter(([, f]) => spawnSync("gcc", [...f!.split(" "), "-x", "c", "-c", "-o", "/dev/null", "-"], { input: "int x;" }).status === 0);
  it.each(vnni)("%s body compiles (%s)", (_, cflags) => {
    const d = dir();
    for (const [rel, text] of emitC(program())) if (rel === "model.c" || rel === "model.h") writeFileSync(`${d}/${rel}`, text);
    const asm = run("gcc", ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", ...cflags!.split(" "), "-S", "-o", "-", `${d}/model.c`]);
    expect(asm).toMatch(/vpdpbusd/);
  }, 120_000);
});
