/**
 * The torch nn.TransformerEncoderLayer exports (test/fixtures/torch-encoder)
 * in the generated C: each program (one sample of the model, the batch moved
 * off axis 0 by torch's attention; passes/sample-axis.ts) builds with the
 * Makefile's -std=c99 -Wall -Wextra -Werror at -O2, and model_run, which runs
 * samples back to back through the batch API, equals the emulator bit for bit
 * on generated inputs, random floats around the input quantizer and the
 * extreme integer patterns. The seq-first export goes through `fixq compile
 * --target c` from its QDQ file; the export with src_key_padding_mask runs
 * the key-masked Softmax (an all-padding sample included). Skips without gcc/make (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { saveModel } from "../../../src/ir/onnx/save.js";
import { fixq } from "../../helpers/fixq-cli.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { padmaskInputs, padmaskProgram, SEQ } from "../../helpers/padmask-fixture.js";
import { ENCODERS, encoderInputs, encoderProgram } from "../../helpers/torch-encoder-fixture.js";
import { tallyBuilt } from "./check-c.js";
import { feeds } from "./feeds-c.js";
import { buildC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-torch-encoder-");
afterAll(tmp.remove);

describe.skipIf(!HAVE)("torch TransformerEncoderLayer exports in the generated C equal the emulator", () => {
  it.each(ENCODERS)("$file, gcc -O2", async (f) => {
    const { qdq, program: p } = await encoderProgram(f);
    const d = tmp.fresh();
    let built: { dir: string; program: typeof p };
    if (f.file === "seq-first.onnx") {
      saveModel(qdq, join(d, "enc.q.onnx"));
      const c = fixq("compile", join(d, "enc.q.onnx"), "--target", "c", "-o", join(d, "c"));
      expect(c.status, c.stderr).toBe(0);
      run("make", ["-s", "-C", join(d, "c"), "CFLAGS=-O2"]);
      built = { dir: join(d, "c"), program: p };
    } else built = buildC(p, d, { cflags: "-O2" });
    const sets = [{ data: { x: encoderInputs(f, 12, 3) }, batch: 12 }, ...feeds(p, 2, 4, 8, 2)];
    const t = tallyBuilt(built, sets);
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(0);
  }, 240_000);

  it("padmask.onnx (src_key_padding_mask: the key-masked Softmax), gcc -O2", async () => {
    const { program: p } = await padmaskProgram();
    const t = tallyBuilt(buildC(p, tmp.fresh(), { cflags: "-O2" }), [
      { data: padmaskInputs(12, 3, true), batch: 12 },
      { data: { ...padmaskInputs(8, 4), mask: Float32Array.from({ length: 8 * SEQ }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0) }, batch: 8 },
    ]);
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(0);
  }, 240_000);
});
