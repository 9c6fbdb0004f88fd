/**
 * The transformer models in the generated C: the bundled ViT (default
 * recipe, integer-only, as test/integer/transformer-vit.test.ts lowers it)
 * and the BERT-style fixture (sequence pinned to 16) compile to C, build with
 * the Makefile's -std=c99 -Wall -Wextra -Werror, and model_run (which runs
 * the batch API) equals the emulator bit for bit (dequantized floats and raw
 * integers), both at -O2: the ViT on eval images, random floats around the
 * input quantizer and the extreme integer patterns; BERT on generated
 * sentences, negative ids and extreme masks, compiled through the CLI
 * (`--input-shape input_ids=1x16`), and its model_run equals `fixq emulate
 * --out` byte for byte on int64 ids from an .npz. (The sanitizer build is
 * transformer-ops.test.ts's, on every op kind: on these models it takes a
 * minute of gcc each.) An id outside the table makes model_run fail naming the
 * sample, as the emulator refuses it. One build per model. Skips without
 * gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../../src/backends/emulator/run.js";
import { readNpy } from "../../../src/io/npy.js";
import { writeNpz } from "../../../src/io/npz.js";
import { saveModel } from "../../../src/ir/onnx/save.js";
import { fixq } from "../../helpers/fixq-cli.js";
import { BERT_L, BERT_VOCAB, bertProgram, sentences } from "../../helpers/bert-fixture.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { tallyBuilt } from "./check-c.js";
import { feeds, quantizeProgram } from "./feeds-c.js";
import { buildC, runC } from "./run-c.js";
import { bertFeeds } from "./transformer-programs.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-transformer-");
afterAll(tmp.remove);
const dir = (name: string) => {
  const d = join(tmp.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
};

describe.skipIf(!HAVE)("transformers in the generated C equal the emulator", () => {
  it("bundled ViT (default recipe, integer-only), gcc -O2: eval images, random floats, extreme integers", async () => {
    const p = await quantizeProgram("vit", {}, {});
    expect(p.ops.some((op) => op.kind === "softmax") && p.ops.some((op) => op.kind === "layernorm")).toBe(true);
    const built = buildC(p, dir("vit"), { cflags: "-O2" });
    const t = tallyBuilt(built, feeds(p, 24, 5, 8, 4));
    const classes = p.outputs[0]!.shape.reduce((a, b) => a * b, 1);
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((24 + 8 + 4 * 4) * classes);
  }, 240_000);

  it("BERT-style fixture through the CLI, gcc -O2: sentences, negative ids, extreme masks, = fixq emulate --out; an id outside the table fails", async () => {
    const { qdq, program: p } = await bertProgram();
    const d = dir("bert");
    saveModel(qdq, join(d, "bert.q.onnx"));
    const c = fixq("compile", join(d, "bert.q.onnx"), "--target", "c", "-o", join(d, "c"), "--input-shape", `input_ids=1x${BERT_L}`);
    expect(c.status, c.stderr).toBe(0);
    run("make", ["-s", "-C", join(d, "c"), "CFLAGS=-O2"]);
    const built = { dir: join(d, "c"), program: p };
    const t = tallyBuilt(built, bertFeeds(24, 7));
    expect({ floatMismatches: t.floats, intMismatches: t.ints }).toEqual({ floatMismatches: 0, intMismatches: 0 });
    expect(t.compared).toBe((24 + 8) * 2);

    // model_run = fixq emulate --out, byte for byte, on int64 ids and mask from an .npz
    const x = sentences(6, 11);
    x.ids[0] = -7;
    const i64 = (a: Float32Array) => ({ dtype: "i8" as const, shape: [6, BERT_L], data: BigInt64Array.from(a, (v) => BigInt(v)) });
    writeNpz(join(d, "x.npz"), new Map([["input_ids", i64(x.ids)], ["attention_mask", i64(x.mask)]]));
    const e = fixq("emulate", join(d, "bert.q.onnx"), "--data", join(d, "x.npz"), "--out", join(d, "y.npy"), "--input-shape", `input_ids=1x${BERT_L}`);
    expect(e.status, e.stderr).toBe(0);
    const got = (runC(built, { data: { input_ids: x.ids, attention_mask: x.mask }, batch: 6 }, "cli").outputs as Map<string, Float32Array>).get("logits")!;
    expect(Array.from(got)).toEqual(Array.from(readNpy(join(d, "y.npy")).data as Float32Array));

    const bad = sentences(3, 9);
    bad.ids[BERT_L + 2] = BERT_VOCAB;
    const f = { data: { input_ids: bad.ids, attention_mask: bad.mask }, batch: 3 };
    expect(() => runProgram(p, new Map(Object.entries(f.data)), 3)).toThrow(/index 3000 is outside/);
    expect(() => runC(built, f, "bad")).toThrow(/sample 1: an integer value lies outside/);
    bad.ids[BERT_L + 2] = -BERT_VOCAB - 1;
    expect(() => runC(built, f, "bad2")).toThrow(/sample 1:/);
  }, 240_000);
});
