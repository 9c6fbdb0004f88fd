/**
 * `fixq compile --target hls` as a user runs it: compile the bundled CNN
 * quantized by fixq, `make -C DIR csim_run`, run DIR/csim_run on float32
 * samples, and compare with `fixq emulate --out` / `--out-int` bit for bit;
 * build.tcl carries --part and --clock; plus the one-line usage errors.
 * Skips the build without g++/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { fixq } from "../helpers/fixq-cli.js";
import { expectHarnessEqualsEmulate, writeCnnFixture } from "./harness-vs-emulate.js";

const HAVE = toolAvailable("gcc") && toolAvailable("g++") && toolAvailable("make");
const tmp = tempDir("fixq-compile-hls-");
afterAll(tmp.remove);
const path = (name: string) => join(tmp.dir, name);
const N = 30;

beforeAll(() => writeCnnFixture(tmp.dir, N));

describe("fixq compile --target hls", () => {
  it.skipIf(!HAVE)("writes a project whose csim_run gives fixq emulate's exact floats and integers", () => {
    const r = fixq("compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("hls"), "--prefix", "mnist", "--part", "xc7z020clg400-1", "--clock", "10", "--reuse-factor", "18", "--report");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/HLS resource ESTIMATES/);
    expect(r.stdout).toMatch(/^Gemm '\/fc1\/Gemm' +dense +18 /m);
    const tcl = readFileSync(path("hls/build.tcl"), "utf8");
    expect(tcl).toMatch(/^set_top mnist_top$/m);
    expect(tcl).toMatch(/^set_part \{xc7z020clg400-1\}$/m);
    expect(tcl).toMatch(/^create_clock -period 10 /m);
    expect(tcl).toMatch(/^config_array_partition -maximum_size 4096$/m);
    const top = readFileSync(path("hls/firmware/fixq_top.h"), "utf8");
    // the CNN's input quantizer is int8 or uint8: an 8-bit port
    expect(top).toMatch(/typedef ap_u?int<8> mnist_hls_in0_t;/);
    expect(readFileSync(path("hls/firmware/fixq_top.cpp"), "utf8")).toMatch(/#pragma HLS INTERFACE mode=s_axilite port=return/);
    run("make", ["-s", "-C", path("hls"), "csim_run"]);
    expectHarnessEqualsEmulate(path("hls/csim_run"), tmp.dir);
    expect(() => run(path("hls/csim_run"), [path("x.bin")])).toThrow(/usage: csim_run IN\.bin OUT\.bin/);
  });

  it("errors: a bad clock or part, --part without --target hls, a reuse factor over the partition limit; nothing written", () => {
    const cases: [string[], RegExp][] = [
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--clock", "0"], /--clock expects a positive period in ns, got '0'/],
      [["compile", path("cnn.q.onnx"), "--target", "c", "-o", path("h2"), "--part", "xc7z020clg400-1"], /--part, --clock and --reuse-factor apply to --target hls only/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--part", "x;rm"], /--part expects a part name .* got 'x;rm'/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--reuse-factor", "1"], /^error: Conv '.*': reuse factor 1 needs \d+ weights partitioned in parallel, over the 4096 limit/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--reuse-factor", "0"], /--reuse-factor expects a positive integer, got '0'/],
    ];
    for (const [args, message] of cases) {
      const r = fixq(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(path("h2"))).toBe(false);
  });
});
