#!/usr/bin/env node
// Entry point. Runs the bundled CLI in dist/ (built by `npm run build`, which
// `npm ci` runs through `prepare`) when it is newer than every source file;
// otherwise runs the TypeScript sources through tsx, so an edit is never
// shadowed by a stale bundle.
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist", "fixq.mjs");

function bundleIsFresh() {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  const src = join(root, "src");
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs > built) return false;
  }
  return true;
}

// A reader that went away (`fixq … | head -1`) ends fixq quietly, as it ends Unix tools.
// Any other write error (a redirect to a full disk: ENOSPC) is one line and exit 1, no stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    if (stream === process.stdout) {
      try {
        process.stderr.write(`error: standard output: cannot write (${e.code ?? e.message})\n`);
      } catch {}
    }
    process.exit(1);
  });
}

let main;
if (bundleIsFresh()) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv);
