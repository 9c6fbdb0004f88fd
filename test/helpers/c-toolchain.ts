/**
 * The C toolchain for the generated-code suites: whether gcc / g++ / make
 * are installed (a suite skips with a printed notice when one is absent, and
 * fails instead with FIXQ_REQUIRE_DATA=1, as CI sets it), and small wrappers
 * that compile and run a program in a temporary folder.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataRequired } from "./require-data.js";

/** True when `tool --version` runs; otherwise warns and returns false, or throws when data is required. */
export function toolAvailable(tool: string): boolean {
  const r = spawnSync(tool, ["--version"], { stdio: "ignore" });
  if (r.status === 0) return true;
  const msg = `${tool} not found on PATH`;
  if (dataRequired()) throw new Error(`${msg} (FIXQ_REQUIRE_DATA=1)`);
  console.warn(`${msg}: skipping`);
  return false;
}

/** A fresh temporary folder, and its removal. */
export function tempDir(prefix: string): { dir: string; remove: () => void; fresh: () => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let made = 0;
  /** A new empty folder inside `dir` (p0, p1, …), one per generated project. */
  const fresh = () => {
    const d = join(dir, `p${made++}`);
    mkdirSync(d);
    return d;
  };
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }), fresh };
}

/** Runs a command, returning stdout; throws with its stderr when it fails. */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(cmd, args, { cwd: opts.cwd, input: opts.input, env: opts.env, encoding: "utf8", maxBuffer: 1 << 28, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${err.stderr ?? ""}${err.stdout ?? ""}`);
  }
}
