/**
 * Generated C vs the emulator, bit for bit, on hand-built programs covering
 * every op kind, both requant roundings, per-channel multipliers of every
 * shift class, negative zero points, int8/uint8/int16/int32 values, depthwise
 * and grouped convs, layers whose sums pass 2^31 (the wrapping kernel), on
 * float feeds with ties, ±0, ±Inf, NaN, and integer feeds spanning each
 * input's range. Built with gcc -fsanitize=address,undefined (no recovery):
 * an overflow, a bad shift or an out-of-bounds access fails the run; and with
 * -Wconversion -Wsign-conversion under the Makefile's -Werror. The sanitizer
 * builds take -O0 (the checks are inserted before optimisation; an eighth of
 * -O1's compile time); the kernel-body builds of the conv program take -O2
 * (optimised code, and the optimiser-dependent warnings such as
 * -Wmaybe-uninitialized that -O0 does not give). Skips without gcc/make
 * (fails with FIXQ_REQUIRE_DATA=1).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emitC } from "../../../src/backends/c/emit.js";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { INT32_MAX, INT32_MIN, quantizeMultiplier, type RequantRounding } from "../../../src/numerics/requant.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { allFeeds, classMultipliers, usefulMultipliers } from "../js/feeds.js";
import { intInputs } from "../js/compare.js";
import { dyadic, I8, I16, I32, ProgramBuilder, randomInts, U8 } from "../js/program-builder.js";
import { expectBitExactC } from "./check-c.js";
import { buildC, runC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-ops-");
afterAll(tmp.remove);
const SAN = "-O0 -g -DFIXQ_NO_DISPATCH -fsanitize=address,undefined -fno-sanitize-recover=all -Wconversion -Wsign-conversion";
const dir = tmp.fresh;

/** Convs of every shape class (3×3 pad 1, depthwise stride 2, grouped and dilated, pointwise) and dense layers, each → requant. */
function convProgram(rounding: RequantRounding) {
  const rng = new Rng(10);
  const b = new ProgramBuilder(rounding);
  const x = b.input([4, 9, 8], U8, 0.02, 128);
  const y = b.input([4, 9, 8], I8, 0.02, -7);
  const conv = (inp: string, zin: number, O: number, group: number, kernel: [number, number], strides: [number, number], pads: [number, number, number, number], dilations: [number, number], bias: boolean) =>
    b.conv(inp, { inputZero: zin, weight: randomInts(rng, O * (4 / group) * kernel[0] * kernel[1], -127, 127), weightShape: [O, 4 / group, kernel[0], kernel[1]], bias: bias ? randomInts(rng, O, -20000, 20000) : undefined, strides, pads, dilations, group });
  const accs = [conv(x, 128, 6, 1, [3, 3], [1, 1], [1, 1, 1, 1], [1, 1], true), conv(y, -7, 4, 4, [3, 3], [2, 2], [0, 1, 1, 0], [1, 1], true), conv(y, -7, 6, 2, [2, 3], [1, 2], [2, 0, 1, 3], [2, 2], false), conv(x, 128, 5, 1, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1], true), conv(x, 128, 4, 4, [2, 3], [1, 2], [1, 0, 2, 1], [2, 1], true)];
  for (const a of accs) {
    const O = b.shape(a)[0]!;
    b.output(b.requant(a, [...usefulMultipliers(rng, O - 2, 14), ...classMultipliers(rng, 2, rounding)], 0, I8, -3), 0.02);
  }
  const d0 = b.dense(b.input([50], U8, 0.01, 200), 200, randomInts(rng, 50 * 7, -255, 255), 7, randomInts(rng, 7, -(2 ** 20), 2 ** 20));
  const d1 = b.dense(b.input([3, 20], I8, 0.01, -100), -100, randomInts(rng, 20 * 5, -127, 127), 5);
  b.output(b.requant(d0, usefulMultipliers(rng, 7, 18), 0, I8, 1), 0.1);
  b.output(b.requant(d1, usefulMultipliers(rng, 5, 14), 1, U8, 128, [128, 255]), 0.1);
  return b.build();
}

describe.skipIf(!HAVE)("the dot-product kernel's three bodies give the same bits", () => {
  // AVX2 only where this CPU runs it; the SSE2 body is what the sanitizer builds above take
  const flags = [["portable C", "-O2 -DFIXQ_PORTABLE -Wconversion -Wsign-conversion"], ...(detectCpu().features.includes("avx2") ? [["AVX2", "-O2 -mavx2 -Wconversion -Wsign-conversion"]] : [])];
  it.each(flags)("%s (%s)", (_, cflags) => {
    const p = convProgram("single");
    const c = emitC(p).get("model.c")!;
    expect(c).toMatch(/fixq_gemm_s16\(W/); // the one-sample kernel (NAME_run)
    expect(c).toMatch(/fixq_tile_dot\(W/); // the batch kernel (NAME_run_batch, which model_run calls)
    expectBitExactC(p, dir(), allFeeds(p, 22, 16), cflags);
  });

  // this CPU may lack AVX512-VNNI: the vpdpwssd body is only compiled here, and its bits are not checked
  it("the AVX512-VNNI body compiles (-mavx512vnni -mavx512vl) to vpdpwssd; -DFIXQ_PORTABLE removes every intrinsic", () => {
    const d = dir();
    for (const [rel, text] of emitC(convProgram("single"))) writeFileSync(join(d, rel), text);
    // -O1: the intrinsics are emitted at any level, and no auto-vectorizer runs (as -fno-tree-vectorize below)
    const asm = (flags: string[]) => run("gcc", ["-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", ...flags, "-S", "-o", "-", join(d, "model.c")]);
    expect(asm(["-mavx2", "-mavx512vnni", "-mavx512vl"])).toMatch(/vpdpwssd/);
    const portable = asm(["-mavx2", "-mavx512vnni", "-mavx512vl", "-DFIXQ_PORTABLE", "-fno-tree-vectorize"]);
    expect(portable).not.toMatch(/vpdpwssd|vpmaddwd|pmaddwd/);
  });
});

describe.skipIf(!HAVE).each(["single", "double"] as RequantRounding[])("generated C = emulator (%s rounding, ASan + UBSan)", (rounding) => {
  it("quantize → dequantize and requant of every shift class, per channel and per tensor", () => {
    const rng = new Rng(rounding === "single" ? 2 : 3);
    const b = new ProgramBuilder(rounding);
    b.output(b.input([64], U8, 0.0123, 131), 0.0123);
    b.output(b.input([64], I16, 2 ** -10, -300), 2 ** -10);
    const range: [number, number] = rounding === "single" ? [INT32_MIN, INT32_MAX] : [-(2 ** 16), 2 ** 16];
    const x0 = b.input([12, 5], I32, 1, 0, range);
    const x1 = b.input([4, 12], I32, 1, 0, range);
    b.output(b.requant(x0, classMultipliers(rng, 12, rounding), 0, I8, -3), 0.1);
    b.output(b.requant(x1, [...classMultipliers(rng, 9, rounding, 16), { m: 2 ** 30, s: 35 }, { m: 3 * 2 ** 29, s: 33 }, { m: 3 * 2 ** 29, s: 30 }], 1, U8, 128, [3, 250]), 0.1);
    b.output(b.requant(x0, [dyadic(rng, rounding === "single" ? 37 : 45)], 0, I16, 5), 0.1);
    const p = b.build();
    expectBitExactC(p, dir(), allFeeds(p, 4, 64), SAN);
  });

  it("convs (uint8 3×3 pad 1, int8 depthwise stride 2, grouped dilated, pointwise) and dense → requant", () => {
    const p = convProgram(rounding);
    expectBitExactC(p, dir(), allFeeds(p, 21, 16), SAN);
  }, 180_000); // a sanitizer build of every conv kernel: ~50 s at -O1 on a loaded 2-core machine, -O0 a fraction

  it("conv and dense whose worst case passes 2^31 (int32 inputs, wide weights): the wrapping kernel", () => {
    const rng = new Rng(35);
    const b = new ProgramBuilder(rounding);
    const x = b.input([2, 5, 5], I32, 1, 7, [INT32_MIN, INT32_MAX]);
    const c = b.conv(x, { inputZero: 7, weight: randomInts(rng, 3 * 2 * 9, -(2 ** 20), 2 ** 20), weightShape: [3, 2, 3, 3], bias: randomInts(rng, 3, -(2 ** 24), 2 ** 24), strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 });
    const d = b.dense(b.reshape(x, [50]), 7, randomInts(rng, 50 * 6, -(2 ** 20), 2 ** 20), 6);
    b.output(b.requant(c, usefulMultipliers(rng, 3, 26), 0, I8, 0), 0.1);
    b.output(b.requant(d, [quantizeMultiplier(2 ** -15)], 0, I32, 0), 0.1);
    const p = b.build();
    expect(emitC(p).get("model.c")).toMatch(/fixq_u32_to_i32\(s\)/);
    const feeds = [20, 1].map((batch) => ({ data: { in0: intInputs(rng, batch * 50, -120, 135) }, batch, quantized: true }));
    expectBitExactC(p, dir(), feeds, SAN);
  });

  it("pools, rescale (residual add, three branches, ReLU clamp), transpose, reshape, concat", () => {
    const rng = new Rng(60);
    const b = new ProgramBuilder(rounding);
    const x = b.input([3, 7, 7], U8, 0.03, 128);
    b.output(b.requant(b.pool("sumpool", x, { inputZero: 128, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [quantizeMultiplier(1 / 9)], 0, U8, 128), 0.03);
    b.output(b.requant(b.pool("sumpool", x, { inputZero: 128, kernel: [2, 3], strides: [3, 1], pads: [0, 2, 1, 0] }), usefulMultipliers(rng, 3, 9), 0, I8, -2), 0.03);
    b.output(b.pool("maxpool", x, { kernel: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1], dilations: [2, 1] }), 0.03);
    const x0 = b.input([4, 5], I8, 0.04, -3);
    const x1 = b.input([4, 5], U8, 0.07, 120);
    const x2 = b.input([4, 5], I16, 0.001, 1000);
    const m = () => rng.range(2 ** 29, 2 ** 30);
    b.output(b.rescale([x0, x1], { inputZeros: [-3, 120], multipliers: [m(), m()], shift: 31, outZero: 4 }, I8), 0.1);
    b.output(b.rescale([x0, x1, x2], { inputZeros: [-3, 120, 1000], multipliers: [m(), 0, rng.range(2 ** 20, 2 ** 21)], shift: 28, outZero: -128 }, U8, [0, 200]), 0.1);
    b.output(b.rescale([x0], { inputZeros: [-3], multipliers: [1], shift: 0, outZero: -3 }, I8, [-3, 127]), 0.04);
    const t = b.transpose(b.input([2, 3, 4], U8, 0.1, 7), [2, 0, 1]);
    b.output(b.concat([b.reshape(t, [4, 6]), x1, b.reshape(t, [4, 6])], 1), 0.1);
    const p = b.build();
    expectBitExactC(p, dir(), allFeeds(p, 61, 16), SAN);
  });
});

describe("double rounding's left shift", () => {
  const leftShift = (range: [number, number]) => {
    const b = new ProgramBuilder("double");
    const x = b.input([2], I32, 1, 0, range);
    b.output(b.requant(x, [{ m: 2 ** 30 + 12345, s: 20 }], 0, I8, 0), 1);
    return b.build();
  };

  it("is refused, naming the node and the op, where acc·2^(31−s) can overflow int32 over the certified range", () => {
    expect(() => emitC(leftShift([INT32_MIN, INT32_MAX]))).toThrow(/Requant '\/rq\d+': c back end cannot run requant op 1: double rounding's left shift by 11 \(s = 20\) overflows int32/);
  });

  it.skipIf(!HAVE)("makes model_run fail with one line and exit 1, writing nothing, when integer feeds beyond the quantize range overflow it", () => {
    const p = leftShift([-(2 ** 20), 2 ** 20 - 1]);
    const d = dir();
    const built = buildC(p, d);
    expect((runC(built, { data: { in0: Int32Array.of(2 ** 20 - 1, -(2 ** 20)) }, batch: 1, quantized: true }).ints as Map<string, Int32Array>).get("out0")).toEqual(Int32Array.of(127, -128));
    expect(() => runC(built, { data: { in0: Int32Array.of(0, 0, 2 ** 20, 0) }, batch: 2, quantized: true }, "bad")).toThrow(/model_run: .*bad\.in\.bin: sample 1: an integer value lies outside the range the program's arithmetic accepts/);
    expect(existsSync(`${d}/bad.int.bin`)).toBe(false);
  });
});
