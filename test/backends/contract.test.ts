/**
 * The backend contract: every integer back end checks a program against
 * numerics' domain (plus its own) and refuses, naming the op and the reason,
 * what lies outside. Programs just outside each domain edge are refused by all
 * three back ends alike; programs just inside are accepted by all three.
 */
import { describe, expect, it } from "vitest";
import type { CheckTable, IntegerBackend } from "../../src/backends/contract.js";
import { KERNELS } from "../../src/backends/emulator/kernels/index.js";
import { ONNX_INT_CHECKS } from "../../src/backends/onnx-int/check.js";
import { NUMERICS_CHECKS } from "../../src/backends/shared/numerics-checks.js";
import { emulatorBackend } from "../../src/backends/emulator/run.js";
import { jsBackend } from "../../src/backends/js/emit.js";
import { onnxIntBackend } from "../../src/backends/onnx-int/emit.js";
import type { Program } from "../../src/integer/program.js";
import { FixqError } from "../../src/ir/errors.js";
import { intType } from "../../src/numerics/int.js";
import type { Dyadic, RequantRounding } from "../../src/numerics/requant.js";
import { I8, I16, ProgramBuilder, U8 } from "./js/program-builder.js";

const BACKENDS: readonly IntegerBackend<never, unknown>[] = [emulatorBackend, jsBackend, onnxIntBackend];
const emit = (b: IntegerBackend<never, unknown>, p: Program) => (b.emit as (p: Program) => unknown)(p);

/**
 * An int32 accumulator whose certified range is exactly [w·lo + bias, w·hi + bias]: an int16 input
 * in [lo, hi] (zero point 0) through a 1 → 2 dense with weights w and bias, then a requant by `d`
 * into int8. Ops: 0 quantize, 1 dense, 2 requant, 3 dequantize.
 */
function requantProgram(rounding: RequantRounding, d: Dyadic, [lo, hi]: [number, number], w = 1, bias = 0): Program {
  const b = new ProgramBuilder(rounding);
  const x = b.input([1], I16, 1, 0, [lo, hi]);
  const acc = b.dense(x, 0, Int32Array.of(w, w), 2, Int32Array.of(bias, bias));
  b.output(b.requant(acc, [d], 0, I8, 0), 1);
  return b.build();
}

const FULL: [number, number] = [-32768, 32767];

/** Two int16 inputs in `range` → rescale with multipliers `m` and `shift` → int8. */
function rescaleProgram(m: readonly number[], shift: number, range: [number, number] = [-32768, 32767]): Program {
  const b = new ProgramBuilder();
  const xs = m.map(() => b.input([4], I16, 1, 0, range));
  b.output(b.rescale(xs, { inputZeros: m.map(() => 0), multipliers: m, shift, outZero: 0 }, I8), 1);
  return b.build();
}

/** Every back end refuses `p` at op `op`, with a reason matching `why`, in check and in emit. */
function expectAllRefuse(p: Program, op: number, why: RegExp): void {
  for (const b of BACKENDS) {
    const diags = b.check(p);
    expect(diags.length, b.name).toBeGreaterThan(0);
    expect(diags[0]!.op, b.name).toBe(op);
    expect(diags[0]!.source, b.name).toBe(p.ops[op]!.source);
    expect(diags[0]!.message, b.name).toMatch(why);
    let err: unknown;
    try {
      emit(b, p);
    } catch (e) {
      err = e;
    }
    expect(err, b.name).toBeInstanceOf(FixqError);
    expect((err as FixqError).code).toBe("unsupported");
    expect((err as FixqError).message, b.name).toContain(`${p.ops[op]!.source}: ${b.name} back end cannot run ${p.ops[op]!.kind} op ${op}: `);
    expect((err as FixqError).message, b.name).toMatch(why);
  }
}

function expectAllAccept(p: Program): void {
  for (const b of BACKENDS) {
    expect(b.check(p), b.name).toEqual([]);
    expect(() => emit(b, p), b.name).not.toThrow();
  }
}

describe("backend contract: numerics' domain, refused alike by every back end", () => {
  it("uint32 values: refused (they do not fit the int32 storage)", () => {
    const b = new ProgramBuilder();
    const x = b.input([3], intType(16, false), 1, 0);
    b.output(b.requant(x, [{ m: 2 ** 30, s: 20 }], 0, intType(32, false), 0, [0, 2 ** 31]), 1);
    expectAllRefuse(b.build(), 1, /uint32 values do not fit the int32 storage/);
  });

  it("double rounding's left shift: refused where the certified accumulator range can overflow int32, accepted where it cannot", () => {
    // s = 20: a left shift by 11, so the accumulator must stay in [−2^20, 2^20 − 1]; acc = 64·x + bias
    const d = { m: 2 ** 30 + 7, s: 20 };
    expectAllRefuse(requantProgram("double", d, FULL, 2 ** 16), 2, /left shift by 11 \(s = 20\) overflows int32 for accumulators in \[-2147483648, 2147418112\]/);
    expectAllRefuse(requantProgram("double", d, [-16384, 16383], 64, 64), 2, /left shift by 11.*\[-1048512, 1048576\]/);
    expectAllRefuse(requantProgram("double", d, [-16384, 16383], 64, -1), 2, /left shift by 11.*\[-1048577, 1048511\]/);
    expectAllAccept(requantProgram("double", d, [-16384, 16383], 64, 63));
    expectAllAccept(requantProgram("double", d, [-16384, 16383], 64));
    // no left shift at s = 31: any int32 accumulator is fine
    expectAllAccept(requantProgram("double", { m: 2 ** 30 + 7, s: 31 }, FULL, 2 ** 16));
  });

  it("double rounding: shifts above 62 are refused, 62 and m = 0 (any shift) are accepted", () => {
    expectAllRefuse(requantProgram("double", { m: 2 ** 30, s: 63 }, [-5, 5]), 2, /double rounding needs a shift ≤ 62/);
    expectAllAccept(requantProgram("double", { m: 2 ** 30, s: 62 }, FULL, 2 ** 16));
    expectAllAccept(requantProgram("double", { m: 0, s: 0 }, FULL, 2 ** 16));
  });

  it("requant multipliers and shifts: refused outside integers, m in [0, 2^31)", () => {
    expectAllRefuse(requantProgram("single", { m: 2 ** 31, s: 40 }, [-5, 5]), 2, /multiplier m = 2147483648 is not an integer in \[0, 2\^31\)/);
    expectAllRefuse(requantProgram("single", { m: -3, s: 40 }, [-5, 5]), 2, /multiplier m = -3/);
    expectAllRefuse(requantProgram("single", { m: 2 ** 30, s: 40.5 }, [-5, 5]), 2, /shift s = 40.5 is not an integer/);
    expectAllAccept(requantProgram("single", { m: 2 ** 31 - 1, s: 80 }, FULL, 2 ** 16));
    expectAllRefuse(requantProgram("single", { m: 2 ** 30, s: -23 }, [-5, 5]), 2, /single rounding needs a shift ≥ -22/);
    expectAllAccept(requantProgram("single", { m: 2 ** 31 - 1, s: -22 }, [-5, 5]));
  });

  it("rescale: shift above 52, terms reaching 2^48, more than 16 inputs are refused; the edges are accepted", () => {
    expectAllRefuse(rescaleProgram([3, 5], 53), 2, /shift 53 is not an integer in 0…52/);
    expectAllAccept(rescaleProgram([3, 5], 52));
    // a rescale of an accumulator 2^13·x (x in [lo, hi]) by m = 2^20: |term| < 2^48 needs |acc| < 2^28
    const big = (range: [number, number]) => {
      const b = new ProgramBuilder();
      const x = b.input([1], I16, 1, 0, range);
      const acc = b.dense(x, 0, Int32Array.of(2 ** 13), 1);
      b.output(b.rescale([acc], { inputZeros: [0], multipliers: [2 ** 20], shift: 30, outZero: 0 }, I8), 1);
      return b.build();
    };
    expectAllRefuse(big([-32768, 0]), 2, /reaches 268435456·1048576 ≥ 2\^48/);
    expectAllAccept(big([-32767, 32767]));
    expectAllRefuse(rescaleProgram(new Array(17).fill(1), 1), 17, /17 inputs: 1…16 supported/);
    expectAllAccept(rescaleProgram(new Array(16).fill(1), 1));
  });

  it("quantize: a scale that is not finite and positive as a float32 is refused", () => {
    const b = new ProgramBuilder();
    b.output(b.input([2], U8, 1e-50, 0), 1);
    expectAllRefuse(b.build(), 0, /scale 1e-50 is not positive and finite as a float32/);
  });
});

describe("backend contract: narrower back-end domains are refused by that back end only", () => {
  it("onnx-int: a quantize to 20 bits, a scale that is not a float32, double rounding with s < 1", () => {
    const b = new ProgramBuilder();
    b.output(b.input([3], intType(20, true), 0.5, 0), 1);
    b.output(b.input([3], I8, 1 / 3, 0), 1);
    const p = b.build();
    expect(emulatorBackend.check(p)).toEqual([]);
    expect(jsBackend.check(p)).toEqual([]);
    expect(onnxIntBackend.check(p).map((d) => `${d.op}: ${d.message}`)).toEqual([
      "0: QuantizeLinear/DequantizeLinear have no int20 type (at most 16 bits)",
      `2: scale ${1 / 3} is not a positive finite float32`,
    ]);
    // s = 0 shifts left by 31: inside numerics only for an accumulator of 0 (w = 0)
    const zero = requantProgram("double", { m: 2 ** 30, s: 0 }, FULL, 0);
    expect(emulatorBackend.check(zero)).toEqual([]);
    expect(jsBackend.check(zero)).toEqual([]);
    expect(onnxIntBackend.check(zero).map((d) => d.message)).toEqual(["double rounding needs shifts in 1…62, not 0 (multiplier 1073741824)"]);
  });

  it("certified ranges given by the caller replace the computed ones", () => {
    const p = requantProgram("double", { m: 2 ** 30 + 7, s: 20 }, FULL, 2 ** 16);
    const acc = p.ops[2]!.kind === "requant" ? p.ops[2].input : "";
    const ranges = new Map([[acc, { lo: -100, hi: 100 }]]);
    for (const b of BACKENDS) expect(b.check(p, { ranges }), b.name).toEqual([]);
    expect(emulatorBackend.check(p).length).toBe(1);
  });
});

describe("backend contract: tables", () => {
  it("are exhaustive over the op kinds: a table without one is a compile error, and all tables list the same kinds", () => {
    // @ts-expect-error a check table without `concat` is not a CheckTable
    const partial: CheckTable = { ...NUMERICS_CHECKS, concat: undefined };
    expect(partial.concat).toBeUndefined();
    const kinds = Object.keys(KERNELS).sort();
    expect(kinds).toHaveLength(21);
    expect(Object.keys(NUMERICS_CHECKS).sort()).toEqual(kinds);
    expect(Object.keys(ONNX_INT_CHECKS).sort()).toEqual(kinds);
  });
});
