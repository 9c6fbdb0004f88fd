import { describe, expect, it } from "vitest";
import type { RequantOp, RescaleOp } from "../../../src/integer/program.js";
import { runProgramInt } from "../../../src/backends/emulator/run.js";
import { intMax, intMin } from "../../../src/numerics/int.js";
import { type Dyadic, quantizeMultiplier } from "../../../src/numerics/requant.js";
import { Rng } from "../../helpers/prng.js";
import { checkInt } from "./check.js";
import { acc, act, type InputSpec, INT8, INT16, INT32, makeProgram, randomActType, randomFeeds, UINT8 } from "./programs.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Accumulators: mostly moderate, some at the int32 extremes. */
function accFeed(rng: Rng, n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.float();
    a[i] = r < 0.05 ? INT32_MIN : r < 0.1 ? INT32_MAX : r < 0.4 ? rng.range(-(2 ** 24), 2 ** 24) : Math.floor((rng.float() - 0.5) * 2 ** 32);
  }
  return a;
}

function multiplier(rng: Rng, rounding: "single" | "double"): Dyadic {
  // M = 0 is {0, 0}; under double rounding that means a left shift by 31, which gemmlowp (and numerics) reject
  if (rounding === "single" && rng.chance(0.05)) return { m: 0, s: 0 };
  // double rounding is gemmlowp's, defined for 31-bit multipliers and M < 1 (no left shift of int32 inputs)
  const bits = rounding === "double" ? 31 : rng.pick([31, 31, 16, 8]);
  const M = 2 ** (-rng.float() * 24) * (rounding === "double" || rng.chance(0.8) ? 0.999 : 3);
  return quantizeMultiplier(M, bits);
}

describe("requant kernel", () => {
  for (const rounding of ["single", "double"] as const) {
    it(`matches the reference per tensor and per channel (${rounding} rounding), full int32 inputs`, () => {
      const rng = new Rng(rounding === "single" ? 31 : 32);
      for (let t = 0; t < 40; t++) {
        const layout = rng.pick(["chw", "n", "tn"] as const);
        const shape = layout === "chw" ? [rng.range(1, 6), rng.range(1, 5), rng.range(1, 7)] : layout === "n" ? [rng.range(1, 20)] : [rng.range(1, 3), rng.range(1, 9)];
        const axis = layout === "chw" ? 0 : shape.length - 1;
        const perTensor = rng.chance(0.3);
        const multipliers = Array.from({ length: perTensor ? 1 : shape[axis]! }, () => multiplier(rng, rounding));
        const out = rng.pick([UINT8, INT8, INT16]);
        const outZero = rng.range(intMin(out), intMax(out));
        const lo = rng.chance(0.5) ? outZero : intMin(out); // a ReLU clamp, or the type's range
        const hi = rng.chance(0.2) ? Math.min(intMax(out), outZero + 100) : intMax(out);
        const op: RequantOp = { kind: "requant", source: "Conv 'c' requant", input: "a", output: "y", multipliers, axis, outZero, clampLo: lo, clampHi: hi };
        const input: InputSpec = { name: "a", shape, type: INT32, zeroPoint: 0 };
        const p = makeProgram([input], [op], [act("y", shape, out, outZero)], ["y"], rounding);
        const batch = rng.range(1, 5);
        const n = batch * shape.reduce((x, y) => x * y, 1);
        checkInt(p, new Map([["a_f", accFeed(rng, n)]]), batch, `requant ${rounding} case ${t}`);
      }
    });
  }

  it("saturates channels whose multiplier is ≥ 1, where the rounded value leaves int32 before the clamp", () => {
    const rng = new Rng(33);
    for (let t = 0; t < 10; t++) {
      const shape = [6, 3, 5];
      // alternate channels M ∈ [1, 8) and M < 1; some multipliers narrow (bits 8), so s is small
      const multipliers = Array.from({ length: 6 }, (_, c) => quantizeMultiplier(c % 2 === 0 ? 1 + rng.float() * 7 : rng.float(), rng.pick([31, 8])));
      const op: RequantOp = { kind: "requant", source: "wide", input: "a", output: "y", multipliers, axis: 0, outZero: -3, clampLo: -128, clampHi: 127 };
      const p = makeProgram([{ name: "a", shape, type: INT32, zeroPoint: 0 }], [op], [act("y", shape, INT8, -3)], ["y"]);
      checkInt(p, new Map([["a_f", accFeed(rng, 2 * 90)]]), 2, `wide requant case ${t}`);
    }
  });

  it("rounds both gemmlowp stages at their ties (double rounding): m = 2^30, s = 31…35", () => {
    // SRDHM(x, 2^30) = floor((x + 1) / 2) ties at odd x; RDBP by s − 31 ties away from zero
    const xs = Int32Array.from({ length: 64 }, (_, i) => (i - 32) * 3 + (i % 2));
    for (let s = 31; s <= 35; s++) {
      const op: RequantOp = { kind: "requant", source: "tie", input: "a", output: "y", multipliers: [{ m: 2 ** 30, s }], axis: 0, outZero: 2, clampLo: -100, clampHi: 100 };
      const p = makeProgram([{ name: "a", shape: [64], type: INT32, zeroPoint: 0 }], [op], [act("y", [64], INT8, 2)], ["y"], "double");
      checkInt(p, new Map([["a_f", xs]]), 1, `double ties s ${s}`);
    }
  });

  it("rounds ties toward +∞ (single rounding): x·0.75 for x ≡ 2 mod 4", () => {
    // m = 3·2^19, s = 21: M = 0.75 exactly; x·M has fraction .5 when x ≡ 2 (mod 4)
    const d = { m: 3 * 2 ** 19, s: 21 };
    const xs = Int32Array.from([-10, -6, -2, 2, 6, 10, -(2 ** 31), 2 ** 31 - 2]);
    const op: RequantOp = { kind: "requant", source: "tie", input: "a", output: "y", multipliers: [d], axis: 0, outZero: 0, clampLo: INT32_MIN, clampHi: INT32_MAX };
    const p = makeProgram([{ name: "a", shape: [8], type: INT32, zeroPoint: 0 }], [op], [acc("y", [8])], ["y"]);
    checkInt(p, new Map([["a_f", xs]]), 1, "ties");
  });
});

describe("rescale kernel", () => {
  it("matches the reference for 1, 2 and 3 inputs, any shift, clamps and zero points", () => {
    const rng = new Rng(41);
    for (let t = 0; t < 50; t++) {
      const k = rng.pick([1, 2, 2, 3]);
      const shape = [rng.range(1, 4), rng.range(1, 6), rng.range(1, 6)];
      const inputs: InputSpec[] = Array.from({ length: k }, (_, i) => ({ name: `x${i}`, shape, ...randomActType(rng, true) }));
      const shift = rng.pick([0, 1, rng.range(2, 52)]);
      const multipliers = inputs.map((i) => {
        const d = Math.max(i.zeroPoint - intMin(i.type), intMax(i.type) - i.zeroPoint);
        return rng.range(0, Math.min(2 ** 31 - 1, Math.floor((2 ** 48 - 1) / Math.max(d, 1))));
      });
      const out = rng.pick([UINT8, INT8]);
      const outZero = rng.range(intMin(out), intMax(out));
      const op: RescaleOp = {
        kind: "rescale",
        source: "Add 'res'",
        inputs: inputs.map((i) => i.name),
        output: "y",
        inputZeros: inputs.map((i) => i.zeroPoint),
        multipliers,
        shift,
        outZero,
        clampLo: rng.chance(0.5) ? outZero : intMin(out),
        clampHi: intMax(out),
      };
      const p = makeProgram(inputs, [op], [act("y", shape, out, outZero)], ["y"]);
      const batch = rng.range(1, 4);
      checkInt(p, randomFeeds(rng, inputs, batch), batch, `rescale case ${t}`);
    }
  });

  it("throws (both engines) when a term can reach 2^48, instead of rounding silently", () => {
    // int32 inputs: |x − z|·m reaches 2^31·2^20 = 2^51
    const input: InputSpec = { name: "x", shape: [4], type: INT32, zeroPoint: 0 };
    const op: RescaleOp = { kind: "rescale", source: "Add 'big'", inputs: ["x"], output: "y", inputZeros: [0], multipliers: [2 ** 20], shift: 30, outZero: 0, clampLo: -128, clampHi: 127 };
    const p = makeProgram([input], [op], [act("y", [4], INT8)], ["y"]);
    const feeds = new Map([["x_f", Int32Array.from([1, -5, 2 ** 30, 7])]]);
    for (const simd of [true, false]) expect(() => runProgramInt(p, feeds, 1, { simd })).toThrow(/2\^48/);
  });
});
