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
import { fixedWrapWarnings } from "../../src/quant/fixed-range-warnings.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";

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
