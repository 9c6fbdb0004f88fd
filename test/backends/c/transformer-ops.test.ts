/**
 * The transformer ops' C text (shared/transformer-c.ts restates the kernels
 * of numerics/transformer.ts and numerics/gather.ts) against the emulator,
 * which runs those kernels: one hand-built program with every op (matmuls of
 * uint8 × int8 and of int16 × int16 whose sums pass 2^31 and wrap as an int32
 * store does, tables over every int8 code, softmax over rows of 16 and 7 with
 * a clamp that bites, layernorm over 64 and 5 channels with negative β and an
 * int16 output, addconst with shifts 0 and > 0 and negative sums, gather with
 * negative ids, slices along two axes), on random floats, integers over each
 * input's whole range and the saturating patterns. Built once with
 * -fsanitize=address,undefined (no recovery) and -Wconversion
 * -Wsign-conversion under -Werror. Skips without gcc/make (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import { checkC, emitC } from "../../../src/backends/c/emit.js";
import { softmaxParams } from "../../../src/numerics/transformer-params.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { allFeeds } from "../js/feeds.js";
import { I8, ProgramBuilder, U8 } from "../js/program-builder.js";
import { tallyC } from "./check-c.js";
import { push, transformerOpsProgram } from "./transformer-programs.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-transformer-ops-");
afterAll(tmp.remove);

describe.skipIf(!HAVE)("the transformer ops' C text equals the emulator", () => {
  it("every op, random, full-range and saturating feeds, under the sanitizers and -Wconversion", () => {
    const p = transformerOpsProgram();
    expect(checkC(p)).toEqual([]);
    const t = tallyC(p, tmp.dir, allFeeds(p, 3), "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Wconversion -Wsign-conversion");
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(1000);
  }, 120_000);

  it("refuses a softmax whose exp table does not cover its input's span, naming the op", () => {
    const b = new ProgramBuilder();
    const x = b.input([4], I8, Math.fround(0.1), 0);
    const sp = softmaxParams(0.1, 100, 1 / 256, 4)!;
    b.output(push(b, (out) => ({ kind: "softmax", source: "Softmax '/sm'", input: x, output: out, ...sp, outZero: 0, clampLo: 0, clampHi: 255 }), [4], U8), Math.fround(1 / 256));
    const p = b.build();
    expect(checkC(p).map((d) => d.message)).toEqual(["its exp table covers differences 0…100, not the input's 0…255"]);
    expect(() => emitC(p)).toThrow(/c back end cannot run softmax op 1/);
  });
});
