/**
 * Writes a Program's generated HLS project (emitHls) into a folder and runs
 * `make csim_run` there, giving a harness the C suites' runner drives.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type EmitHlsOptions, emitHls } from "../../../src/backends/hls/emit.js";
import type { Program } from "../../../src/integer/program.js";
import { run } from "../../helpers/c-toolchain.js";
import type { Built } from "../c/run-c.js";

export function buildHls(p: Program, dir: string, opts: EmitHlsOptions = {}): Built {
  for (const [rel, text] of emitHls(p, opts)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  // -Werror: the generated C++ and fixq's headers build without a warning
  run("make", ["-s", "-C", dir, "csim_run", "CXXFLAGS=-O2 -Werror"]);
  return { dir, program: p, exe: "csim_run" };
}
