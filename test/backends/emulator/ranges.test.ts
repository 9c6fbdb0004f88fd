import { describe, expect, it } from "vitest";
import { runProgramInt, type ValueRange } from "../../../src/backends/emulator/run.js";
import type { ConvOp, Program, RequantOp } from "../../../src/integer/program.js";
import { quantizeMultiplier } from "../../../src/numerics/requant.js";
import { Rng } from "../../helpers/prng.js";
import { refRun } from "./reference.js";
import { acc, act, INT16, type InputSpec, makeProgram, randInts, randomFeeds, UINT8 } from "./programs.js";

/** x (uint8, zp 5) → conv 3×3 → acc → requant → y; both acc and y are program outputs. */
function convRequant(rng: Rng, weightMax = 127, input: InputSpec = { name: "x", shape: [3, 6, 6], type: UINT8, zeroPoint: 5 }): Program {
  const conv: ConvOp = {
    kind: "conv",
    source: "Conv '/features/0/Conv'",
    input: "x",
    output: "acc",
    inputZero: input.zeroPoint,
    weight: randInts(rng, 4 * 3 * 9, -weightMax, weightMax),
    weightShape: [4, 3, 3, 3],
    bias: randInts(rng, 4, -1000, 1000),
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
    group: 1,
  };
  const rq: RequantOp = {
    kind: "requant",
    source: "Conv '/features/0/Conv' requant",
    input: "acc",
    output: "y",
    multipliers: [0.001, 0.002, 0.0005, 0.003].map((m) => quantizeMultiplier(m)),
    axis: 0,
    outZero: 0,
    clampLo: 0,
    clampHi: 255,
  };
  return makeProgram([input], [conv, rq], [acc("acc", [4, 6, 6]), act("y", [4, 6, 6], UINT8)], ["acc", "y"]);
}

/** The exact [min, max] of every output's integers over the batch, from the reference. */
function observedRanges(p: Program, feeds: ReadonlyMap<string, Int32Array>, batch: number): Map<string, ValueRange> {
  const ref = refRun(p, batch, { int: feeds });
  const m = new Map<string, ValueRange>();
  for (const [name, v] of ref.ints) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    m.set(name.replace(/_out$/, ""), { lo, hi });
  }
  return m;
}

describe("assertRanges", () => {
  it("passes with the exact ranges and fails, naming op, value, element and range, when one is one too narrow", () => {
    const rng = new Rng(61);
    const p = convRequant(rng);
    const batch = 5;
    const feeds = randomFeeds(rng, [{ name: "x", shape: [3, 6, 6], type: UINT8, zeroPoint: 5 }], batch);
    const ranges = observedRanges(p, feeds, batch);
    for (const simd of [true, false]) {
      for (const chunk of [64, 2]) expect(() => runProgramInt(p, feeds, batch, { assertRanges: ranges, simd, chunk })).not.toThrow();
      const accRange = ranges.get("acc")!;
      const tight = new Map(ranges).set("acc", { lo: accRange.lo, hi: accRange.hi - 1 });
      expect(() => runProgramInt(p, feeds, batch, { assertRanges: tight, simd })).toThrow(
        new RegExp(`Conv '/features/0/Conv'.*'acc'.*sample \\d+, element \\d+.*\\[${accRange.lo}, ${accRange.hi - 1}\\]`),
      );
      const yRange = ranges.get("y")!;
      const tightY = new Map([["y", { lo: yRange.lo + 1, hi: yRange.hi }]]);
      expect(() => runProgramInt(p, feeds, batch, { assertRanges: tightY, simd })).toThrow(/requant.*'y'.*outside the certified range/);
    }
  });

  it("catches an accumulator that leaves int32, which wrapping arithmetic would hide", () => {
    const rng = new Rng(62);
    // int16 inputs at −32768 with zero point 32767 (x − z = −65535) and weights of ±32767: |acc| ≈ 27·2^31
    const input: InputSpec = { name: "x", shape: [3, 6, 6], type: INT16, zeroPoint: 32767 };
    const p = convRequant(rng, 32767, input);
    const conv = p.ops.find((o) => o.kind === "conv") as ConvOp;
    (conv.weight as Int32Array).fill(32767);
    const feeds = new Map([["x_f", new Int32Array(3 * 36).fill(-32768)]]);
    const int32 = new Map([["acc", { lo: -(2 ** 31), hi: 2 ** 31 - 1 }]]);
    for (const simd of [true, false]) expect(() => runProgramInt(p, feeds, 1, { assertRanges: int32, simd })).toThrow(/'acc'.*outside the certified range/);
  });
});
