/**
 * Runs a Program through the generated JS module and the references (the
 * emulator, and the naive interpreter), and counts bit mismatches.
 */
import { expect } from "vitest";
import { runProgram, runProgramInt } from "../../../src/backends/emulator/run.js";
import type { Program } from "../../../src/integer/program.js";
import { type Results, resultMismatches } from "./compare.js";
import { importProgram, type JsModel } from "./load-module.js";
import { naiveRun } from "./naive-reference.js";

export interface Feeds {
  /** Float inputs by program input name, or integer inputs (the quantize outputs) when `quantized`. */
  readonly data: Readonly<Record<string, Float32Array | Int32Array>>;
  readonly batch: number;
  readonly quantized?: boolean;
}

/** The generated module's results on `feeds`. */
export function runJs(mod: JsModel, f: Feeds): Results {
  return f.quantized ? mod.runAllInt(f.data, f.batch) : mod.runAll(f.data as Record<string, Float32Array>, f.batch);
}

/** The emulator's results on `feeds`. */
export function runEmulator(p: Program, f: Feeds): Results {
  const feeds = new Map(Object.entries(f.data));
  return f.quantized
    ? runProgramInt(p, feeds as Map<string, Int32Array>, f.batch)
    : runProgram(p, feeds as Map<string, Float32Array>, f.batch);
}

/** The naive interpreter's results on `feeds`. */
export function runNaive(p: Program, f: Feeds): Results {
  return naiveRun(p, new Map(Object.entries(f.data)), f.batch, f.quantized);
}

/** Emits and imports `p`, runs every feed set, and expects zero mismatching words against each reference. Returns the words compared. */
export async function expectBitExact(p: Program, feedSets: readonly Feeds[], chunk?: number): Promise<number> {
  const { mod } = await importProgram(p, { chunk });
  const names = p.outputs.map((o) => o.name);
  let compared = 0;
  for (const f of feedSets) {
    const js = runJs(mod, f);
    const emu = resultMismatches(js, runEmulator(p, f), names);
    const naive = resultMismatches(js, runNaive(p, f), names);
    expect({ vs: "emulator", floats: emu.floats, ints: emu.ints }).toEqual({ vs: "emulator", floats: 0, ints: 0 });
    expect({ vs: "naive", floats: naive.floats, ints: naive.ints }).toEqual({ vs: "naive", floats: 0, ints: 0 });
    compared += emu.compared;
  }
  return compared;
}
