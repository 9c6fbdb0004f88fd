/**
 * Run-time CPU dispatch of the generated C (src/backends/c/cpu-dispatch.ts):
 * model.c composed from its parts (c-parts.ts), data once and code once per
 * CPU path. First the composition on a small hand-written part list, built
 * and run on both paths; then cnn's model.c (default recipe): each op function
 * defined once per path, each constant table and activation array once.
 * Then cnn's builds beyond the Makefile's plain -O3 (which models.test.ts
 * runs on both paths for every bundled model): under
 * -fsanitize=address,undefined on both paths, each bit-exact with the
 * emulator on eval images, random floats around the quantizer, float edge
 * values (exact halves, huge, ±∞, NaN, −0, denormals) and extreme integer
 * inputs; a -DFIXQ_PORTABLE build (C bodies) and an -mavx2 build (no
 * dispatch) agree too (-O0); where the CPU lacks AVX512-VNNI, its bodies are
 * compile-checked only (-S: vpdpbusd / vpdpwssd emitted), else run. Where
 * clang is installed, its build (#pragma clang attribute) is checked the same
 * way. The compiling cases skip without gcc/make (fail with FIXQ_REQUIRE_DATA=1).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CParts } from "../../../src/backends/c/c-parts.js";
import { composeCpuPaths, DISPATCH_CONFIG } from "../../../src/backends/c/cpu-dispatch.js";
import { emitC } from "../../../src/backends/c/emit.js";
import type { Program } from "../../../src/integer/program.js";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import type { Feeds } from "../js/check.js";
import { tallyBuilt, tallyEach } from "./check-c.js";
import { edgeFeeds, feeds, quantizeProgram } from "./feeds-c.js";
import { type Built, buildC, cpuPathName, cpuPaths } from "./run-c.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const CPU_FLAGS = detectCpu().features;
const AVX2 = CPU_FLAGS.includes("avx2");
const VNNI = CPU_FLAGS.includes("avx512_vnni");
/** The paths a plain build takes: dispatched on x86-64 (gcc ≥ 5), one compiled baseline pass elsewhere. */
const PATHS = process.arch === "x64" ? [AVX2 ? "avx2 (dispatched)" : "baseline (dispatched)", "baseline (dispatched)"] : ["baseline (compiled)", "baseline (compiled)"];
/** Clang where installed: optional (CI installs gcc only; the case is skipped there, even with FIXQ_REQUIRE_DATA=1). */
const CLANG = ["clang", "clang-14", "clang-15", "clang-16"].find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0);
if (!CLANG) console.warn("clang not found on PATH: skipping the optional clang dispatch case (CI installs gcc only)");

/** Occurrences of `needle` in `s`. */
const count = (s: string, needle: string) => s.split(needle).length - 1;

describe("composing model.c from its parts", () => {
  // a table (data), a helper reading it and an API function (code); the API function is what the wrappers pick between
  const parts: CParts = {
    data: ["static const int32_t T[2] = {40, 2};"],
    code: [
      { text: "static int32_t f(int32_t a) {\n#if FIXQ_USE_AVX2\n  return a + T[0] + 1000;\n#else\n  return a + T[0];\n#endif\n}", functions: ["f"] },
      { text: "FIXQ_API int toy_run(const int32_t *x, int32_t *y) {\n  *y = f(*x) + T[1];\n  return 0;\n}", functions: ["toy_run"] },
    ],
  };
  const api = [{ ret: "int", name: "toy_run", params: [{ type: "const int32_t *", name: "x" }, { type: "int32_t *", name: "y" }] }];
  const cpu = { ret: "const char *", name: "toy_cpu", params: [] };
  const body = composeCpuPaths(parts, api, cpu);

  it("prints the data once, the code twice (once per pass, its functions renamed per pass), and a wrapper per API function", () => {
    expect(count(body, "static const int32_t T[2] = {40, 2};")).toBe(1);
    expect(count(body, parts.code[0]!.text)).toBe(2);
    expect(count(body, parts.code[1]!.text)).toBe(2);
    for (const name of ["f", "toy_run"]) for (const pass of ["avx2", "port"]) expect(count(body, `#define ${name} ${name}_${pass}\n`)).toBe(1);
    expect(body).toContain("int toy_run(const int32_t *x, int32_t *y) {\n  return fixq_pick() ? toy_run_avx2(x, y) : toy_run_port(x, y);\n}");
    expect(count(body, "const char *toy_cpu(void) {")).toBe(3); // dispatched, compiled AVX2, compiled baseline
  });

  it.skipIf(!HAVE)("compiles with -std=c99 -Wall -Wextra -Werror and each path runs its own body (FIXQ_CPU=portable: the baseline's)", () => {
    const tmp = tempDir("fixq-c-compose-");
    try {
      const main = `#include <stdint.h>
#include <stdio.h>
#include <string.h>
${DISPATCH_CONFIG}
${body}
int main(void) {
  const int32_t x = 1;
  int32_t y = 0;
  if (toy_run(&x, &y) != 0) return 1;
  printf("%s %d\\n", toy_cpu(), (int)y);
  return 0;
}
`;
      writeFileSync(join(tmp.dir, "toy.c"), main);
      const exe = join(tmp.dir, "toy");
      run("gcc", ["-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-o", exe, join(tmp.dir, "toy.c")]);
      const out = [run(exe, []).trim(), run(exe, [], { env: { ...process.env, FIXQ_CPU: "portable" } }).trim()];
      // the default path: AVX2's body (1 + 40 + 1000 + 2) where the CPU has it; the baseline's (1 + 40 + 2) otherwise and when forced
      expect(out).toEqual([`${PATHS[0]} ${PATHS[0]!.startsWith("avx2") ? 1043 : 43}`, `${PATHS[1]} 43`]);
    } finally {
      tmp.remove();
    }
  });
});

describe("cnn's model.c (default recipe)", () => {
  let p: Program;
  let c: string;
  beforeAll(async () => {
    p = await quantizeProgram("cnn", {}, {}, 64);
    c = emitC(p).get("model.c")!;
  }, 120_000);

  it("defines each op's one-sample and batch function once per CPU path", () => {
    for (const [i, op] of p.ops.entries()) expect({ op: i, definitions: count(c, `static int op${i}_${op.kind}(`) }).toEqual({ op: i, definitions: 2 });
    const tiles = [...c.matchAll(/^static int (tile\d+_\w+)\(/gm)].map((m) => m[1]!);
    expect(tiles.length).toBeGreaterThan(p.ops.length); // each printed twice, a conv and its requant fused into one
    for (const t of new Set(tiles)) expect({ t, definitions: count(c, `static int ${t}(`) }).toEqual({ t, definitions: 2 });
  });

  it("declares each file-scope constant table and activation array once, before the first pass", () => {
    const pass1 = c.indexOf("/* pass 1: the AVX2 bodies */");
    expect(pass1).toBeGreaterThan(0);
    // file scope: at the start of a line (a function's own static tables are indented)
    const decls = [...c.matchAll(/^static (?:const |FIXQ_TLS )?[\w ]+? (\w+)\[\d+\]( = |;)/gm)];
    const names = decls.map((m) => m[1]!);
    const convs = p.ops.flatMap((op, i) => (op.kind === "conv" ? [i] : []));
    expect(convs.length).toBeGreaterThan(1);
    // the one-sample weights, a batch conv's offsets and weight copy, the activation pools
    expect(names).toEqual(expect.arrayContaining([...convs.map((i) => `W${i}`), `OFF${convs[1]}`, `WT${convs[1]}`, "fixq_pool_uint8_t", "fixq_tpool_uint8_t"]));
    expect(names.length).toBe(new Set(names).size);
    for (const m of decls) expect({ name: m[1], beforePass1: m.index < pass1 }).toEqual({ name: m[1], beforePass1: true });
  });

  it("defines the API functions in each pass, and a wrapper for each", () => {
    for (const f of ["run", "run_int", "quantize", "dequantize", "run_full", "run_batch", "run_batch_int", "run_batch_full"]) {
      expect({ f, definitions: count(c, `FIXQ_API int fixq_${f}(`) }).toEqual({ f, definitions: 2 });
      expect({ f, wrappers: count(c, `? fixq_${f}_avx2(`) }).toEqual({ f, wrappers: 1 });
    }
  });
});

describe.skipIf(!HAVE)("cnn's builds beyond the plain -O3, each bit-exact with the emulator", () => {
  const tmp = tempDir("fixq-c-dispatch-");
  afterAll(tmp.remove);
  let p: Program;
  let sets: Feeds[];
  beforeAll(async () => {
    p = await quantizeProgram("cnn", {}, {});
    sets = [...feeds(p, 40, 3, 16, 4), edgeFeeds(p)];
  }, 120_000);

  /** Both paths of a dispatched build: their names and mismatch counts. */
  function bothPaths(b: Built): { paths: string[]; mismatches: number[] } {
    const paths = cpuPaths(b);
    const tallies = tallyEach(paths, sets);
    for (const t of tallies) expect(t.compared).toBeGreaterThan(0);
    return { paths: paths.map(cpuPathName), mismatches: tallies.map((t) => t.floats + t.ints) };
  }

  it("under -fsanitize=address,undefined: both paths, 0 mismatches", () => {
    const r = bothPaths(buildC(p, tmp.fresh(), { cflags: "-O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all" }));
    expect(r.mismatches).toEqual([0, 0]);
    expect(r.paths).toEqual(PATHS);
  }, 240_000);

  it("-DFIXQ_PORTABLE (the C bodies, no dispatch) and, on an AVX2 CPU, -mavx2 (compiled AVX2, no dispatch): 0 mismatches", () => {
    for (const cflags of ["-O0 -DFIXQ_PORTABLE", ...(AVX2 ? ["-O0 -mavx2"] : [])]) {
      const b = buildC(p, tmp.fresh(), { cflags });
      const t = tallyBuilt(b, sets);
      expect({ cflags, mismatches: t.floats + t.ints }).toEqual({ cflags, mismatches: 0 });
      expect(cpuPathName(b)).toBe(cflags.includes("PORTABLE") ? "baseline (compiled)" : "avx2 (compiled)");
    }
  }, 240_000);

  it.skipIf(!CLANG)(`clang (${CLANG ?? "absent"}) -O1: its pragma path dispatches too, both paths 0 mismatches`, () => {
    const r = bothPaths(buildC(p, tmp.fresh(), { cc: CLANG!, cflags: "-O1" }));
    expect(r.mismatches).toEqual([0, 0]);
    expect(r.paths).toEqual(PATHS);
  }, 240_000);

  const VNNI_FLAGS = "-O0 -mavx2 -mavx512f -mavx512vnni -mavx512vl";
  it(`the AVX512-VNNI bodies (${VNNI_FLAGS}): ${VNNI ? "run, 0 mismatches" : "compile only (this CPU cannot run them)"}`, () => {
    const d = tmp.fresh();
    if (VNNI) {
      const t = tallyBuilt(buildC(p, d, { cflags: VNNI_FLAGS }), sets);
      expect(t.floats + t.ints).toBe(0);
      return;
    }
    for (const [rel, text] of emitC(p)) writeFileSync(join(d, rel), text);
    run("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", ...VNNI_FLAGS.split(" "), "-S", "-o", join(d, "model.s"), join(d, "model.c")]);
    expect(readFileSync(join(d, "model.s"), "utf8")).toMatch(/vpdpbusd|vpdpwssd/);
  }, 240_000);
});
