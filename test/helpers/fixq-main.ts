/**
 * Runs the fixq CLI in this process (`main` from src/cli/main.ts) and captures
 * what it writes to stdout and stderr, without colour codes. Much faster than
 * spawning `bin/fixq.mjs` when a test runs the CLI hundreds of times.
 */
import { main } from "../../src/cli/main.js";

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

const ANSI = /\u001b\[[0-9;]*m/g;

export async function fixqMain(...args: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const status = await main(["node", "fixq", ...args]);
    return { status, stdout: stdout.replace(ANSI, ""), stderr: stderr.replace(ANSI, "") };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
