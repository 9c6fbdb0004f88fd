/** buildRecipe's value errors name the recipe key for a file's (or a rule's) value and the flag for a flag's. */
import { describe, expect, it } from "vitest";
import { buildRecipe } from "../../src/quant/recipe.js";

describe("buildRecipe value errors", () => {
  it("a bad value from a recipe file names the key, not the flag", () => {
    expect(() => buildRecipe({ recipeFile: "r.json", weights: "int9" })).toThrow(/^r\.json: key 'weights' must be one of .*; got 'int9'$/);
    expect(() => buildRecipe({ recipeFile: "r.json", weightBits: 0 })).toThrow(/^r\.json: key 'weightBits' must be a positive integer, got '0'$/);
    expect(() => buildRecipe({ recipeFile: "r.json", granularity: "per-row" })).toThrow(/^r\.json: key 'granularity' must be per-channel/);
    expect(() => buildRecipe({ recipeFile: "r.json", acts: "uint9" })).toThrow(/^r\.json: key 'acts' must be one of/);
    expect(() => buildRecipe({ recipeFile: "r.json", gptqDamp: -1 })).toThrow(/^r\.json: key 'gptqDamp' must be a number ≥ 0/);
  });

  it("the same bad value given as a flag names the flag", () => {
    expect(() => buildRecipe({ weights: "int9" })).toThrow(/^--weights must be one of .*; got 'int9'$/);
    expect(() => buildRecipe({ weightBits: 0 })).toThrow(/^--weight-bits must be a positive integer/);
    expect(() => buildRecipe({ gptqDamp: -1 })).toThrow(/^--gptq-damp must be a number ≥ 0/);
    expect(() => buildRecipe({}, { weights: "int9" })).toThrow(/^--weights must be one of/);
  });

  it("a file's good value followed by a flag's bad one names the flag", () => {
    expect(() => buildRecipe({ recipeFile: "r.json", weights: "int4" }, { weights: "int9" })).toThrow(/^--weights must be one of/);
  });

  it("a bad value in a layers rule names the rule and its key", () => {
    const rule = { match: { op: "Gemm" }, weights: "int9" };
    expect(() => buildRecipe({ recipeFile: "r.json", layers: [rule] })).toThrow(/^r\.json: layers\[0\]: key 'weights' must be one of/);
  });
});
