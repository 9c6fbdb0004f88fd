/**
 * The wrap warning of fixed-point activations (fixed-range-warnings.ts): one
 * line per tensor whose calibrated range leaves fixed<W,I>'s range under
 * AP_WRAP / AP_WRAP_SM, naming the tensor, the range and the format's range
 * (computed here from W and I); none under SAT, inside the range, or for
 * non-fixed specs. End to end: quantizing the MLP with Q2.14 activations
 * warns for exactly the activations whose calibrated magnitude passes 2.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { DataType } from "../../src/ir/dtype.js";
import type { QuantSpec } from "../../src/ir/quant.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { fixedType } from "../../src/numerics/fixed.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { fixedWeightWarnings, fixedWrapWarnings } from "../../src/quant/fixed-range-warnings.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { floatVector, graph, model } from "../ir/builders.js";

const spec = (bits: number, intBits: number, overflow: "AP_WRAP" | "AP_SAT" | "AP_WRAP_SM", signed = true): QuantSpec => ({
  kind: "affine",
  format: { dtype: DataType.INT16, bits, signed, qmin: signed ? -(2 ** (bits - 1)) : 0, qmax: signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 },
  scale: Float32Array.of(2 ** (intBits - bits)),
  zeroPoint: Int32Array.of(0),
  fixed: fixedType(bits, intBits, { signed, overflow }),
});

describe("fixed-point wrap warnings", () => {
  it("one line per tensor past the range under a wrap mode; none under SAT, inside, or without a fixed type", () => {
    const ranges = new Map([
      ["a", { lo: -3, hi: 1 }], // below −2
      ["b", { lo: -1, hi: 1.99993896484375 }], // inside Q2.14 exactly at its top
      ["c", { lo: 0, hi: 2 }], // 2 is past 2 − 2^−14
      ["d", { lo: -9, hi: 9 }], // SAT: clamps, no warning
      ["e", { lo: 0, hi: 20 }], // unsigned fixed<8,4>: [0, 15.9375]
      ["f", { lo: -5, hi: 5 }], // an int8 spec
      ["g", { lo: -5, hi: 5 }], // no spec
    ]);
    const specs = new Map<string, QuantSpec>([
      ["a", spec(16, 2, "AP_WRAP")],
      ["b", spec(16, 2, "AP_WRAP")],
      ["c", spec(16, 2, "AP_WRAP_SM")],
      ["d", spec(16, 2, "AP_SAT")],
      ["e", spec(8, 4, "AP_WRAP", false)],
      ["f", { kind: "affine", format: { dtype: DataType.INT8, bits: 8, signed: true, qmin: -128, qmax: 127 }, scale: Float32Array.of(0.1), zeroPoint: Int32Array.of(0) }],
    ]);
    const w = fixedWrapWarnings(ranges, specs);
    expect(w).toHaveLength(3);
    expect(w[0]).toBe(
      "activation 'a': calibrated range [-3.000, 1.000] exceeds fixed<16,2>'s [-2, 1.99993896484375] under AP_WRAP: values past it wrap to the other side (use more integer bits, fixed<16> to choose them from the range, or SAT)",
    );
    expect(w[1]).toMatch(/^activation 'c': calibrated range \[0\.000, 2\.000\] exceeds fixed<16,2,AP_TRN,AP_WRAP_SM>'s \[-2, 1\.99993896484375\] under AP_WRAP_SM/);
    expect(w[2]).toMatch(/^activation 'e': calibrated range \[0\.000, 20\.00\] exceeds ufixed<8,4>'s \[0, 15\.9375\] under AP_WRAP/);
  });

  it("weights: a line per fixed-point weight past its range under WRAP, or negative in ufixed", () => {
    const m = model(
      graph([], [], [], [
        floatVector("w_wrap", [-0.8592, 0.25]), // fixed<8,0> holds [-0.5, 0.49609375]: −0.8592 wraps to +0.1408
        floatVector("w_in", [-0.5, 0.49609375]), // exactly its ends
        floatVector("w_sat", [-3, 3]), // SAT: clamps, no warning
        floatVector("w_neg", [-0.25, 1]), // ufixed<8,4> under SAT: −0.25 becomes 0
        floatVector("w_uwrap", [-0.5, 0.5]), // ufixed<8,4> under WRAP: −0.5 becomes 15.5
        floatVector("w_int8", [-9, 9]), // an int8 spec
      ]),
    );
    const specs = new Map<string, QuantSpec>([
      ["w_wrap", spec(8, 0, "AP_WRAP")],
      ["w_in", spec(8, 0, "AP_WRAP")],
      ["w_sat", spec(8, 0, "AP_SAT")],
      ["w_neg", spec(8, 4, "AP_SAT", false)],
      ["w_uwrap", spec(8, 4, "AP_WRAP", false)],
      ["w_int8", { kind: "affine", format: { dtype: DataType.INT8, bits: 8, signed: true, qmin: -128, qmax: 127 }, scale: Float32Array.of(0.1), zeroPoint: Int32Array.of(0) }],
    ]);
    expect(fixedWeightWarnings(m, specs)).toEqual([
      "weight 'w_wrap': range [-0.8592, 0.2500] exceeds fixed<8,0>'s [-0.5, 0.49609375] under AP_WRAP: values past it wrap to the other side (use more integer bits, fixed<8> to choose them from the range, or SAT)",
      "weight 'w_neg': range [-0.2500, 1.000] exceeds ufixed<8,4,AP_TRN,AP_SAT>'s [0, 15.9375]: its negative values become 0 under AP_SAT (signed weights need fixed<…>, not ufixed<…>)",
      "weight 'w_uwrap': range [-0.5000, 0.5000] exceeds ufixed<8,4>'s [0, 15.9375]: its negative values wrap to large positive ones under AP_WRAP (signed weights need fixed<…>, not ufixed<…>)",
    ]);
  });

  it("quantize with Q2.14 activations warns for the activations whose calibrated magnitude passes 2", async () => {
    const float = loadModel(join(MODELS_DIR, "mlp.onnx"));
    const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 32);
    try {
      const wrap = await quantizeModel(float, source, buildRecipe({ acts: "fixed<16,2>", weights: "fixed<12,2>", calibSamples: 32 }), { threads: 1 });
      expect(wrap.warnings.length).toBeGreaterThan(0);
      for (const line of wrap.warnings) {
        const m = /^activation '([^']+)': calibrated range \[(\S+), (\S+)\] exceeds fixed<16,2>'s \[-2, 1\.99993896484375\] under AP_WRAP: /.exec(line);
        expect(m).not.toBeNull();
        expect(Math.max(-Number(m![2]), Number(m![3]))).toBeGreaterThan(1.9999);
      }
      // saturation instead: no warning
      const sat = await quantizeModel(float, source, buildRecipe({ acts: "fixed<16,2,RND,SAT>", weights: "fixed<12,2>", calibSamples: 32 }), { threads: 1 });
      expect(sat.warnings).toEqual([]);
    } finally {
      source.close();
    }
  }, 120_000);
});
