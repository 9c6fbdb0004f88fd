/**
 * The fixed-point rescale is what HLS computes on an ap_fixed assignment:
 * for an exact sum t and shift s, `ap_fixed<W,W,Q,O> y = ldexp(t, -s)` (and
 * ap_ufixed) holds, as its raw value, numerics' fixedRescale(t, s) into
 * W bits with modes Q and O (numerics/fixed-rescale.ts), compiled here with
 * g++ against fixq's ap_types headers (the subset they implement: W ≤ 32,
 * N = 0, no AP_WRAP_SM), over ties, range edges and wrap periods of every
 * rounding × overflow mode. Xilinx's headers give the same bits by the same
 * documented semantics (UG1399). Skips without g++ (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AP_FIXED_H, AP_INT_H } from "../../../src/backends/hls/ap-types.js";
import { type FixedCastSpec, fixedRescale } from "../../../src/numerics/fixed-rescale.js";
import type { OverflowMode } from "../../../src/numerics/overflow.js";
import { FIXED_ROUND_MODES } from "../../../src/numerics/rounding.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";

const HAVE = toolAvailable("g++") || process.env.FIXQ_REQUIRE_DATA === "1";
if (!HAVE) console.warn("fixed-cast.test: g++ missing; skipped");
const tmp = tempDir("fixq-fixed-cast-");
afterAll(tmp.remove);

const OVERFLOW: readonly OverflowMode[] = ["AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP"];

/** Sums around ties, the W-bit range edges and a wrap period, for shift s. */
function sums(bits: number, s: number): number[] {
  const p = 2 ** s;
  const out: number[] = [];
  for (const k of [0, 1, 2, 5, 2 ** (bits - 1) - 1, 2 ** (bits - 1), 2 ** bits - 1, 2 ** bits, 3 * 2 ** bits + 7]) {
    for (const d of s === 0 ? [0] : [0, 1, p / 2 - 1, p / 2, p / 2 + 1, p - 1]) for (const sign of [1, -1]) out.push(sign * (k * p + d));
  }
  return out;
}

describe.skipIf(!HAVE)("ap_fixed assignment in HLS C++ = numerics' fixed rescale", () => {
  it("every rounding and overflow mode, signed and unsigned, W = 8, 12, 16", () => {
    const cases: { cast: FixedCastSpec; s: number; t: number }[] = [];
    const blocks: string[] = [];
    for (const round of FIXED_ROUND_MODES) {
      for (const overflow of OVERFLOW) {
        for (const [bits, signed] of [[8, true], [12, true], [16, true], [8, false]] as const) {
          const cast: FixedCastSpec = { bits, signed, round, overflow, satBits: 0 };
          const mine = [0, 1, 4, 13].flatMap((s) => sums(bits, s).map((t) => ({ cast, s, t })));
          cases.push(...mine);
          // one loop per type: the modes are template arguments, the values data
          blocks.push(`  {
    static const double T[] = {${mine.map((c) => `${c.t}.0`).join(", ")}};
    static const int S[] = {${mine.map((c) => c.s).join(", ")}};
    for (unsigned i = 0; i < sizeof S / sizeof S[0]; i++) P((${signed ? "ap_fixed" : "ap_ufixed"}<${bits}, ${bits}, ${round}, ${overflow}>(ldexp(T[i], -S[i]))).to_double());
  }`);
        }
      }
    }
    const main = `#include <stdio.h>
#include <math.h>
#include "ap_fixed.h"
static void P(double v) { printf("%.0f\\n", v); }
int main(void) {
${blocks.join("\n")}
  return 0;
}
`;
    for (const [name, text] of [["ap_int.h", AP_INT_H], ["ap_fixed.h", AP_FIXED_H], ["main.cpp", main]] as const) writeFileSync(join(tmp.dir, name), text);
    const exe = join(tmp.dir, "main");
    run("g++", ["-std=c++14", "-O1", "-Wall", "-Wextra", "-Werror", `-I${tmp.dir}`, "-o", exe, join(tmp.dir, "main.cpp")]);
    const got = run(exe, []).trimEnd().split("\n").map(Number);
    expect(got).toHaveLength(cases.length);
    let bad = 0;
    let first = "";
    cases.forEach(({ cast, s, t }, i) => {
      const lo = cast.signed ? -(2 ** (cast.bits - 1)) : 0;
      const hi = cast.signed ? 2 ** (cast.bits - 1) - 1 : 2 ** cast.bits - 1;
      const want = fixedRescale([t], [1], s, cast, lo, hi);
      if (got[i] !== want) {
        bad++;
        first ||= `${JSON.stringify(cast)} t=${t} s=${s}: ap_fixed ${got[i]}, numerics ${want}`;
      }
    });
    expect({ mismatches: bad, first }).toEqual({ mismatches: 0, first: "" });
    expect(cases.length).toBeGreaterThan(5000);
  });
});
