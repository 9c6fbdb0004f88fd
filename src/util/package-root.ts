/**
 * The fixq package folder, found by walking up from this module to the
 * package.json named "fixq". Works from the TypeScript sources and from the
 * bundled CLI in dist/ alike.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "fixq") {
      root = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("fixq's package.json not found above its sources");
    dir = up;
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}
