/**
 * The HLS layers on hand-built programs covering every op the back end
 * lowers (padded/dilated/depthwise convs, dense, both pools, per-channel
 * requant with every shift class of both roundings, rescale with two
 * branches, concat, transpose, reshape), 4/8/16/31-bit values, accumulators
 * near ±2^31 and several outputs: C simulation equals the emulator bit for
 * bit (floats with ties, ±0, ±Inf, NaN; integer feeds over each input's
 * range), in both I/O styles and both type spellings. Double rounding's left
 * shift (a requant that can refuse its input) builds in parallel I/O and is
 * refused, naming the node, in stream I/O. With ap types the requant runs in
 * exactly-sized ap_int arithmetic (print-ap.ts), so the edge programs check
 * its widths at accumulators near ±2^31 and every shift class. AP_TYPES swaps ap_int.h but never
 * hls_stream.h. Skips without g++/make (fails
 * with FIXQ_REQUIRE_DATA=1).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AP_INT_H } from "../../../src/backends/hls/ap-types.js";
import { emitHls } from "../../../src/backends/hls/emit.js";
import type { HlsTypes } from "../../../src/backends/hls/hls-types.js";
import type { HlsIo } from "../../../src/backends/hls/top.js";
import type { Program } from "../../../src/integer/program.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { tallyBuilt } from "../c/check-c.js";
import { allFeeds } from "../js/feeds.js";
import { cnnProgram, edgeProgram, leftShiftProgram, narrowProgram, S8, U8, wideProgram } from "../onnx-int/programs.js";
import { buildHls } from "./build-hls.js";

const HAVE = toolAvailable("gcc") && toolAvailable("g++") && toolAvailable("make");
const tmp = tempDir("fixq-hls-programs-");
afterAll(tmp.remove);

const CASES: [string, HlsIo, HlsTypes, () => Program][] = [
  ["cnn-like, uint8, single rounding", "parallel", "ap", () => cnnProgram(1, U8)],
  ["cnn-like, int8, double rounding", "stream", "stdint", () => cnnProgram(2, S8, "double")],
  ["int16 activations, wide weights, int32 pools", "stream", "ap", () => wideProgram(3)],
  ["int4 input, uint4 output, an accumulator read twice", "parallel", "stdint", () => narrowProgram(4)],
  ["accumulators near 2^31, every single-rounding shift class", "parallel", "ap", () => edgeProgram(5, "single")],
  ["double rounding's left shift", "parallel", "ap", () => leftShiftProgram(7)],
  ["cnn-like, int8, double rounding, requant in ap_int", "stream", "ap", () => cnnProgram(2, S8, "double")],
  ["accumulators near 2^31, every double-rounding shift class", "parallel", "ap", () => edgeProgram(6, "double")],
];

describe.skipIf(!HAVE)("HLS C simulation equals the emulator on hand-built programs", () => {
  it.each(CASES)("%s (--io %s, --hls-types %s)", (name, io, types, make) => {
    const p = make();
    const dir = join(tmp.dir, name.replace(/\W+/g, "-"));
    mkdirSync(dir, { recursive: true });
    const t = tallyBuilt(buildHls(p, dir, { io, types }), allFeeds(p, 31, 16));
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBeGreaterThan(0);
  });
});

describe.skipIf(!HAVE)("AP_TYPES replaces ap_int.h only: hls_stream.h always comes from the project's ap_types/", () => {
  it("builds and stays bit-exact with AP_TYPES holding an ap_int.h copy and an hls_stream.h that fails to compile", () => {
    const p = narrowProgram(4);
    const dir = join(tmp.dir, "ap-types-dir");
    const other = join(tmp.dir, "other-ap-types");
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, "ap_int.h"), AP_INT_H);
    writeFileSync(join(other, "hls_stream.h"), '#error "the hls_stream.h of AP_TYPES was included"\n');
    for (const [rel, text] of emitHls(p, { io: "stream" })) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    run("make", ["-s", "-C", dir, "csim_run", `AP_TYPES=${other}`, "CXXFLAGS=-O1 -Werror"]);
    const t = tallyBuilt({ dir, program: p, exe: "csim_run" }, allFeeds(p, 32, 8));
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
  });
});

describe("stream I/O and a requant that can refuse its input", () => {
  it("is refused with one line naming the node", () => {
    expect(() => emitHls(leftShiftProgram(7), { io: "stream" })).toThrow(/^y: --io stream cannot report a requant refusing its input \(double rounding's left shift\); use --io parallel or --rounding single$/);
  });
});
