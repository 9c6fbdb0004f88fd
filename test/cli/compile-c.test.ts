/**
 * `fixq compile --target c` as a user runs it: compile the bundled CNN
 * quantized by fixq, `make -C DIR`, run DIR/model_run on float32 samples, and
 * compare with `fixq emulate --out` / `--out-int` bit for bit; plus its
 * one-line usage errors. Skips the build without gcc/make (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { fixq } from "../helpers/fixq-cli.js";
import { expectHarnessEqualsEmulate, writeCnnFixture } from "./harness-vs-emulate.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-compile-c-");
afterAll(tmp.remove);
const path = (name: string) => join(tmp.dir, name);
const N = 100;

beforeAll(() => writeCnnFixture(tmp.dir, N));

describe("fixq compile --target c", () => {
  it.skipIf(!HAVE)("writes C that make builds with -Werror and whose model_run gives fixq emulate's exact floats and integers", () => {
    const r = fixq("compile", path("cnn.q.onnx"), "--target", "c", "-o", path("c"), "--prefix", "mnist");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/wrote .*model\.h.*model\.c.*: \d+ integer ops/);
    const header = readFileSync(path("c/model.h"), "utf8");
    expect(header).toMatch(/int mnist_run\(const float \*in0, float \*out0\);/);
    expect(header).toMatch(/int mnist_run_int\(const mnist_in0_t \*in0, mnist_out0_t \*out0\);/);
    expect(header).toMatch(/#define MNIST_IN0_SHAPE \{1, 28, 28\}/);
    expect(readFileSync(path("c/model.c"), "utf8")).not.toMatch(/\bmalloc\b|\bfloat\b.*\bop\d+_(conv|dense|requant)/);
    run("make", ["-s", "-C", path("c")]);
    expectHarnessEqualsEmulate(path("c/model_run"), tmp.dir);
  }, 240_000); // gcc -O3 of the dispatched model.c (its code compiled twice, cpu-dispatch.ts) on a loaded 2-core machine

  it.skipIf(!HAVE)("model_run: one line and exit 1 for a file that is not whole samples, exit 2 for bad usage; nothing written", () => {
    writeFileSync(path("bad.bin"), Buffer.alloc(784 * 4 + 3));
    const bad = () => run(path("c/model_run"), [path("bad.bin"), path("bad.out")]);
    expect(bad).toThrow(/bad\.bin: 3139 bytes is not a whole number of samples \(3136 bytes each: float32 \[1x28x28\]\)/);
    expect(existsSync(path("bad.out"))).toBe(false);
    expect(() => run(path("c/model_run"), [path("x.bin")])).toThrow(/usage: model_run IN\.bin OUT\.bin/);
  });

  it("errors: a prefix that is not a C identifier, --prefix without --target c", () => {
    const cases: [string[], RegExp][] = [
      [["compile", path("cnn.q.onnx"), "--target", "c", "-o", path("c2"), "--prefix", "9lives"], /--prefix expects a C identifier .* got '9lives'/],
      [["compile", path("cnn.q.onnx"), "--target", "js", "-o", path("js"), "--prefix", "m"], /--prefix applies to --target c and hls only/],
    ];
    for (const [args, message] of cases) {
      const r = fixq(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(path("c2"))).toBe(false);
  });
});
