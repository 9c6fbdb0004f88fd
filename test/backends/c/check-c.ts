/**
 * The generated C against the emulator, bit for bit: builds the program
 * with make, runs model_run on each feed set, and returns the mismatching
 * 32-bit words (float outputs by bit pattern, and raw integer outputs).
 */
import { expect } from "vitest";
import type { Program } from "../../../src/integer/program.js";
import { type Feeds, runEmulator } from "../js/check.js";
import { mismatches } from "../js/compare.js";
import { type Built, buildC, runC } from "./run-c.js";

export interface Tally {
  floats: number;
  ints: number;
  compared: number;
}

/** Mismatches of the C results against the emulator's, over every feed set (quantized feeds compare integers only). */
export function tallyC(p: Program, dir: string, feedSets: readonly Feeds[], cflags?: string): Tally {
  return tallyBuilt(buildC(p, dir, { cflags }), feedSets);
}

/** Mismatches of a built harness (C model_run or HLS csim_run) against the emulator. */
export function tallyBuilt(built: Built, feedSets: readonly Feeds[]): Tally {
  return tallyEach([built], feedSets)[0]!;
}

/**
 * Mismatches of each of several runs of one program against the emulator,
 * which runs once per feed set: e.g. one build's CPU paths (FIXQ_CPU in a
 * Built's env), or its batch and one-sample functions (args).
 */
export function tallyEach(builts: readonly Built[], feedSets: readonly Feeds[]): Tally[] {
  const p = builts[0]!.program;
  const tallies: Tally[] = builts.map(() => ({ floats: 0, ints: 0, compared: 0 }));
  feedSets.forEach((f, k) => {
    const e = runEmulator(p, f);
    builts.forEach((built, j) => {
      addMismatches(tallies[j]!, p, f, runC(built, f, `f${k}`), e);
    });
  });
  return tallies;
}

/** Adds one feed set's mismatches of C results `c` against emulator results `e` to `t`. */
function addMismatches(t: Tally, p: Program, f: Feeds, c: ReturnType<typeof runC>, e: ReturnType<typeof runEmulator>): void {
  for (const o of p.outputs) {
    const ei = e.ints instanceof Map ? e.ints.get(o.name) : (e.ints as Record<string, Int32Array>)[o.name];
    const ci = (c.ints as Map<string, Int32Array>).get(o.name);
    t.ints += mismatches(ci!, ei!);
    t.compared += ei!.length;
    if (!f.quantized) {
      const eo = e.outputs instanceof Map ? e.outputs.get(o.name) : (e.outputs as Record<string, Float32Array>)[o.name];
      t.floats += mismatches((c.outputs as Map<string, Float32Array>).get(o.name)!, eo!);
    }
  }
}

/** Expects zero mismatches and some words compared. */
export function expectBitExactC(p: Program, dir: string, feedSets: readonly Feeds[], cflags?: string): void {
  const t = tallyC(p, dir, feedSets, cflags);
  expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
  expect(t.compared).toBeGreaterThan(0);
}
