/** How the CLI reports failures: one line on stderr, exit 1 (2 for usage); the stack only with --verbose. */
import chalk from "chalk";
import { isFixqError } from "../ir/errors.js";

/** The one line a failure is reported as (also the message of eval's JUnit error case). */
export function errorLine(e: unknown): string {
  const line = isFixqError(e) ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
  return line.replace(/\s*\n\s*/g, " ");
}

export function reportError(e: unknown, verbose: boolean): number {
  const isUsage = isFixqError(e) && e.code === "usage";
  process.stderr.write(`${chalk.red("error:")} ${errorLine(e)}\n`);
  if (verbose && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return isUsage ? 2 : 1;
}
