/**
 * Optional test data: suites that need a data set installed outside the repo
 * (e.g. a Debian package) call `dataAvailable` and skip when it returns false.
 * With FIXQ_REQUIRE_DATA=1 (as CI sets it) missing data is an error instead.
 */
import { existsSync } from "node:fs";

export function dataRequired(): boolean {
  return process.env["FIXQ_REQUIRE_DATA"] === "1";
}

/** True when `path` exists. Otherwise warns and returns false, or throws when data is required. */
export function dataAvailable(path: string, what: string): boolean {
  if (existsSync(path)) return true;
  const msg = `${what} not found at ${path}`;
  if (dataRequired()) throw new Error(`${msg} (FIXQ_REQUIRE_DATA=1)`);
  console.warn(`${msg}: skipping`);
  return false;
}
