/**
 * Shared by the suites that check a printed lane form (requant-avx2,
 * quantize-avx2) against numerics: the builds to try (the portable printed
 * loop; AVX2, also under ASan + UBSan, where this CPU runs it), and the
 * comparison of a program's int32 outputs against the expected ones.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { detectCpu } from "../../../src/runtime/cpu-features.js";
import { run } from "../../helpers/c-toolchain.js";

/** [name, cflags] of each build: portable always, AVX2 (at `opt`) and AVX2 under the sanitizers where the CPU has AVX2. */
export function laneBuilds(opt: string): [string, string][] {
  const avx2 = detectCpu().features.includes("avx2");
  return [
    ["portable", "-O2 -DFIXQ_PORTABLE"],
    ...(avx2
      ? ([
          ["AVX2", `${opt} -mavx2`],
          ["AVX2 under ASan + UBSan", "-O1 -g -mavx2 -fsanitize=address,undefined -fno-sanitize-recover=all"],
        ] as [string, string][])
      : []),
  ];
}

/**
 * Builds `source` in `dir` with the warnings of `gccFlags` and `cflags`, runs it as `exe IN OUT`
 * and counts its int32 outputs that differ from `want` (the first one described by `what`).
 */
export function laneMismatches(dir: string, source: string, input: string, name: string, gccFlags: readonly string[], cflags: string, want: Int32Array, what: (i: number, got: number) => string): { mismatches: number; first: string } {
  const exe = join(dir, `${name.replace(/\W+/g, "-")}`);
  run("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", ...gccFlags, ...cflags.split(" "), "-o", exe, join(dir, source), "-lm"]);
  run(exe, [join(dir, input), `${exe}.out`]);
  const got = new Int32Array(new Uint8Array(readFileSync(`${exe}.out`)).buffer);
  let bad = 0;
  let first = "";
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      if (!bad) first = what(i, got[i]!);
      bad++;
    }
  }
  return { mismatches: bad, first };
}

/** A main() that reads `total` values of `inT` from argv[1] into x, runs `calls` (filling int32_t out[]) and writes out to argv[2]. */
export function laneMain(inT: string, total: number, calls: readonly string[]): string {
  return `int main(int argc, char **argv) {
  static ${inT} x[${total}];
  static int32_t out[${total}];
  FILE *f = fopen(argv[1], "rb");
  if (argc < 3 || !f || fread(x, sizeof x, 1, f) != 1) return 1;
  fclose(f);
${calls.join("\n")}
  f = fopen(argv[2], "wb");
  if (!f || fwrite(out, sizeof out, 1, f) != 1) return 1;
  return fclose(f) != 0;
}
`;
}
