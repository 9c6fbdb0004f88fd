/**
 * The batch path's conv kernels (tile-conv.ts: group-1 convs read in place
 * from the padded channel-pair copy; tile-depthwise.ts: depthwise convs, AVX2
 * pair body and portable loop) against the emulator, bit for bit, on the
 * shapes the bundled models do not reach: an odd channel count (the last pair
 * half zero), asymmetric pads with stride 2, dilation, an output count that
 * leaves remainders in the 6- and 4-channel register blocks, position blocks
 * that do not divide the positions, convs whose int32 sums are read twice (no
 * fused requant: the sums go straight to the int32 tensor), per-tensor and
 * per-channel fused requants, and a depthwise conv on int8 with a negative zero
 * point. Built as the portable body (-DFIXQ_PORTABLE), under ASan + UBSan (at -O0: the checks are inserted before optimisation, a third of -O1's compile), and
 * with AVX2 where this CPU runs it. Skips without gcc/make (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import { emitC } from "../../../src/backends/c/emit.js";
import { quantizeMultiplier } from "../../../src/numerics/requant.js";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { allFeeds, usefulMultipliers } from "../js/feeds.js";
import { I8, ProgramBuilder, randomInts, U8 } from "../js/program-builder.js";
import { expectBitExactC } from "./check-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-tiles-");
afterAll(tmp.remove);
const dir = tmp.fresh;

function program() {
  const rng = new Rng(77);
  const b = new ProgramBuilder("single");
  const x = b.input([3, 9, 7], U8, 0.02, 0);
  const conv = (inp: string, zin: number, C: number, O: number, group: number, kernel: [number, number], strides: [number, number], pads: [number, number, number, number], dilations: [number, number]) =>
    b.conv(inp, { inputZero: zin, weight: randomInts(rng, O * (C / group) * kernel[0] * kernel[1], -127, 127), weightShape: [O, C / group, kernel[0], kernel[1]], bias: randomInts(rng, O, -5000, 5000), strides, pads, dilations, group });
  // odd C, stride 2, asymmetric pads; read twice, so not fused
  const a = conv(x, 0, 3, 7, 1, [3, 3], [2, 2], [1, 0, 2, 1], [1, 1]);
  const a8 = b.requant(a, usefulMultipliers(rng, 7, 15), 0, U8, 3);
  b.output(a8, 0.02);
  b.output(b.requant(a, [quantizeMultiplier(2 ** -12)], 0, I8, -1), 0.05);
  // 40 outputs (blocks 6 × 6 + 4), dilated, on 7 × 5 positions (35 = 2 × 12 + 11: a last partial block); per-tensor fused requant
  const c = conv(a8, 3, 7, 40, 1, [2, 2], [1, 1], [1, 1, 0, 1], [2, 1]);
  b.output(b.requant(c, [quantizeMultiplier(2 ** -13)], 0, U8, 0), 0.02);
  // depthwise on int8 with a negative zero point, stride 2, read twice (int32 sums to y); and fused, stride 1
  const y = b.requant(conv(a8, 3, 7, 7, 1, [1, 1], [1, 1], [0, 0, 0, 0], [1, 1]), usefulMultipliers(rng, 7, 14), 0, I8, -5);
  const dw = conv(y, -5, 7, 7, 7, [3, 3], [2, 2], [1, 1, 1, 1], [1, 1]);
  b.output(b.requant(dw, usefulMultipliers(rng, 7, 14), 0, I8, 0), 0.02);
  b.output(b.requant(dw, [quantizeMultiplier(2 ** -10)], 0, I8, 2), 0.02);
  b.output(b.requant(conv(y, -5, 7, 7, 7, [3, 2], [1, 1], [0, 1, 2, 0], [1, 2]), usefulMultipliers(rng, 7, 14), 0, U8, 10), 0.02);
  return b.build();
}

describe.skipIf(!HAVE)("the batch conv kernels give the emulator's bits", () => {
  it("take the in-place and depthwise paths, fused and not", () => {
    const c = emitC(program()).get("model.c")!;
    expect(c).toMatch(/int16_t \*restrict x2 = fixq_tilex2_int16_t/); // tile-conv.ts
    expect(c).toMatch(/static int tile\d+_conv\(const uint8_t \*restrict x, int32_t \*restrict y\)/); // not fused: int32 out
    expect(c).toMatch(/static int tile\d+_conv_requant\(const uint8_t \*restrict x, uint8_t \*restrict y\)/); // fused
    expect(c).toMatch(/_mm256_madd_epi16\(_mm256_unpacklo_epi16\(p, q\), w\d+\)/); // the depthwise AVX2 body (tile-depthwise-avx2.ts)
  });

  const flags = [
    ["portable C", "-O2 -DFIXQ_PORTABLE -Wconversion -Wsign-conversion"],
    ["ASan + UBSan (SSE2 / portable bodies: no run-time dispatch)", "-O0 -g -DFIXQ_NO_DISPATCH -fsanitize=address,undefined -fno-sanitize-recover=all"],
    ...(detectCpu().features.includes("avx2") ? [["AVX2", "-O2 -mavx2 -Wconversion -Wsign-conversion"]] : []),
  ];
  it.each(flags)("%s (%s)", (_, cflags) => {
    const p = program();
    expectBitExactC(p, dir(), allFeeds(p, 78, 21), cflags);
  }, 180_000); // the sanitizer build: ~45 s on a loaded 2-core machine
});
