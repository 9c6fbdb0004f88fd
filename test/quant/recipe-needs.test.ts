/**
 * recipe-needs.ts: the warning for fixed-point activations over per-channel
 * integer weights (a design compile/emulate refuse, lower-fixed.ts's
 * "has per-channel weight scales"), global or from a `layers` rule.
 */
import { describe, expect, it } from "vitest";
import { buildRecipe } from "../../src/quant/recipe.js";
import { fixedDesignWarning, integerKernelNote } from "../../src/quant/recipe-needs.js";

describe("fixedDesignWarning", () => {
  it("warns on fixed-point activations with the default per-channel int8 weights, naming both and the ways out", () => {
    expect(fixedDesignWarning(buildRecipe({ acts: "fixed<8,4>" }))).toBe(
      "fixed<8,4> activations with int8 per-channel weights: compile, emulate and eval --engine emulator refuse such layers (a rescale into a fixed-point type takes one scale per tensor); give fixed-point weights (--weights 'fixed<W,I>') or --granularity per-tensor for an integer design",
    );
  });

  it("is silent for fixed-point weights, per-tensor weights, integer activations and --format fixed<…>", () => {
    expect(fixedDesignWarning(buildRecipe({ acts: "fixed<8,4>", weights: "fixed<8,2>" }))).toBeUndefined();
    expect(fixedDesignWarning(buildRecipe({ acts: "ufixed<8,4,RND,SAT>", granularity: "per-tensor" }))).toBeUndefined();
    expect(fixedDesignWarning(buildRecipe({ format: "fixed<16,6>" }))).toBeUndefined();
    expect(fixedDesignWarning(buildRecipe({}))).toBeUndefined();
  });

  it("looks at layers rules too", () => {
    const r = buildRecipe({ weights: "fixed<8,2>", acts: "fixed<8,4>", layers: [{ match: { op: "Gemm" }, weights: "int8", granularity: "per-channel" }] } as never);
    expect(fixedDesignWarning(r)).toMatch(/^fixed<8,4> activations with int8 per-channel weights: /);
  });
});

describe("integerKernelNote", () => {
  it("names the format asked for, with its storage type, not only the storage type", () => {
    const rule = buildRecipe({ recipeFile: "r.json", layers: [{ match: { op: "Gemm" }, weights: "int2" }] });
    expect(integerKernelNote(rule)).toMatch(/^ONNX Runtime \(CPU\) has no integer kernels for int2 \(stored as int4\) weights: /);
    expect(integerKernelNote(buildRecipe({ weights: "int3" }))).toMatch(/no integer kernels for int3 \(stored as int4\) weights: /);
    expect(integerKernelNote(buildRecipe({ weights: "fixed<4,2>" }))).toMatch(/no integer kernels for fixed<4,2> \(stored as int4\) weights: /);
  });

  it("names a plain int4 or int16 format as it is", () => {
    expect(integerKernelNote(buildRecipe({ weights: "int4" }))).toMatch(/no integer kernels for int4 weights: /);
    expect(integerKernelNote(buildRecipe({ acts: "int16" }))).toMatch(/no integer kernels for int16 activations: /);
    expect(integerKernelNote(buildRecipe({ weights: "int5" })), "int5 is stored in int8, which has kernels").toBeUndefined();
  });
});
