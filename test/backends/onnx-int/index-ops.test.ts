/**
 * The index ops and integer inputs on every back end (hand-built programs):
 * - an int64 input's clamp in the integer-only ONNX (uint64 order trick, no
 *   int64 Max/Min) equals the clamp the emulator applies, on values ORT's
 *   int64 comparisons get wrong and on values past int32 that a plain Cast
 *   would wrap (2^32 + 5 must clamp to 127, not wrap to 5);
 * - gather (valid ids, negative ones wrapping) and slice give the same
 *   integers in the emulator, the generated JS and ONNX Runtime.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../../src/backends/emulator/run.js";
import { emitIntegerOnnx } from "../../../src/backends/onnx-int/emit.js";
import { integerOnnxRunner } from "../../../src/backends/onnx-int/run.js";
import { verifyIntegerOnly } from "../../../src/backends/onnx-int/verify.js";
import type { Program } from "../../../src/integer/program.js";
import { DataType } from "../../../src/ir/dtype.js";
import { OrtSession } from "../../../src/runtime/ort-session.js";
import { Rng } from "../../helpers/prng.js";
import { cleanupModules, importProgram } from "../js/load-module.js";
import { I8, ProgramBuilder, randomInts } from "../js/program-builder.js";

afterAll(cleanupModules);

/** An integer input `m` of `shape` clamped to [lo, hi] as int8 by its quantize op. */
function integerInput(b: ProgramBuilder, shape: readonly number[], lo: number, hi: number): string {
  b.inputs.push({ name: "m", shape, integer: true });
  b.values.set("m_q", { name: "m_q", shape, type: I8, scale: 1, zeroPoint: 0 });
  b.ops.push({ kind: "quantize", source: "input 'm'", input: "m", output: "m_q", scale: 1, zeroPoint: 0, qmin: lo, qmax: hi });
  return "m_q";
}

describe("integer inputs and index ops: emulator = JS = integer ONNX", () => {
  it("an int64 input's clamp is exact for every int64 in the integer ONNX", async () => {
    const b = new ProgramBuilder();
    const m = integerInput(b, [16], -128, 127);
    // a table over the clamped int8 (as the mask's Cast → Sub → Mul becomes), every entry distinct
    b.values.set("t", { name: "t", shape: [16], type: I8, scale: 0.5, zeroPoint: 0 });
    b.ops.push({ kind: "table", source: "Sub '/mask'", input: m, output: "t", inputMin: -128, table: Int32Array.from({ length: 256 }, (_, i) => 127 - i) });
    b.output("t", 0.5);
    const p = b.build();
    expect(verifyIntegerOnly(emitIntegerOnnx(p))).toEqual([]);
    const raw = [0n, 1n, -1n, 127n, 128n, -128n, -129n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 32n + 5n, -(2n ** 32n) + 3n, 2n ** 63n - 1n, -(2n ** 63n), 7n * 2n ** 40n, 2n ** 31n - 1n, -(2n ** 31n)];
    const session = await OrtSession.create(emitIntegerOnnx(p, { integerOutputs: true }), { threads: 1 });
    const res = await session.run({ m: { dtype: DataType.INT64, dims: [1, 16], data: BigInt64Array.from(raw) } }).finally(() => session.release());
    const clamped = raw.map((v) => Number(v < -128n ? -128n : v > 127n ? 127n : v));
    expect(Array.from(res["t"]!.data as Int8Array)).toEqual(clamped.map((v) => 127 - (v + 128)));
    // the emulator takes the integers as float32 numbers; its clamp gives the same codes
    const emu = runProgram(p, new Map([["m", Float32Array.from(raw, (v) => Number(v))]]), 1);
    expect(Array.from(emu.ints.get("out0")!)).toEqual(clamped.map((v) => 127 - (v + 128)));
  });

  it("gather (negative ids wrap) then slice", async () => {
    const rng = new Rng(5);
    const b = new ProgramBuilder();
    const ids = integerInput(b, [3], -6, 5);
    const table = randomInts(rng, 5 * 4, -128, 127);
    b.values.set("rows", { name: "rows", shape: [3, 4], type: I8, scale: 0.1, zeroPoint: 0 });
    b.ops.push({ kind: "gather", source: "GatherBlockQuantized '/emb'", input: ids, output: "rows", table, rows: 5, width: 4 });
    b.values.set("cls", { name: "cls", shape: [2, 4], type: I8, scale: 0.1, zeroPoint: 0 });
    b.ops.push({ kind: "slice", source: "Gather '/cls'", input: "rows", output: "cls", axis: 0, start: 1, end: 3 });
    b.output("cls", Math.fround(0.1));
    const p: Program = b.build();
    const feeds = new Map([["m", Float32Array.of(0, 4, -1, -5, 2, 3, 1, -2, 0, 4, 4, -3)]]);
    const emu = runProgram(p, feeds, 4);
    // sample 0 ids [0, 4, −1]: rows 4 and 4 (−1 wraps) after the slice
    expect(Array.from(emu.ints.get("out0")!.subarray(0, 8))).toEqual([...table.subarray(16, 20), ...table.subarray(16, 20)]);
    const { mod } = await importProgram(p);
    expect(Array.from(mod.runAll(Object.fromEntries(feeds), 4).ints["out0"]!)).toEqual(Array.from(emu.ints.get("out0")!));
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(feeds, 4).finally(() => runner.release());
    expect(Array.from(onnx.ints.get("out0")!)).toEqual(Array.from(emu.ints.get("out0")!));
  });
});
