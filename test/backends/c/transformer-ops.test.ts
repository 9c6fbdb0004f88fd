/**
 * The transformer ops' C text (shared/transformer-c.ts restates the kernels
 * of numerics/transformer.ts and numerics/gather.ts) against the emulator,
 * which runs those kernels: one hand-built program with every op (matmuls of
 * uint8 × int8 and of int16 × int16 whose sums pass 2^31 and wrap as an int32
 * store does, tables over every int8 code, softmax over rows of 16 and 7 with
 * a clamp that bites, layernorm over 64 and 5 channels with negative β and an
 * int16 output, RMSNorm (the layernorm op with a zero point for its mean) over 16
 * uint8 and 5 int8 channels, addconst with shifts 0 and > 0 and negative sums, gather with
 * negative ids, slices along two axes), on random floats, integers over each
 * input's whole range and the saturating patterns. Built once with
 * -fsanitize=address,undefined (no recovery, at -O0: the checks are inserted before optimisation) and -Wconversion
 * -Wsign-conversion under -Werror. The runtime's integer square root and
 * floor division are checked against their definitions (r² ≤ n < (r+1)²,
 * qb ≤ a < qb + b) at edges and on random operands, and the reciprocal
 * division (fixq_div_clamp) against floor division and clamp over divisors of
 * every bit length. model_run runs the batch functions, so the bits check
 * covers their lane forms (c/tile-transformer.ts); one more case checks that
 * they are the ones printed. Skips without gcc/make
 * (fails with FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import { checkC, emitC } from "../../../src/backends/c/emit.js";
import { softmaxParams } from "../../../src/numerics/transformer-params.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { C_RUNTIME } from "../../../src/backends/shared/print-c.js";
import { TRANSFORMER_RUNTIME } from "../../../src/backends/shared/transformer-c.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { allFeeds } from "../js/feeds.js";
import { I8, ProgramBuilder, U8 } from "../js/program-builder.js";
import { tallyC } from "./check-c.js";
import { push, transformerOpsProgram } from "./transformer-programs.js";

const HAVE = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-c-transformer-ops-");
afterAll(tmp.remove);

describe.skipIf(!HAVE)("the transformer ops' C text equals the emulator", () => {
  it("every op, random, full-range and saturating feeds, under the sanitizers and -Wconversion", () => {
    const p = transformerOpsProgram();
    expect(checkC(p)).toEqual([]);
    const t = tallyC(p, tmp.dir, allFeeds(p, 3), "-O0 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Wconversion -Wsign-conversion");
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(1000);
  }, 120_000);

  it("the runtime's integer square root and floor division: floor(sqrt(n)) at squares ± 1 (every root to 2^16, random roots to 2^31) and random n < 2^62; floor(a / b) on signs and edges; fixq_div_clamp against floor division and clamp", () => {
    const main = `#include <stdint.h>
#include <stdio.h>
${C_RUNTIME}
${TRANSFORMER_RUNTIME}
static uint64_t state = 88172645463325252u;
static uint64_t next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }
static int bad_sqrt(int64_t n) {
  const int64_t r = fixq_isqrt64(n);
  return !(r >= 0 && r * r <= n && (r + 1) * (r + 1) > n);
}
int main(void) {
  long fails = 0, checked = 0;
  for (int64_t k = 0; k < (1 << 16) + 200000; k++) {
    const int64_t r = k < (1 << 16) ? k : (int64_t)(next() >> 33), sq = r * r;
    fails += bad_sqrt(sq) + bad_sqrt(sq + 1) + (sq > 0 ? bad_sqrt(sq - 1) : 0);
    checked += 3;
  }
  for (int i = 0; i < 200000; i++, checked++) fails += bad_sqrt((int64_t)(next() >> 2));
  fails += bad_sqrt(((int64_t)1 << 62) - 1) + bad_sqrt(((int64_t)1 << 52) - 1);
  for (int i = 0; i < 200000; i++, checked++) {
    const int64_t a = (int64_t)(next() >> 12) - ((int64_t)1 << 51), b = (int64_t)(next() >> 40) + 1;
    const int64_t q = fixq_floordiv(a, b);
    fails += !(q * b <= a && a < q * b + b);
  }
  fails += fixq_floordiv(-1, 2) != -1 || fixq_floordiv(-4, 2) != -2 || fixq_floordiv(3, 2) != 1 || fixq_floordiv(0, 5) != 0;
  /* fixq_div_clamp = clamp(floor(n / d), qlo, qhi) within its bounds (W <= 2^16, max(|qlo|, |qhi + 1|, W + 1)·d < 2^63):
     u8-like and int16-like clamps, divisors of every bit length to 2^46 (and to 2^62 / 2^17 for the int16 one), n around the clamp's edges and far past them */
  for (int i = 0; i < 400000; i++, checked++) {
    const int wide = i & 1;
    const int64_t qlo = wide ? -32768 : -(int64_t)(next() % 256), qhi = wide ? 32767 : qlo + 255;
    const int bits = 1 + (int)(next() % (wide ? 45 : 46));
    const int64_t d = (int64_t)(next() >> (64 - bits)) | ((int64_t)1 << (bits - 1));
    const int64_t span = (qhi - qlo + 3) * d, n = (qlo - 1) * d + (int64_t)(next() % (uint64_t)span) + (i % 7 == 0 ? (int64_t)(next() % 3) - 1 : 0);
    int64_t want = fixq_floordiv(n, d);
    want = want < qlo ? qlo : want > qhi ? qhi : want;
    fails += fixq_div_clamp(n, fixq_recip_of(d), qlo, qhi) != want;
  }
  fails += fixq_div_clamp(INT64_MIN / 2, fixq_recip_of(7), -5, 5) != -5 || fixq_div_clamp(INT64_MAX / 2, fixq_recip_of(7), -5, 5) != 5 || fixq_div_clamp(-1, fixq_recip_of(1), -3, 3) != -1;
  printf("%ld checked, %ld failures\\n", checked, fails);
  return 0;
}
`;
    writeFileSync(join(tmp.dir, "runtime.c"), main);
    run("gcc", ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined", "-fno-sanitize-recover=all", "-o", join(tmp.dir, "runtime"), join(tmp.dir, "runtime.c")]);
    expect(run(join(tmp.dir, "runtime"), [])).toMatch(/^\d+ checked, 0 failures/);
  }, 60_000);

  it("the batch functions print the fast forms this suite's bits check: lane matmul, int32-lane addconst, reciprocal division in layernorm and softmax, AVX2 layernorm rows", () => {
    const c = emitC(transformerOpsProgram()).get("model.c")!;
    expect(c).toContain("int32 sums, 16 samples");
    expect(c).toContain("in int32 lanes");
    expect((c.match(/fixq_div_clamp\(n, R,/g) ?? []).length).toBeGreaterThanOrEqual(2 * 6); // 2 softmax + 4 layernorm ops, in both CPU passes
    expect((c.match(/without a division \(layernorm-avx2\.ts\)/g) ?? []).length).toBe(2 * 4); // every layernorm's AVX2 rows (uint8, int8 and int16 outputs)
  });

  it("refuses a softmax whose exp table does not cover its input's span, naming the op", () => {
    const b = new ProgramBuilder();
    const x = b.input([4], I8, Math.fround(0.1), 0);
    const sp = softmaxParams(0.1, 100, 1 / 256, 4)!;
    b.output(push(b, (out) => ({ kind: "softmax", source: "Softmax '/sm'", input: x, output: out, ...sp, outZero: 0, clampLo: 0, clampHi: 255 }), [4], U8), Math.fround(1 / 256));
    const p = b.build();
    expect(checkC(p).map((d) => d.message)).toEqual(["its exp table covers differences 0…100, not the input's 0…255"]);
    expect(() => emitC(p)).toThrow(/c back end cannot run softmax op 1/);
  });
});
