/**
 * `fixq compile --target hls` as a user runs it: compile the bundled CNN
 * quantized by fixq, `make -C DIR csim_run`, run DIR/csim_run on float32
 * samples, and compare with `fixq emulate --out` / `--out-int` bit for bit;
 * build.tcl carries --part and --clock; the reuse factors (--reuse-factor for
 * every layer, a recipe's `layers` rule for one) reach the code's pragmas and
 * the report; --io stream; plus the one-line usage errors.
 * Skips the build without g++/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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
    writeFileSync(path("reuse.json"), JSON.stringify({ layers: [{ match: { name: "/fc1/Gemm" }, reuseFactor: 18 }] }));
    const r = fixq("compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("hls"), "--prefix", "mnist", "--part", "xc7z020clg400-1", "--clock", "10", "--reuse-factor", "16", "--recipe", path("reuse.json"), "--io", "stream", "--report");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/HLS resource ESTIMATES/);
    // fc1: 73728 weights at R = 18 → 4096 multipliers, II 18; fc2 at R = 16
    expect(r.stdout).toMatch(/^Gemm '\/fc1\/Gemm' +dense +18 +4096 .* 18 +18$/m);
    expect(r.stdout).toMatch(/^Gemm '\/fc2\/Gemm' +dense +16 /m);
    const layers = readFileSync(path("hls/firmware/fixq_layers.h"), "utf8");
    expect(layers).toMatch(/#pragma HLS PIPELINE II=18\n#pragma HLS ALLOCATION operation instances=mul limit=4096\n/);
    expect(readFileSync(path("hls/firmware/fixq_top.cpp"), "utf8")).toMatch(/#pragma HLS INTERFACE mode=axis port=in0\n#pragma HLS INTERFACE mode=axis port=out0\n#pragma HLS DATAFLOW/);
    const tcl = readFileSync(path("hls/build.tcl"), "utf8");
    expect(tcl).toMatch(/^set_top mnist_top$/m);
    expect(tcl).toMatch(/^set_part \{xc7z020clg400-1\}$/m);
    expect(tcl).toMatch(/^create_clock -period 10 /m);
    expect(tcl).toMatch(/^catch \{config_array_partition -maximum_size 4096\}$/m);
    const top = readFileSync(path("hls/firmware/fixq_top.h"), "utf8");
    // the CNN's input quantizer is int8 or uint8: an 8-bit port
    expect(top).toMatch(/typedef ap_u?int<8> mnist_hls_in0_t;/);
    run("make", ["-s", "-C", path("hls"), "csim_run"]);
    expectHarnessEqualsEmulate(path("hls/csim_run"), tmp.dir);
    expect(() => run(path("hls/csim_run"), [path("x.bin")])).toThrow(/usage: csim_run IN\.bin OUT\.bin/);
  }, 180_000); // two CLI runs and a g++ build: ~30 s, over a minute on a loaded 2-core machine

  it("errors: a bad clock or part, --part without --target hls, a reuse factor over the partition limit; nothing written", () => {
    const cases: [string[], RegExp][] = [
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--clock", "0"], /--clock expects a positive period in ns, got '0'/],
      [["compile", path("cnn.q.onnx"), "--target", "c", "-o", path("h2"), "--part", "xc7z020clg400-1"], /--part, --clock, --reuse-factor, --recipe, --io and --hls-types apply to --target hls only/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--io", "axi"], /--io expects parallel or stream, got 'axi'/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--hls-types", "fixed"], /--hls-types expects ap or stdint, got 'fixed'/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--reuse-factor", "32"], /^error: Conv '[^']+': --reuse-factor 32 does not divide its 144 weights; valid factors: 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 36, 48, 72, 144\n$/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--recipe", path("none.json")], /'layers\[0\]' sets reuseFactor but matches no node of the model/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--part", "x;rm"], /--part expects a part name .* got 'x;rm'/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--part", "foo"], /^error: --part 'foo' is not an AMD\/Xilinx part number \(.*e\.g\. xcvu9p-flga2104-2-e or xc7z020clg400-1\)\n$/],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--reuse-factor", "1"], /^error: (Conv|Gemm) '.*': reuse factor 1 partitions its weights in \d+ banks, over the 4096 limit of config_array_partition; /],
      [["compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--reuse-factor", "0"], /--reuse-factor expects a positive integer, got '0'/],
    ];
    writeFileSync(path("none.json"), JSON.stringify({ layers: [{ match: { name: "/nothing/*" }, reuseFactor: 2 }] }));
    for (const [args, message] of cases) {
      const r = fixq(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    const missing = fixq("compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--recipe", path("no-such.json"));
    expect([missing.status, missing.stderr]).toEqual([1, `error: --recipe ${path("no-such.json")}: no such file\n`]);
    // a known family without package and speed grade: a warning, then the run goes on (here to the missing recipe)
    const partial = fixq("compile", path("cnn.q.onnx"), "--target", "hls", "-o", path("h2"), "--part", "xcvu9p", "--recipe", path("no-such.json"));
    expect(partial.status).toBe(1);
    expect(partial.stderr).toMatch(/^warning: --part 'xcvu9p' has a known family but no package and speed grade recognised .*\nerror: --recipe .*: no such file\n$/);
    expect(existsSync(path("h2"))).toBe(false);
  }, 120_000); // eleven CLI runs: ~25 s, over a minute on a loaded 2-core machine
});
