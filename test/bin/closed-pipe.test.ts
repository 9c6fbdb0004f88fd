/**
 * bin/fixq.mjs when its reader goes away (`fixq quantize --help | head -1`):
 * the write to the closed pipe ends the process quietly with the command's
 * own status, as Unix tools do, instead of an unhandled EPIPE stack trace.
 */
import { spawn } from "node:child_process";
import { expect, it } from "vitest";

it("exits quietly with status 0 when stdout is closed before the help is written", async () => {
  const child = spawn(process.execPath, ["bin/fixq.mjs", "quantize", "--help"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
  child.stdout.destroy(); // the reader is gone before fixq has started
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
  expect(stderr).toBe("");
  expect(status).toBe(0);
}, 60_000);
