/** Writes a generated JS module to a fresh temporary directory and imports it, as a user would. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { emitJsModule, type EmitJsOptions } from "../../../src/backends/js/emit.js";
import type { Program } from "../../../src/integer/program.js";

export interface RunResult {
  outputs: Record<string, Float32Array>;
  ints: Record<string, Int32Array>;
}

/** The generated module's exports (see src/backends/js/docs.ts for the declarations). */
export interface JsModel {
  inputs: readonly { name: string; shape: number[]; type: string; scale: number; zeroPoint: number; qmin: number; qmax: number }[];
  outputs: readonly { name: string; shape: number[]; type: string; scale: number; zeroPoint: number }[];
  rounding: string;
  run(input: Float32Array, batch: number): Float32Array;
  runInt(input: Float32Array, batch: number): Int32Array;
  runAll(feeds: Record<string, Float32Array>, batch: number): RunResult;
  runAllInt(feeds: Record<string, ArrayLike<number>>, batch: number): RunResult;
}

const dirs: string[] = [];

/** Emits `p`, writes every file, imports the module. Call `cleanupModules` in afterAll. */
export async function importProgram(p: Program, opts: EmitJsOptions = {}): Promise<{ mod: JsModel; files: Map<string, string> }> {
  const files = emitJsModule(p, opts);
  const dir = mkdtempSync(join(tmpdir(), "fixq-js-"));
  dirs.push(dir);
  for (const [path, text] of files) writeFileSync(join(dir, path), text);
  const mod = (await import(pathToFileURL(join(dir, opts.fileName ?? "model.mjs")).href)) as JsModel;
  return { mod, files };
}

export function cleanupModules(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
