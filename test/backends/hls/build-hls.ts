/**
 * Writes a Program's generated HLS project (emitHls) into a folder and runs
 * `make csim_run` there, giving a harness the C suites' runner drives.
 * Correctness builds take g++ -O1 for the design and testbench and -O0 for
 * tb/model.c (only its float boundary runs): same bits, a third of -O2's
 * compile time; a suite passes `cxxflags` "-O3" for its one optimised build.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type EmitHlsOptions, emitHls } from "../../../src/backends/hls/emit.js";
import type { Program } from "../../../src/integer/program.js";
import { run } from "../../helpers/c-toolchain.js";
import type { Built } from "../c/run-c.js";

/** make's flag arguments for a correctness build (-Werror: the generated C++ and fixq's headers build without a warning). */
export const csimFlags = (cxxflags = "-O1") => [`CXXFLAGS=${cxxflags} -Werror`, "CFLAGS=-O0"];

export function buildHls(p: Program, dir: string, opts: EmitHlsOptions = {}, cxxflags?: string): Built {
  for (const [rel, text] of emitHls(p, opts)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  run("make", ["-s", "-C", dir, "csim_run", ...csimFlags(cxxflags)]);
  return { dir, program: p, exe: "csim_run" };
}

/** `make csim_check` (the testbench's self-check; the design object csim_run built is reused), its output. */
export function csimCheck(dir: string): string {
  return run("make", ["-s", "-C", dir, "csim_check", ...csimFlags()]);
}
