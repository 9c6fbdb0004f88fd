/**
 * The transformer ops on every back end: hand-built programs (uint8 and int8
 * operands, mixed signedness, negative β and offsets, clamps that bite, every
 * input code of a table) run in the emulator, the generated JS and ONNX
 * Runtime on the integer-only export, on random, half-way and extreme feeds
 * (inputs.ts): the integers feeding each output must be identical.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../../src/backends/emulator/run.js";
import { emitIntegerOnnx } from "../../../src/backends/onnx-int/emit.js";
import { integerOnnxRunner } from "../../../src/backends/onnx-int/run.js";
import { verifyIntegerOnly } from "../../../src/backends/onnx-int/verify.js";
import { certifyProgram } from "../../../src/integer/certify.js";
import type { IntOp, Program } from "../../../src/integer/program.js";
import { type IntType, intMax, intMin } from "../../../src/numerics/int.js";
import { addConstParams, layerNormParams, softmaxParams } from "../../../src/numerics/transformer-params.js";
import { Rng } from "../../helpers/prng.js";
import { cleanupModules, importProgram } from "../js/load-module.js";
import { I8, I16, I32, ProgramBuilder, U8 } from "../js/program-builder.js";
import { feedSets } from "./inputs.js";

afterAll(cleanupModules);

/** Adds `op` writing a fresh value of `type`/`shape` (scale 0.05) to the builder's program. */
function push(b: ProgramBuilder, make: (out: string) => IntOp, shape: readonly number[], type: IntType, zero = 0): string {
  const out = `t${b.values.size}`;
  b.values.set(out, { name: out, shape, type, scale: 0.05, zeroPoint: zero });
  b.ops.push(make(out));
  return out;
}

async function allEqual(p: Program, seed: number): Promise<number> {
  expect(verifyIntegerOnly(emitIntegerOnnx(p))).toEqual([]);
  const { mod } = await importProgram(p);
  const runner = await integerOnnxRunner(p, { threads: 1 });
  let compared = 0;
  try {
    for (const f of feedSets(p, new Rng(seed), 6)) {
      const emu = runProgram(p, f.feeds, f.batch);
      const js = mod.runAll(Object.fromEntries(f.feeds), f.batch);
      const onnx = await runner.run(f.feeds, f.batch);
      for (const o of p.outputs) {
        const e = emu.ints.get(o.name)!;
        expect(Array.from(js.ints[o.name]!), `${f.label}: JS`).toEqual(Array.from(e));
        expect(Array.from(onnx.ints.get(o.name)!), `${f.label}: integer ONNX`).toEqual(Array.from(e));
        compared += e.length;
      }
    }
  } finally {
    await runner.release();
  }
  return compared;
}

describe("transformer ops: emulator = JS = integer ONNX", () => {
  it.each([
    ["uint8 × uint8", U8, 131, U8, 7],
    ["int8 × int8", I8, -3, I8, 5],
    ["uint8 × int8 (moved to uint8)", U8, 255, I8, -128],
    ["int8 × uint8", I8, 127, U8, 0],
  ] as const)("matmul %s, batched over heads, then requant", async (_, ta, za, tb, zb) => {
    const b = new ProgramBuilder();
    const a = b.input([3, 4, 9], ta, Math.fround(0.1), za);
    const c = b.input([3, 9, 5], tb, Math.fround(0.1), zb);
    const acc = push(b, (out) => ({ kind: "matmul", source: "MatMul '/mm'", inputs: [a, c], output: out, inputZeros: [za, zb] }), [3, 4, 5], I32);
    b.output(b.requant(acc, [{ m: 1518500250, s: 45 }], 0, U8, 128), Math.fround(0.05));
    expect(await allEqual(b.build(), 1)).toBeGreaterThan(0);
  });

  it("matmul under assertRanges: the certified range holds, and one step below its max fires before the int32 store", () => {
    const b = new ProgramBuilder();
    const a = b.input([2, 3], U8, Math.fround(0.1), 0);
    const c = b.input([3, 2], U8, Math.fround(0.1), 0);
    const acc = push(b, (out) => ({ kind: "matmul", source: "MatMul '/mm'", inputs: [a, c], output: out, inputZeros: [0, 0] }), [2, 2], I32);
    b.output(b.requant(acc, [{ m: 1518500250, s: 45 }], 0, U8, 0), Math.fround(0.05));
    const p = b.build();
    const ranges = certifyProgram(p).ranges;
    expect(ranges.get(acc)).toEqual({ lo: 0, hi: 3 * 255 * 255 });
    const top = new Map([["in0", new Float32Array(6).fill(25.5)], ["in1", new Float32Array(6).fill(25.5)]]);
    expect(() => runProgram(p, top, 1, { assertRanges: ranges })).not.toThrow();
    const lowered = new Map(ranges).set(acc, { lo: 0, hi: 3 * 255 * 255 - 1 });
    expect(() => runProgram(p, top, 1, { assertRanges: lowered })).toThrow(/assertRanges: MatMul '\/mm' \(matmul\) wrote 195075/);
  });

  it("table over every code of int8 and uint8 inputs", async () => {
    for (const [t, z] of [
      [I8, -5],
      [U8, 200],
    ] as const) {
      const b = new ProgramBuilder();
      const x = b.input([64], t, Math.fround(0.07), z);
      const lo = intMin(t);
      const table = Int32Array.from({ length: intMax(t) - lo + 1 }, (_, i) => Math.max(-128, Math.min(127, Math.round(20 * Math.tanh((i + lo - z) * 0.07)))));
      const y = push(b, (out) => ({ kind: "table", source: "Tanh '/t'", input: x, output: out, inputMin: lo, table }), [64], I8);
      b.output(y, Math.fround(0.05));
      expect(await allEqual(b.build(), 2)).toBeGreaterThan(0);
    }
  });

  it("softmax over rows of 16 and 7, uint8 and int8 inputs, a clamp that bites", async () => {
    for (const [t, z, L, hi] of [
      [U8, 118, 16, 255],
      [I8, 0, 7, 100],
    ] as const) {
      const b = new ProgramBuilder();
      const x = b.input([2, L], t, Math.fround(0.09), z);
      const sp = softmaxParams(0.09, intMax(t) - intMin(t), 1 / 256, L)!;
      const y = push(b, (out) => ({ kind: "softmax", source: "Softmax '/sm'", input: x, output: out, ...sp, outZero: 0, clampLo: 0, clampHi: hi }), [2, L], U8);
      b.output(y, Math.fround(1 / 256));
      expect(await allEqual(b.build(), 3)).toBeGreaterThan(0);
    }
  });

  it("layernorm over 64 and 5 channels, negative β, int8 and uint8 inputs, int16 output", async () => {
    for (const [t, z, C, out16] of [
      [U8, 143, 64, false],
      [I8, -20, 5, true],
    ] as const) {
      const b = new ProgramBuilder();
      const x = b.input([3, C], t, Math.fround(0.0145), z);
      const gamma = Array.from({ length: C }, (_, i) => 0.3 + ((i * 7) % 11) / 5);
      const beta = Array.from({ length: C }, (_, i) => ((i * 5) % 9) / 4 - 1.2);
      const sy = out16 ? 0.001 : 0.0355;
      const lp = layerNormParams(gamma, beta, 1e-5, 0.0145, intMax(t) - intMin(t), sy)!;
      const ot = out16 ? I16 : U8;
      const oz = out16 ? 0 : 134;
      const y = push(b, (out) => ({ kind: "layernorm", source: "LayerNormalization '/ln'", input: x, output: out, ...lp, outZero: oz, clampLo: intMin(ot), clampHi: intMax(ot) }), [3, C], ot, oz);
      b.output(y, Math.fround(sy));
      expect(await allEqual(b.build(), 4)).toBeGreaterThan(0);
    }
  });

  it("addconst with a per-element constant and a per-row one (repeated over rows), shifts 0 and > 0, a ReLU clamp", async () => {
    for (const [sx, sy, clampLo, span] of [
      [0.0138, 0.0145, 143, 24],
      [0.5, 0.001, 0, 24],
      [1, 1, 0, 24],
      [0.0138, 0.0145, 0, 6],
    ] as const) {
      const b = new ProgramBuilder();
      const x = b.input([4, 6], U8, Math.fround(sx), 150);
      const c = Array.from({ length: span }, (_, i) => Math.sin(i) * 0.4);
      const ap = addConstParams(sx, 150, c, sy, 31)!;
      const y = push(b, (out) => ({ kind: "addconst", source: "Add '/add'", input: x, output: out, inputZero: 150, ...ap, outZero: 143, clampLo, clampHi: 255 }), [4, 6], U8, 143);
      b.output(y, Math.fround(sy));
      expect(await allEqual(b.build(), 5)).toBeGreaterThan(0);
    }
  });
});
