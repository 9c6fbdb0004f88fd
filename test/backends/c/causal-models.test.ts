/**
 * The causal-mask GPT-2 and the cls-token ViT fixtures (test/fixtures/causal)
 * in the generated C: each builds with the Makefile's -std=c99 -Wall -Wextra
 * -Werror at -O2, and model_run equals the emulator bit for bit on generated
 * inputs (the GPT-2's constant causal key mask, the ViT's constant Concat
 * operand). Skips without gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { gpt2Program, gpt2Tokens, vitImages, vitProgram } from "../../helpers/causal-fixture.js";
import { tallyBuilt } from "./check-c.js";
import { buildC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-causal-");
afterAll(tmp.remove);

describe.skipIf(!HAVE)("causal mask and cls token in the generated C equal the emulator", () => {
  const cases = [
    { name: "GPT-2 (key-masked Softmax with constant flags)", load: gpt2Program, data: () => ({ input_ids: gpt2Tokens(16, 9) }) },
    { name: "ViT (Concat with the cls constant)", load: () => vitProgram(), data: () => ({ pixel_values: vitImages(16, 9) }) },
  ];
  it.each(cases)("$name, gcc -O2", async ({ load, data }) => {
    const { program: p } = await load();
    const t = tallyBuilt(buildC(p, tmp.fresh(), { cflags: "-O2" }), [{ data: data(), batch: 16 }]);
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(0);
  }, 240_000);
});
