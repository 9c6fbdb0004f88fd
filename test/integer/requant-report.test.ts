/** The requant rows of compile --json, on a hand-written program: extremes of m, s and m·2^−s per op, in program order. */
import { describe, expect, it } from "vitest";
import type { Program } from "../../src/integer/program.js";
import { requantJson } from "../../src/integer/requant-report.js";

describe("requantJson", () => {
  it("summarizes per-channel requants and rescales, skipping other ops", () => {
    const program = {
      ops: [
        { kind: "maxpool", source: "MaxPool 'p'" },
        { kind: "requant", source: "Conv 'c'", input: "c_acc", output: "r_q", multipliers: [{ m: 2 ** 30, s: 40 }, { m: 2 ** 31 - 1, s: 38 }, { m: 1500000000, s: 39 }], axis: 0, outZero: 0, clampLo: 0, clampHi: 255 },
        { kind: "rescale", source: "Add 'a'", inputs: ["r_q", "s_q"], output: "a_q", inputZeros: [0, 3], multipliers: [3, 5], shift: 4, outZero: 1, clampLo: -128, clampHi: 127 },
      ],
    } as unknown as Program;
    expect(requantJson(program)).toEqual([
      { source: "Conv 'c'", kind: "requant", input: "c_acc", output: "r_q", count: 3, minMultiplier: 2 ** 30, maxMultiplier: 2 ** 31 - 1, minShift: 38, maxShift: 40, minScale: 2 ** -10, maxScale: (2 ** 31 - 1) * 2 ** -38, clamp: [0, 255] },
      { source: "Add 'a'", kind: "rescale", input: "r_q", output: "a_q", count: 2, minMultiplier: 3, maxMultiplier: 5, minShift: 4, maxShift: 4, minScale: 3 / 16, maxScale: 5 / 16, clamp: [-128, 127] },
    ]);
  });
});
