/** Runs the fixq CLI as a user would (`bin/fixq.mjs`), without colour, and returns exit status and output. */
import { spawnSync } from "node:child_process";

export function fixq(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["bin/fixq.mjs", ...args], { encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
