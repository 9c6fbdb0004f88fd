/**
 * bin/fixq.mjs when standard output cannot be written for another reason
 * than a closed reader (a redirect to a full disk, here /dev/full: ENOSPC):
 * one line on stderr naming standard output and the cause, exit 1, and no
 * stack trace. Linux only (/dev/full); skipped with a notice elsewhere.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { expect, it } from "vitest";

const FULL = "/dev/full";
if (!existsSync(FULL)) console.warn(`${FULL} not found: skipping the ENOSPC test`);

it.skipIf(!existsSync(FULL))("a full disk under stdout: one line, exit 1, no stack trace", () => {
  const fd = openSync(FULL, "w");
  try {
    const r = spawnSync(process.execPath, ["bin/fixq.mjs", "inspect", "models/mlp.onnx", "--json"], { stdio: ["ignore", fd, "pipe"], encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
    expect(r.stderr).toBe("error: standard output: cannot write (ENOSPC)\n");
    expect(r.status).toBe(1);
  } finally {
    closeSync(fd);
  }
}, 60_000);
