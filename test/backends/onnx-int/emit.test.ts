/**
 * The integer ONNX export of hand-built programs, run by ONNX Runtime, equals
 * the emulator and a naive program reference bit for bit — raw integers and float outputs —
 * on random, half-way, all-0, all-max, all-min, saturating and alternating
 * inputs; and its graph passes the integer-only proof. Programs it cannot
 * export exactly are refused with a clear message.
 */
import { describe, expect, it } from "vitest";
import { integerOnnxRunner } from "../../../src/backends/onnx-int/run.js";
import { checkIntegerOnnx, emitIntegerOnnx } from "../../../src/backends/onnx-int/emit.js";
import { runProgram } from "../../../src/backends/emulator/run.js";
import { verifyIntegerOnly } from "../../../src/backends/onnx-int/verify.js";
import type { DequantizeOp, IntOp, Program } from "../../../src/integer/program.js";
import { intType } from "../../../src/numerics/int.js";
import { integerOutputs } from "../../../src/integer/program.js";
import { Rng } from "../../helpers/prng.js";
import { feedSets } from "./inputs.js";
import { naiveRun } from "./naive-program.js";
import { cnnProgram, edgeProgram, leftShiftProgram, narrowProgram, S8, U8, wideProgram } from "./programs.js";

const CASES: [string, () => Program][] = [
  ["cnn u8 single", () => cnnProgram(1, U8)],
  ["cnn s8 single", () => cnnProgram(2, S8)],
  ["cnn u8 double", () => cnnProgram(3, U8, "double")],
  ["cnn s8 double", () => cnnProgram(4, S8, "double")],
  ["wide int16 single", () => wideProgram(5)],
  ["wide int16 double", () => wideProgram(6, "double")],
  ["narrow int4/uint4", () => narrowProgram(7)],
  ["edge requant single", () => edgeProgram(8, "single")],
  ["edge requant double", () => edgeProgram(9, "double")],
  ["double with left shifts", () => leftShiftProgram(10)],
];

interface Counts {
  ints: number;
  floats: number;
  emulatorInts: number;
  emulatorFloats: number;
  compared: number;
}

async function mismatches(p: Program, seed: number, batch: number): Promise<Counts> {
  const runner = await integerOnnxRunner(p, { threads: 1 });
  const c: Counts = { ints: 0, floats: 0, emulatorInts: 0, emulatorFloats: 0, compared: 0 };
  try {
    for (const set of feedSets(p, new Rng(seed), batch)) {
      const got = await runner.run(set.feeds, set.batch);
      const want = naiveRun(p, set.feeds, set.batch);
      const emu = runProgram(p, set.feeds, set.batch);
      integerOutputs(p).forEach((name, i) => {
        const dq = p.ops.find((op) => op.kind === "dequantize" && op.input === name) as DequantizeOp;
        const g = got.ints.get(p.outputs[i]!.name)!;
        const w = want.get(name)!;
        const gf = got.outputs.get(p.outputs[i]!.name)!;
        const ei = emu.ints.get(p.outputs[i]!.name)!;
        const ef = emu.outputs.get(p.outputs[i]!.name)!;
        expect(g.length).toBe(w.length);
        for (let k = 0; k < w.length; k++) {
          c.compared++;
          if (g[k] !== w[k]) c.ints++;
          // float32((q − z)·scale), the DequantizeLinear definition
          if (!Object.is(gf[k], Math.fround(Math.fround(w[k]! - dq.zeroPoint) * dq.scale))) c.floats++;
          if (g[k] !== ei[k]) c.emulatorInts++;
          if (!Object.is(gf[k], ef[k])) c.emulatorFloats++;
        }
      });
    }
  } finally {
    await runner.release();
  }
  return c;
}

describe("emitIntegerOnnx on hand-built programs", () => {
  for (const [label, make] of CASES) {
    it(`${label}: ORT equals the emulator and the reference bit for bit`, async () => {
      const p = make();
      expect(verifyIntegerOnly(emitIntegerOnnx(p))).toEqual([]);
      const r = await mismatches(p, label.length, 24);
      expect(r.compared).toBeGreaterThan(0);
      expect(r).toEqual({ ints: 0, floats: 0, emulatorInts: 0, emulatorFloats: 0, compared: r.compared });
    });
  }
});

describe("emitIntegerOnnx refusals", () => {
  const withOp = (p: Program, i: number, patch: object): Program => ({ ...p, ops: p.ops.map((op, k) => (k === i ? ({ ...op, ...patch } as IntOp) : op)) });

  it("refuses a quantize scale that is not a float32", () => {
    const p = narrowProgram(1);
    expect(() => emitIntegerOnnx(withOp(p, 0, { scale: 0.1 }))).toThrow(/scale 0.1 is not a positive finite float32/);
  });

  it("refuses double rounding with a left shift above 30 and single rounding with one above 30", () => {
    const p = narrowProgram(1, "double");
    const i = p.ops.findIndex((op) => op.kind === "requant");
    const q = withOp(p, i, { multipliers: [{ m: 2 ** 30, s: 0 }] });
    expect(checkIntegerOnnx(q).map((d) => d.message)).toContain("double rounding needs shifts in 1…62, not 0 (multiplier 1073741824)");
    expect(() => emitIntegerOnnx(q)).toThrow(/onnx-int back end cannot run requant op \d+: /);
    const big = withOp({ ...p, rounding: "single" }, i, { multipliers: [{ m: 2 ** 30, s: -31 }] });
    expect(checkIntegerOnnx(big).map((d) => d.message)).toContain("multiplier 1073741824·2^31 is too large (left shift above 30)");
    expect(() => emitIntegerOnnx(big)).toThrow(/single rounding needs a shift ≥ -22/);
  });

  it("refuses values without an ONNX carrier and int32 outputs whose zero point can overflow", () => {
    const p = edgeProgram(1, "single");
    const y = p.values.get("y")!;
    const values = new Map(p.values);
    values.set("y", { ...y, type: intType(32, false) });
    expect(() => emitIntegerOnnx({ ...p, values })).toThrow(/uint32 values do not fit the int32 storage/);
    values.set("y", { ...y, type: intType(32, true) });
    expect(() => emitIntegerOnnx({ ...p, values })).toThrow(/dequantizing int32 with zero point 17 can overflow int32/);
  });
});
