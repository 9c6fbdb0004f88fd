import { describe, expect, it } from "vitest";
import { runProgram } from "../../../src/backends/emulator/run.js";
import type { Program } from "../../../src/integer/program.js";
import { intMax, intMin } from "../../../src/numerics/int.js";
import { quantizeValue } from "../../../src/numerics/int-group.js";
import { Rng } from "../../helpers/prng.js";
import { checkFloat, expectSame } from "./check.js";
import { INT8, INT16, UINT8 } from "./programs.js";

/** x → quantize → dequantize, both with the given parameters. */
function roundTrip(scale: number, zp: number, type = UINT8, n = 64): Program {
  return {
    inputs: [{ name: "x", shape: [n] }],
    outputs: [{ name: "y", shape: [n] }],
    values: new Map([["q", { name: "q", shape: [n], type, scale, zeroPoint: zp }]]),
    ops: [
      { kind: "quantize", source: "input 'x'", input: "x", output: "q", scale, zeroPoint: zp, qmin: intMin(type), qmax: intMax(type) },
      { kind: "dequantize", source: "output 'y'", input: "q", output: "y", scale, zeroPoint: zp },
    ],
    rounding: "single",
    multiplierBits: 31,
  };
}

describe("quantize and dequantize", () => {
  it("follow ONNX QuantizeLinear/DequantizeLinear bit for bit: ties to even, saturation, ±0", () => {
    const rng = new Rng(51);
    for (let t = 0; t < 30; t++) {
      const type = rng.pick([UINT8, INT8, INT16]);
      const scale = Math.fround(2 ** (rng.float() * 12 - 10));
      const zp = rng.range(intMin(type), intMax(type));
      const n = 64;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const k = rng.range(-300, 300);
        const r = rng.float();
        // exact ties (k + ½)·scale where float32 holds them, ±0, out-of-range values, plain noise
        x[i] = r < 0.3 ? (k + 0.5) * scale : r < 0.35 ? (rng.chance(0.5) ? -0 : 0) : r < 0.45 ? k * scale * 1000 : (rng.float() - 0.5) * scale * 600;
      }
      checkFloat(roundTrip(scale, zp, type, n), new Map([["x", x]]), 1, `round trip ${t}`);
    }
  });

  it("quantizes NaN, ±∞, ±0, subnormals, float32 extremes and exact ties as numerics' quantizeValue does", () => {
    const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 1e-45, -1e-45, 1.17e-38, 3.4028234663852886e38, -3.4028234663852886e38];
    const rng = new Rng(52);
    for (const [type, zp] of [
      [UINT8, 0],
      [UINT8, 255],
      [INT8, -128],
      [INT8, 17],
      [INT16, -300],
    ] as const) {
      const scale = Math.fround(0.0375);
      // ties: (k + ½)·scale computed in float32 is not always an exact tie, so build them from the quotient side
      const ties = Array.from({ length: 20 }, () => Math.fround((rng.range(-200, 200) + 0.5) * scale));
      const x = Float32Array.from([...specials, ...ties, ...Array.from({ length: 34 }, () => (rng.float() - 0.5) * 30)]);
      const expected = Int32Array.from(x, (v) => quantizeValue(Math.fround(v), scale, zp, intMin(type), intMax(type)));
      for (const simd of [true, false]) {
        const r = runProgram(roundTrip(scale, zp, type, x.length), new Map([["x", x]]), 1, { simd });
        expectSame(r.ints.get("y")!, expected, `quantize ${intMax(type)} zp ${zp} [simd ${simd}]`);
      }
    }
  });

  it("dequantizes to float32((q − zp) · scale): exact products, one rounding", () => {
    const scale = Math.fround(0.1);
    const p = roundTrip(scale, 3, UINT8, 4);
    const x = Float32Array.from([0.3, 0.1, 25.5, -1]);
    const r = runProgram(p, new Map([["x", x]]), 1);
    const expected = Float32Array.from([3, 1, 252, -3], (d) => Math.fround(d * scale)); // q − zp for q = 6, 4, 255 (clamped), 0 (clamped)
    expectSame(r.outputs.get("y")!, expected, "dequantize");
    expect(Array.from(r.ints.get("y")!)).toEqual([6, 4, 255, 0]);
  });
});
