/**
 * Generated C (c/ops-remap.ts, and ConvTranspose's phase convs) and HLS C
 * simulation (hls/ops-data.ts's remap layer) against the emulator, bit for
 * bit, on quantized decoders: Conv → ConvTranspose (stride 2, output_padding,
 * groups 2) → Resize ×2 (nearest asymmetric + floor, linear half_pixel,
 * linear align_corners) → Conv, and a ConvTranspose whose
 * kernel is shorter than its stride. C builds with -fsanitize=address,undefined
 * (an out-of-bounds index map fails the run) and -Wconversion
 * -Wsign-conversion under the Makefile's -Werror; model_run goes through the batch
 * functions (the TILE-lane remap). HLS C simulation of the linear decoder in
 * parallel and stream I/O. Skips without gcc/g++/make (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Program } from "../../../src/integer/program.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { convTransposeCase, decoderCase } from "../../integer/decoder-models.js";
import { lowerCase } from "../../integer/decoder-programs.js";
import { buildHls } from "../hls/build-hls.js";
import { allFeeds } from "../js/feeds.js";
import { expectBitExactC, tallyBuilt } from "./check-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("g++") && toolAvailable("make");
const tmp = tempDir("fixq-c-remap-");
afterAll(tmp.remove);
const SAN = "-O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Wconversion -Wsign-conversion";

const CASES: [string, () => Promise<Program>][] = [
  ["decoder, Resize asymmetric + floor", () => lowerCase(decoderCase(21, 32))],
  ["decoder, Resize linear half_pixel (edge remap + depthwise phases)", () => lowerCase(decoderCase(24, 32, "half_pixel", "floor", "linear"))],
  ["decoder, Resize linear align_corners (two dense passes, int16 between)", () => lowerCase(decoderCase(25, 32, "align_corners", "floor", "linear"))],
  [
    "ConvTranspose k2 s3 (phases without taps)",
    () => lowerCase(convTransposeCase({ name: "k2s3", input: [2, 3, 4], outChannels: 3, kernel: [2, 2], strides: [3, 3], outputPadding: [2, 1], relu: true }, 23, 32)),
  ],
];

describe.skipIf(!HAVE)("remap and ConvTranspose phases in generated C and HLS C simulation", () => {
  it.each(CASES)("%s: C (sanitized) = emulator", async (_name, make) => {
    const p = await make();
    expect(p.ops.some((o) => o.kind === "remap")).toBe(true); // ConvTranspose's interleave at least
    expectBitExactC(p, tmp.fresh(), allFeeds(p, 5, 19), SAN);
  }, 120_000);

  it.each(CASES.slice(1, 2))("%s: HLS C simulation = emulator (parallel and stream I/O)", async (_name, make) => {
    const p = await make();
    for (const io of ["parallel", "stream"] as const) {
      const t = tallyBuilt(buildHls(p, tmp.fresh(), { io }), allFeeds(p, 7, 9));
      expect({ io, floats: t.floats, ints: t.ints }).toEqual({ io, floats: 0, ints: 0 });
      expect(t.compared).toBeGreaterThan(0);
    }
  }, 180_000);
});
