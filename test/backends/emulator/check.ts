/** Runs a program on both engines (SIMD and JS) and compares every output with the reference interpreter, bit for bit. */
import { expect } from "vitest";
import { runProgram, runProgramInt } from "../../../src/backends/emulator/run.js";
import type { Program } from "../../../src/integer/program.js";
import { refRun } from "./reference.js";

/** Index of the first differing element (by bits for floats), or −1. */
export function firstMismatch(a: Int32Array | Float32Array, b: Int32Array | Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = a instanceof Float32Array ? new Uint32Array(a.buffer, a.byteOffset, a.length) : a;
  const ub = b instanceof Float32Array ? new Uint32Array(b.buffer, b.byteOffset, b.length) : b;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

export function expectSame(actual: Int32Array | Float32Array, expected: Int32Array | Float32Array, what: string): void {
  const i = firstMismatch(actual, expected);
  if (i >= 0) expect.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (lengths ${actual.length}, ${expected.length})`);
}

/** Both engines, with a small chunk too (padding of the last chunk), against refRun on integer feeds. */
export function checkInt(p: Program, feeds: ReadonlyMap<string, Int32Array>, batch: number, what: string): void {
  const ref = refRun(p, batch, { int: feeds });
  for (const simd of [true, false]) {
    for (const chunk of [64, 2]) {
      const r = runProgramInt(p, feeds, batch, { simd, chunk });
      for (const o of p.outputs) {
        expectSame(r.ints.get(o.name)!, ref.ints.get(o.name)!, `${what} [simd ${simd}, chunk ${chunk}] ints '${o.name}'`);
        expectSame(r.outputs.get(o.name)!, ref.outputs.get(o.name)!, `${what} [simd ${simd}, chunk ${chunk}] floats '${o.name}'`);
      }
    }
  }
}

/** Both engines against refRun on float feeds. */
export function checkFloat(p: Program, feeds: ReadonlyMap<string, Float32Array>, batch: number, what: string): void {
  const ref = refRun(p, batch, { float: feeds });
  for (const simd of [true, false]) {
    const r = runProgram(p, feeds, batch, { simd });
    for (const o of p.outputs) {
      expectSame(r.ints.get(o.name)!, ref.ints.get(o.name)!, `${what} [simd ${simd}] ints '${o.name}'`);
      expectSame(r.outputs.get(o.name)!, ref.outputs.get(o.name)!, `${what} [simd ${simd}] floats '${o.name}'`);
    }
  }
}
