/** Format names, the recipe fields they set, and the opset each needs. */
import { describe, expect, it } from "vitest";
import { FixqError } from "../../src/ir/errors.js";
import { parseActType, parseFormat, parseWeightType } from "../../src/quant/format-names.js";
import { actSchemeOf, weightSchemeOf } from "../../src/quant/float-schemes.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { integerKernelNote, requiredOpset } from "../../src/quant/recipe-needs.js";

describe("format names", () => {
  it("parse ignoring case, '-' and '_', with ONNX / OCP spellings", () => {
    expect(parseWeightType("FP8_E4M3").weights).toBe("fp8-e4m3");
    expect(parseWeightType("fp8e4m3fn").weights).toBe("fp8-e4m3");
    expect(parseWeightType("mxfp8e4m3").weights).toBe("mxfp8");
    expect(parseWeightType("MXFP6_E3M2").weights).toBe("mxfp6-e3m2");
    expect(parseWeightType("mxfp4:32").weights).toBe("mxfp4");
    expect(parseWeightType("nvfp4:16").weights).toBe("nvfp4");
    expect(parseWeightType("int4-block:128")).toEqual({ weights: "int4", blockSize: 128 });
    expect(parseActType("float")).toBe("float");
    expect(parseFormat("fp8-e5m2")).toEqual({ weights: "fp8-e5m2", acts: "fp8-e5m2" });
    expect(parseFormat("uint4-block:64")).toEqual({ weights: "uint4", blockSize: 64 });
    expect(() => parseFormat("int8")).toThrow(FixqError);
  });

  it("--format sets weights and activations; explicit flags override it", () => {
    const r = buildRecipe({ format: "nvfp4" }, { acts: "fp8-e4m3" });
    expect([r.weights, r.acts, r.granularity]).toEqual(["nvfp4", "fp8-e4m3", { kind: "per-block", blockSize: 16 }]);
    expect(buildRecipe({ format: "mxfp4" }).granularity).toEqual({ kind: "per-block", blockSize: 32 });
    expect(buildRecipe({ format: "fp8-e4m3", granularity: "per-tensor" }).granularity).toEqual({ kind: "per-tensor" });
  });

  it("schemes: FP8 per channel by default, MX element formats, dynamic activations", () => {
    expect(weightSchemeOf(buildRecipe({ weights: "fp8-e5m2" }))).toMatchObject({ kind: "fp8", perChannel: true });
    expect(weightSchemeOf(buildRecipe({ weights: "fp8-e5m2", granularity: "per-tensor" }))).toMatchObject({ kind: "fp8", perChannel: false });
    expect(weightSchemeOf(buildRecipe({ weights: "mxint8" }))).toMatchObject({ kind: "mx", storage: "native" });
    expect(weightSchemeOf(buildRecipe({}))).toBeUndefined();
    expect(actSchemeOf(buildRecipe({ acts: "mxfp6" }))).toMatchObject({ kind: "mx" });
    expect(actSchemeOf(buildRecipe({ acts: "float" }))).toEqual({ kind: "none" });
  });

  it("the opset each format needs", () => {
    const need = (flags: Record<string, string>) => requiredOpset(buildRecipe(flags));
    expect(need({ format: "fp8-e4m3" })).toBe(19);
    expect(need({ weights: "fp8-e5m2", acts: "float" })).toBe(19);
    expect(need({ format: "mxfp8" })).toBe(21);
    expect(need({ weights: "mxint8", acts: "float" })).toBe(21);
    expect(need({ weights: "mxfp4", acts: "float" })).toBe(23);
    expect(need({ weights: "nvfp4", acts: "fp8-e4m3" })).toBe(23);
    expect(need({ weights: "mxfp4", acts: "float", fp4Storage: "dequantized" })).toBe(13);
    expect(need({ format: "nvfp4", fp4Storage: "dequantized" })).toBe(19);
    expect(need({ weights: "mxfp6", fp4Storage: "dequantized" })).toBe(13);
  });

  it("notes how ORT runs them", () => {
    expect(integerKernelNote(buildRecipe({ format: "fp8-e4m3" }))).toMatch(/no FP8\/MX\/NVFP4 kernels/);
    expect(integerKernelNote(buildRecipe({ weights: "mxfp4" }))).toMatch(/cannot run FLOAT4E2M1.*--fp4-storage dequantized/);
    expect(integerKernelNote(buildRecipe({ weights: "int8", acts: "float" }))).toMatch(/weight-only/);
    expect(integerKernelNote(buildRecipe({}))).toBeUndefined();
  });
});
