/**
 * `fixq compile --target hls` as a user runs it: compile the bundled CNN
 * quantized by fixq, `make -C DIR csim_run`, run DIR/csim_run on float32
 * samples, and compare with `fixq emulate --out` / `--out-int` bit for bit;
 * build.tcl carries --part and --clock; the reuse factors (--reuse-factor for
 * every layer, a recipe's `layers` rule for one) reach the code's pragmas and
 * the report; --io stream; plus the usage errors (their messages in-process,
 * one through the CLI: exit 2, one line, nothing written).
 * Skips the build without g++/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { type CompileOptions, runCompile } from "../../src/cli/compile.js";
import { FixqError } from "../../src/ir/errors.js";
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

  // each usage error's message in-process (runCompile: a CLI start costs ~2.5 s of CPU); then one through
  // the CLI, checked after loading the model and planning the layers: exit 2, one line, nothing written
  // (main.ts maps every usage error runCompile throws the same way)
  it("errors: a bad clock or part, --part without --target hls, a reuse factor over the partition limit; nothing written", async () => {
    const model = path("cnn.q.onnx");
    const hls = (o: CompileOptions): CompileOptions => ({ target: "hls", output: path("h2"), rounding: "single", multiplierBits: "31", ...o });
    const cases: [CompileOptions, RegExp][] = [
      [hls({ clock: "0" }), /^--clock expects a positive period in ns, got '0'$/],
      [hls({ target: "c", part: "xc7z020clg400-1" }), /^--part, --clock, --reuse-factor, --recipe, --io and --hls-types apply to --target hls only$/],
      [hls({ io: "axi" }), /^--io expects parallel or stream, got 'axi'$/],
      [hls({ hlsTypes: "fixed" }), /^--hls-types expects ap or stdint, got 'fixed'$/],
      [hls({ reuseFactor: "32" }), /^Conv '[^']+': --reuse-factor 32 does not divide its 144 weights; valid factors: 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 36, 48, 72, 144$/],
      [hls({ recipe: path("none.json") }), /'layers\[0\]' sets reuseFactor but matches no node of the model$/],
      [hls({ part: "x;rm" }), /^--part expects a part name .* got 'x;rm'$/],
      [hls({ reuseFactor: "1" }), /^(Conv|Gemm) '.*': reuse factor 1 partitions its weights in \d+ banks, over the 4096 limit of config_array_partition; /],
      [hls({ reuseFactor: "0" }), /^--reuse-factor expects a positive integer, got '0'$/],
    ];
    writeFileSync(path("none.json"), JSON.stringify({ layers: [{ match: { name: "/nothing/*" }, reuseFactor: 2 }] }));
    for (const [opts, message] of cases) {
      const e = await runCompile(model, opts).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(FixqError);
      expect({ opts, code: (e as FixqError).code }).toEqual({ opts, code: "usage" });
      expect((e as FixqError).message).toMatch(message);
    }
    expect(existsSync(path("h2"))).toBe(false);
    const r = fixq("compile", model, "--target", "hls", "-o", path("h2"), "--reuse-factor", "32");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: Conv '[^']+': --reuse-factor 32 does not divide its 144 weights; valid factors: 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 36, 48, 72, 144\n$/);
    expect(existsSync(path("h2"))).toBe(false);
  });
});
