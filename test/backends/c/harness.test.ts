/**
 * The generated harness (harness.ts: model_run, and the HLS testbench's
 * csim_run) never replaces its input: OUT.bin or --int OUT_INT.bin naming the
 * input file (the same path, a symlink or a hard link), or both outputs
 * naming one file, is one line on stderr and exit 2, with every file left as
 * it was. Skips without gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { spawnSync } from "node:child_process";
import { linkSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { I8, ProgramBuilder, U8 } from "../js/program-builder.js";
import { buildC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-harness-");
afterAll(tmp.remove);

/** x [1, 2, 2] → 1×1 conv to 1 channel → requant: 4 floats in, 4 out per sample. */
function tinyProgram() {
  const b = new ProgramBuilder("single");
  const x = b.input([1, 2, 2], U8, 0.02, 128);
  const acc = b.conv(x, { inputZero: 128, weight: Int32Array.of(3), weightShape: [1, 1, 1, 1], bias: Int32Array.of(5), strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 });
  b.output(b.requant(acc, [{ m: 1 << 30, s: 31 }], 0, I8, -3), 0.02);
  return b.build();
}

describe.skipIf(!HAVE)("model_run refuses an output that is its input", () => {
  it("same path, symlink, hard link, or --int equal to OUT.bin: exit 2, one line, nothing changed", () => {
    const dir = tmp.fresh();
    buildC(tinyProgram(), dir, { cflags: "-O1" });
    const exe = join(dir, "model_run");
    const input = join(dir, "x.bin");
    const bytes = new Uint8Array(new Float32Array([0.1, -0.2, 0.3, 1.5, 0, 0, 0.5, -1]).buffer);
    writeFileSync(input, bytes);
    symlinkSync(input, join(dir, "link.bin"));
    linkSync(input, join(dir, "hard.bin"));
    writeFileSync(join(dir, "y.bin"), "previous");
    const cases: [string[], RegExp][] = [
      [[input, input], /^model_run: .*x\.bin: is the same file as .*x\.bin; choose another output path$/],
      [[input, join(dir, "link.bin")], /link\.bin: is the same file as .*x\.bin/],
      [[input, join(dir, "hard.bin")], /hard\.bin: is the same file as .*x\.bin/],
      [[input, join(dir, "y.bin"), "--int", input], /x\.bin: is the same file as .*x\.bin/],
      [[input, join(dir, "y.bin"), "--int", join(dir, "y.bin")], /y\.bin: is the same file as .*y\.bin/],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(exe, args, { encoding: "utf8" });
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(new Uint8Array(readFileSync(input))).toEqual(bytes);
      expect(readFileSync(join(dir, "y.bin"), "utf8")).toBe("previous");
    }
    // a distinct output still works: 2 samples of 4 outputs
    run(exe, [input, join(dir, "y.bin"), "--int", join(dir, "yi.bin")]);
    expect(readFileSync(join(dir, "y.bin")).length).toBe(2 * 4 * 4);
    expect(new Uint8Array(readFileSync(input))).toEqual(bytes);
  }, 60_000);
});
