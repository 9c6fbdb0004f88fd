/**
 * writeFileAtomic onto a pipe (a FIFO, or a symlink to one, as /dev/stdout
 * and /dev/fd/N are): the bytes go through the pipe to its reader and the
 * pipe stays a pipe. A temporary file renamed over it would replace it with
 * a regular file and leave the reader waiting. A regular file is still
 * replaced atomically. Needs mkfifo (POSIX); skipped with a notice without it.
 */
import { spawn, spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/ir/atomic-write.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-atomic-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const HAVE_MKFIFO = spawnSync("mkfifo", ["--version"], { stdio: "ignore" }).status === 0;
if (!HAVE_MKFIFO) console.warn("mkfifo not found: skipping the pipe tests");

/** Starts a reader of `path` (cat, at most 20 s) and resolves to what it read. */
function reader(path: string): Promise<string> {
  const child = spawn("timeout", ["20", "cat", path], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve) => child.on("close", () => resolve(out)));
}

describe("writeFileAtomic", () => {
  it.skipIf(!HAVE_MKFIFO)("writes through a FIFO and a symlink to one, leaving them in place", async () => {
    const fifo = join(tmp, "pipe");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const link = join(tmp, "stdout-like");
    symlinkSync(fifo, link);
    for (const target of [fifo, link]) {
      const got = reader(fifo);
      writeFileAtomic(target, new TextEncoder().encode(`{"to": "${target}"}\n`));
      expect(await got).toBe(`{"to": "${target}"}\n`);
      expect(statSync(fifo).isFIFO()).toBe(true);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
    }
    expect(readdirSync(tmp).sort()).toEqual(["pipe", "stdout-like"]); // no temporary file left
  }, 60_000);

  it("replaces a regular file whole", () => {
    const f = join(tmp, "plain.json");
    writeFileSync(f, "old contents, longer than the new ones");
    writeFileAtomic(f, [new TextEncoder().encode("new"), new TextEncoder().encode("\n")]);
    expect(readFileSync(f, "utf8")).toBe("new\n");
    expect(readdirSync(tmp).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});
