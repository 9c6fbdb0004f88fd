/**
 * Fixed-point formats as quantization choices (quant/fixed-formats.ts): the
 * names --weights, --acts, --format and recipe rules accept, their storage,
 * the integer bits chosen per tensor, the specs and codes they give, the
 * exact type's round trip through the file's annotation, and one clear line
 * for a bad name.
 */
import { describe, expect, it } from "vitest";
import { isFixqError } from "../../src/ir/errors.js";
import { fixedTypeName } from "../../src/numerics/fixed.js";
import {
  chosenIntBits,
  fixedActivationSpec,
  fixedActStorage,
  fixedDesignNotes,
  fixedFormat,
  fixedWeightSpec,
  fixedWeightStorage,
  parseFixedFormat,
} from "../../src/quant/fixed-formats.js";
import { readFixedDesign } from "../../src/quant/qdq-read-fixed.js";
import { intFormat } from "../../src/ir/quant.js";
import { buildRecipe } from "../../src/quant/recipe.js";

/** The usage error `f` throws (a FixqError with code "usage"), as its one line. */
function usageLine(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isFixqError(e) && e.code === "usage") return e.message;
    throw e;
  }
  throw new Error("expected a usage error");
}

describe("fixed-point format names", () => {
  it("reads every spelling: defaults, AP_ prefix or not, C++ spaces, N, unsigned, and fixed<W>", () => {
    const p = (s: string) => parseFixedFormat(s, "--acts");
    expect(p("fixed<16,6>")).toMatchObject({ bits: 16, intBits: 6, signed: true, round: "AP_TRN", overflow: "AP_WRAP", satBits: 0, name: "fixed<16,6>" });
    expect(p("fixed<16,6,RND_CONV,SAT>")).toEqual(p("ap_fixed<16, 6, AP_RND_CONV, AP_SAT>"));
    expect(p("fixed<8,3,rnd,sat_sym>")).toMatchObject({ round: "AP_RND", overflow: "AP_SAT_SYM", name: "fixed<8,3,AP_RND,AP_SAT_SYM>" });
    expect(p("fixed<8,3,TRN,WRAP,2>")).toMatchObject({ overflow: "AP_WRAP", satBits: 2, name: "fixed<8,3,AP_TRN,AP_WRAP,2>" });
    expect(p("ufixed<8,0>")).toMatchObject({ signed: false, intBits: 0 });
    const auto = p("fixed<16>");
    expect(auto.intBits).toBeUndefined();
    expect(auto).toMatchObject({ bits: 16, round: "AP_TRN", overflow: "AP_WRAP", name: "fixed<16>" });
    expect(p("fixed<16,auto>")).toEqual(auto);
    const autoModes = p("ap_fixed<8, auto, RND_CONV, SAT>");
    expect(autoModes.intBits).toBeUndefined();
    expect(autoModes).toMatchObject({ bits: 8, round: "AP_RND_CONV", overflow: "AP_SAT", name: "fixed<8,auto,AP_RND_CONV,AP_SAT>" });
    expect(p(autoModes.name)).toEqual(autoModes);
  });

  it("stores W bits in the smallest ONNX integer type (no 4-bit activations)", () => {
    const p = (s: string) => parseFixedFormat(s, "--weights");
    expect(fixedWeightStorage(p("fixed<4,1>"), "--weights")).toBe("int4");
    expect(fixedWeightStorage(p("ufixed<3,1>"), "--weights")).toBe("uint4");
    expect(fixedWeightStorage(p("fixed<8>"), "--weights")).toBe("int8");
    expect(fixedWeightStorage(p("fixed<12,2>"), "--weights")).toBe("int16");
    expect(fixedActStorage(p("fixed<4,2>"))).toBe("int8");
    expect(fixedActStorage(p("ufixed<12,4>"))).toBe("uint16");
    expect(fixedFormat(p("fixed<12,4>"), intFormat("int16"))).toMatchObject({ bits: 12, qmin: -2048, qmax: 2047, signed: true });
  });

  it("gives one line naming the string and what is wrong", () => {
    const line = (s: string, flag = "weights") => usageLine(() => buildRecipe({ [flag]: s }));
    expect(line("fixed<16,6,RND,FOO>")).toBe("--weights 'fixed<16,6,RND,FOO>': unknown overflow mode 'FOO' (one of AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP, AP_WRAP_SM)");
    expect(line("fixed<16,x>", "acts")).toBe("--acts 'fixed<16,x>': I must be an integer, not 'x'");
    expect(line("fixed<24,4>")).toMatch(/^--weights 'fixed<24,4>': W = 24; fixed-point formats of 2…16 bits/);
    expect(line("fixed<16,6")).toMatch(/^--weights 'fixed<16,6': expected fixed<W,I/);
    expect(line("fixed<8,3,TRN,WRAP_SM>", "acts")).toMatch(/AP_WRAP_SM/);
    expect(line("fixed<8,3,TRN,SAT,2>")).toMatch(/N must be 0/);
    expect(line("ufixed<8,3,RND,SAT_SYM>", "acts")).toBe("--acts 'ufixed<8,3,RND,SAT_SYM>': AP_SAT_SYM (symmetric saturation) is for signed types (fixed<…>); ufixed saturates to [0, max] with SAT");
    expect(line("ap_ufixed<8, auto, AP_RND, AP_SAT_SYM>")).toMatch(/^--weights 'ap_ufixed<8, auto, AP_RND, AP_SAT_SYM>': AP_SAT_SYM .* is for signed types/);
    expect(usageLine(() => buildRecipe({ recipeFile: "r.json", format: "ufixed<8,3,RND,SAT_SYM>" }))).toMatch(/^r\.json: key 'format' 'ufixed<8,3,RND,SAT_SYM>': AP_SAT_SYM/);
    expect(usageLine(() => buildRecipe({ format: "fixed<8,3,RND>" }, { granularity: "per-block:32" }))).toMatch(/one power-of-two scale per tensor/);
    for (const s of ["fixed<16,6,RND,FOO>", "fixed<16,x>", "fixed<24,4>"]) expect(line(s)).not.toMatch(/\n/);
  });
});

describe("fixed-point recipes", () => {
  it("--format sets both weights and activations; weights are per tensor with W value bits", () => {
    const r = buildRecipe({ format: "fixed<16,2>" });
    expect(r).toMatchObject({ weights: "int16", weightBits: 16, acts: "int16", granularity: { kind: "per-tensor" } });
    expect(r.fixedWeights?.name).toBe("fixed<16,2>");
    expect(r.fixedActs?.name).toBe("fixed<16,2>");
  });

  it("a later integer --acts drops the fixed-point activations; a layer rule carries its own design", () => {
    expect(buildRecipe({ format: "fixed<8,3>" }, { acts: "uint8" }).fixedActs).toBeUndefined();
    const r = buildRecipe({ weights: "fixed<8>", acts: "fixed<16,6>", layers: [{ match: { op: "Gemm" }, acts: "fixed<12,4,RND,SAT>" }] });
    const s = r.layers[0]!.settings;
    expect(s.fixedActs?.name).toBe("fixed<12,4,AP_RND,AP_SAT>");
    expect(s.acts).toBe("int16");
    expect(s.fixedWeights?.name).toBe("fixed<8>");
  });
});

describe("fixed-point specs and codes", () => {
  const f = (s: string) => parseFixedFormat(s, "--acts");

  it("chooses I from the largest magnitude: ⌈log2 a⌉ + 1 signed, ⌈log2 a⌉ unsigned", () => {
    expect([0.3, 0.5, 0.75, 1, 3, 4.5, 100].map((a) => chosenIntBits(a, true))).toEqual([0, 0, 1, 1, 3, 4, 8]);
    expect(chosenIntBits(6, false)).toBe(3);
    expect(chosenIntBits(0, true)).toBe(1);
  });

  it("an activation spec is per tensor, zero point 0, scale 2^(I−W), the type recorded", () => {
    const spec = fixedActivationSpec(-0.2, 5.9, f("fixed<16>"), fixedFormat(f("fixed<16>"), intFormat("int16")));
    expect(spec.scale[0]).toBe(2 ** (4 - 16));
    expect(Array.from(spec.zeroPoint)).toEqual([0]);
    expect(fixedTypeName(spec.fixed!)).toBe("fixed<16,4>");
    const given = fixedActivationSpec(-100, 100, f("fixed<16,2>"), fixedFormat(f("fixed<16,2>"), intFormat("int16")));
    expect(given.scale[0]).toBe(2 ** -14);
  });

  it("weights take their codes by the type's rounding and overflow modes", () => {
    const w = [0.3, -0.3, 0.5 + 2 ** -9, -0.99];
    const codes = (name: string) => Array.from(fixedWeightSpec(w, f(name), fixedFormat(f(name), intFormat("int8"))).q);
    // fixed<8,1>: LSB 2^-7; 0.3·128 = 38.4, 0.5+2^-9 → 64.25, −0.99·128 = −126.72
    expect(codes("fixed<8,1>")).toEqual([38, -39, 64, -127]);
    expect(codes("fixed<8,1,RND_CONV,SAT>")).toEqual([38, -38, 64, -127]);
    expect(codes("fixed<8,1,TRN_ZERO>")).toEqual([38, -38, 64, -126]);
    // fixed<8,0>: LSB 2^-8, −0.99 → −253.44 wraps in 8 bits (TRN: −254 → 2) or saturates
    expect(codes("fixed<8,0>")[3]).toBe(2);
    expect(codes("fixed<8,0,TRN,SAT>")[3]).toBe(-128);
  });

  it("the exact type reads back from its annotation and is checked against the pair's scale", () => {
    const spec = fixedActivationSpec(0, 3, f("fixed<16,6>"), fixedFormat(f("fixed<16,6>"), intFormat("int16")));
    const entries = new Map([["fixq_fixed", "fixed<16,6>"]]);
    expect(readFixedDesign("t", entries, spec.format, spec.scale, spec.zeroPoint)).toEqual(spec.fixed);
    expect(readFixedDesign("t", undefined, spec.format, spec.scale, spec.zeroPoint)).toBeUndefined();
    expect(() => readFixedDesign("t", entries, spec.format, Float32Array.of(0.5), spec.zeroPoint)).toThrow("quantization_annotation fixq_fixed 'fixed<16,6>': the tensor's scale 0.5 is not 2^(I−W) = 2^-10");
    expect(() => readFixedDesign("t", new Map([["fixq_fixed", "fixed<16,6,FOO>"]]), spec.format, spec.scale, spec.zeroPoint)).toThrow(/fixq_fixed 'fixed<16,6,FOO>'/);
  });

  it("notes where the QDQ model differs from the design, and nothing where it does not", () => {
    const notes = fixedDesignNotes([
      { format: "fixed<16,6>", role: "activation" },
      { format: "fixed<16,6,AP_RND_CONV,AP_SAT>", role: "activation" },
      { format: "fixed<12,4,AP_RND_CONV,AP_SAT>", role: "activation" },
      { format: "fixed<8,1>", role: "weight" },
    ]);
    expect(notes).toEqual([
      "fixed<16,6> activations: the QDQ model rounds half to even where the design rounds by AP_TRN; saturates where the design overflows by AP_WRAP; emulate, eval --engine emulator and compile run the exact design",
      "fixed<12,4,AP_RND_CONV,AP_SAT> activations: the QDQ model saturates at 16 bits where the design keeps 12; emulate, eval --engine emulator and compile run the exact design",
    ]);
  });
});
