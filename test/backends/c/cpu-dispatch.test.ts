/**
 * Run-time CPU dispatch of the generated C (src/backends/c/cpu-dispatch.ts).
 * The splitter's classification (data, functions, directives) on small C
 * texts; then the cnn (default recipe) built with the Makefile's plain -O3
 * (no -march): run once on its default path (AVX2 where /proc/cpuinfo lists
 * avx2, detectCpu) and once with FIXQ_CPU=portable (the baseline, SSE2 bodies), both equal
 * the emulator bit for bit on eval images, random floats around the quantizer,
 * float edge values (exact halves, huge, ±∞, NaN, −0, denormals) and extreme
 * integer inputs; the same under -fsanitize=address,undefined; a
 * -DFIXQ_PORTABLE build (C bodies) and an -mavx2 build (no dispatch) agree too (-O0:
 * the optimised builds are above and in models.test.ts); and where the CPU lacks
 * AVX512-VNNI, its bodies are compile-checked only (-S: vpdpbusd / vpdpwssd emitted), else run.
 * Where clang is installed, its build (#pragma clang attribute) is checked the same way.
 * Skips without gcc/make (fails with FIXQ_REQUIRE_DATA=1).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitCode, splitTopLevel } from "../../../src/backends/c/cpu-dispatch.js";
import { type Program, sampleSize } from "../../../src/integer/program.js";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import type { Feeds } from "../js/check.js";
import { tallyBuilt } from "./check-c.js";
import { feeds, quantizeProgram } from "./feeds-c.js";
import { type Built, buildC } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const CPU_FLAGS = detectCpu().features;
const AVX2 = CPU_FLAGS.includes("avx2");
const VNNI = CPU_FLAGS.includes("avx512_vnni");
/** Clang where installed: optional (CI installs gcc only; the case is skipped there, even with FIXQ_REQUIRE_DATA=1). */
const CLANG = ["clang", "clang-14", "clang-15", "clang-16"].find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0);
if (!CLANG) console.warn("clang not found on PATH: skipping the optional clang dispatch case (CI installs gcc only)");

describe("splitting model.c's code part", () => {
  it("declarations go to the data part inside their conditionals; functions stay, named; non-static ones marked FIXQ_API", () => {
    const code = `#if A
#include <x.h>
#define M(a) f(a)
static const int T[2] = {1, 2};
#else
static const char *S = "};{";
#endif
/* a comment { */
static inline int f(int a) { return a + T[0]; }
struct args { int n; };
int api_run(const int *x, int n) {
  static const int P[1] = {0};
  return f(x[0]) + n + P[0];
}
#define LONG(a) \\
  do { a; } while (0)
`;
    const pieces = splitTopLevel(code);
    expect(pieces.filter((p) => p.kind === "function").map((p) => p.name)).toEqual(["f", "api_run"]);
    expect(pieces.filter((p) => p.kind === "data").map((p) => p.text.trim())).toEqual(["static const int T[2] = {1, 2};", 'static const char *S = "};{";', "struct args { int n; };"]);
    const s = splitCode(code);
    expect(s.names).toEqual(["f", "api_run"]);
    expect(s.data).toBe('#if A\n#include <x.h>\n#define M(a) f(a)\nstatic const int T[2] = {1, 2};\n#else\nstatic const char *S = "};{";\n#endif\nstruct args { int n; };\n#define LONG(a) \\\n  do { a; } while (0)\n');
    expect(s.code).toContain("FIXQ_API int api_run(const int *x, int n) {\n  static const int P[1] = {0};");
    expect(s.code).toContain("static inline int f(int a)");
    expect(s.code).not.toContain("T[2] =");
    expect(s.code).not.toContain("struct args {");
  });
});

describe.skipIf(!HAVE)("a plain -O3 build dispatches at run time, each path bit-exact with the emulator", () => {
  const tmp = tempDir("fixq-c-dispatch-");
  afterAll(tmp.remove);
  let p: Program;
  let sets: Feeds[];
  beforeAll(async () => {
    p = await quantizeProgram("cnn", {}, {});
    const input = p.inputs[0]!;
    const q = p.ops.find((op) => op.kind === "quantize")!;
    if (q.kind !== "quantize") throw new Error("no quantize");
    const size = sampleSize(input.shape);
    const s = q.scale;
    const edges = [0, -0, 0.5 * s, -0.5 * s, 1.5 * s, 2.5 * s, 127.5 * s, 128.5 * s, 254.5 * s, 255.5 * s, 1e30, -1e30, 3.4e38, Infinity, -Infinity, Number.NaN, 2 ** -149, -(2 ** -149), 2 ** -126, 1e-40];
    const x = Float32Array.from({ length: 8 * size }, (_, i) => edges[(i * 7 + Math.floor(i / size)) % edges.length]!);
    sets = [...feeds(p, 40, 3, 16, 4), { data: { [input.name]: x }, batch: 8 }];
  }, 120_000);

  /** Runs the checks of one build on its default path and with FIXQ_CPU=portable; returns the two paths' names. */
  function bothPaths(b: Built): { paths: string[]; mismatches: number[] } {
    const paths: string[] = [];
    const mismatches: number[] = [];
    const exe = join(b.dir, "model_run");
    for (const env of [undefined, "portable"]) {
      if (env) process.env["FIXQ_CPU"] = env;
      else delete process.env["FIXQ_CPU"];
      try {
        paths.push(run(exe, ["--cpu"]).trim());
        const t = tallyBuilt(b, sets);
        expect(t.compared).toBeGreaterThan(0);
        mismatches.push(t.floats + t.ints);
      } finally {
        delete process.env["FIXQ_CPU"];
      }
    }
    return { paths, mismatches };
  }

  it("Makefile's -O3 (-std=c99 -Wall -Wextra -Werror): both paths, 0 mismatches", () => {
    const r = bothPaths(buildC(p, tmp.fresh()));
    expect(r.mismatches).toEqual([0, 0]);
    expect(r.paths).toEqual([AVX2 ? "avx2 (dispatched)" : "baseline (dispatched)", "baseline (dispatched)"]);
  }, 240_000);

  it("under -fsanitize=address,undefined: both paths, 0 mismatches", () => {
    const r = bothPaths(buildC(p, tmp.fresh(), { cflags: "-O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all" }));
    expect(r.mismatches).toEqual([0, 0]);
    expect(r.paths[1]).toBe("baseline (dispatched)");
  }, 240_000);

  it("-DFIXQ_PORTABLE (the C bodies, no dispatch) and, on an AVX2 CPU, -mavx2 (compiled AVX2, no dispatch): 0 mismatches", () => {
    for (const cflags of ["-O0 -DFIXQ_PORTABLE", ...(AVX2 ? ["-O0 -mavx2"] : [])]) {
      const b = buildC(p, tmp.fresh(), { cflags });
      const t = tallyBuilt(b, sets);
      expect({ cflags, mismatches: t.floats + t.ints }).toEqual({ cflags, mismatches: 0 });
      expect(run(join(b.dir, "model_run"), ["--cpu"]).trim()).toBe(cflags.includes("PORTABLE") ? "baseline (compiled)" : "avx2 (compiled)");
    }
  }, 240_000);

  it.skipIf(!CLANG)(`clang (${CLANG ?? "absent"}) -O1: its pragma path dispatches too, both paths 0 mismatches`, () => {
    const r = bothPaths(buildC(p, tmp.fresh(), { cc: CLANG!, cflags: "-O1" }));
    expect(r.mismatches).toEqual([0, 0]);
    expect(r.paths).toEqual([AVX2 ? "avx2 (dispatched)" : "baseline (dispatched)", "baseline (dispatched)"]);
  }, 240_000);

  const VNNI_FLAGS = "-O0 -mavx2 -mavx512f -mavx512vnni -mavx512vl";
  it(`the AVX512-VNNI bodies (${VNNI_FLAGS}): ${VNNI ? "run, 0 mismatches" : "compile only (this CPU cannot run them)"}`, () => {
    const d = tmp.fresh();
    if (VNNI) {
      const t = tallyBuilt(buildC(p, d, { cflags: VNNI_FLAGS }), sets);
      expect(t.floats + t.ints).toBe(0);
      return;
    }
    buildC(p, d, { cflags: "-O0" }); // writes the files (and builds the default)
    run("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", ...VNNI_FLAGS.split(" "), "-S", "-o", join(d, "model.s"), join(d, "model.c")]);
    expect(readFileSync(join(d, "model.s"), "utf8")).toMatch(/vpdpbusd|vpdpwssd/);
  }, 240_000);
});
