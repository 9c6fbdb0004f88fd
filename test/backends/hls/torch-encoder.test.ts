/**
 * A torch nn.TransformerEncoderLayer export (seq-first, dynamic batch:
 * test/fixtures/torch-encoder/seq-first.onnx) in the HLS back end: the
 * generated project's C simulation (g++ against fixq's ap_types/) equals the
 * emulator bit for bit on generated inputs and the extreme integer patterns,
 * and the testbench's self-check passes. Skips without g++/make (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { ENCODERS, encoderInputs, encoderProgram } from "../../helpers/torch-encoder-fixture.js";
import { tallyBuilt } from "../c/check-c.js";
import { feeds } from "../c/feeds-c.js";
import { buildHls, csimCheck } from "./build-hls.js";

const HAVE = toolAvailable("gcc") && toolAvailable("g++") && toolAvailable("make");
const tmp = tempDir("fixq-hls-torch-encoder-");
afterAll(tmp.remove);

describe.skipIf(!HAVE)("torch encoder export in the HLS C simulation", () => {
  it("seq-first.onnx: csim equals the emulator; the self-check passes", async () => {
    const f = ENCODERS[0]!;
    const { program: p } = await encoderProgram(f);
    const d = tmp.fresh();
    const t = tallyBuilt(buildHls(p, d), [{ data: { x: encoderInputs(f, 6, 5) }, batch: 6 }, ...feeds(p, 2, 6, 4, 2)]);
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(0);
    expect(csimCheck(d)).toMatch(/csim_check: 3 samples, 0 mismatches/);
  }, 240_000);
});
