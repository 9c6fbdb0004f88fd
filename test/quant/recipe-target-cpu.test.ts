/** `targetCpu` (`--target-cpu`): the deployment CPU sets the default int8 weight range. */
import { describe, expect, it } from "vitest";
import { detectCpu } from "../../src/runtime/cpu-features.js";
import { buildRecipe, recipeJson } from "../../src/quant/recipe.js";
import { cpuKernelNote } from "../../src/quant/recipe-needs.js";

describe("targetCpu", () => {
  it("portable (the default) narrows int8 weights to 7-bit values, [-64, 64]", () => {
    expect(buildRecipe({}).weightBits).toBe(7);
    expect(buildRecipe({ targetCpu: "portable" }).weightBits).toBe(7);
  });

  it("vnni uses full 8-bit weights; an explicit weightBits wins over it", () => {
    expect(buildRecipe({ targetCpu: "vnni" }).weightBits).toBe(8);
    expect(buildRecipe({ targetCpu: "vnni" }, { weightBits: 7 }).weightBits).toBe(7);
    expect(buildRecipe({ targetCpu: "vnni", acts: "int16" }).weightBits).toBe(8);
    expect(buildRecipe({ targetCpu: "vnni", weights: "int4" }).weightBits).toBe(4);
  });

  it(`native follows the CPU fixq runs on (${detectCpu().summary})`, () => {
    expect(buildRecipe({ targetCpu: "native" }).weightBits).toBe(detectCpu().u8s8 === "exact-int32" ? 8 : 7);
  });

  it("is recorded in the recipe JSON and refuses unknown CPUs", () => {
    expect(recipeJson(buildRecipe({ targetCpu: "vnni" }))["targetCpu"]).toBe("vnni");
    expect(() => buildRecipe({ targetCpu: "avx9" })).toThrow(/--target-cpu must be one of portable, vnni, native, got 'avx9'/);
  });

  it("warns about full 8-bit weights only where this CPU saturates the kernels", () => {
    const saturating = detectCpu().u8s8 === "saturating-int16-pairs";
    expect(cpuKernelNote(buildRecipe({})), "default weights never warn").toBeUndefined();
    expect(cpuKernelNote(buildRecipe({ weightBits: 8, acts: "int16" })), "16-bit activations use no u8×s8 kernel").toBeUndefined();
    const note = cpuKernelNote(buildRecipe({ weightBits: 8 }));
    if (saturating) expect(note).toMatch(/saturates ONNX Runtime's u8×s8 int16 pair sums/);
    else expect(note).toBeUndefined();
  });
});
