/**
 * fixq's ap_types headers (ap_int.h, ap_fixed.h), compiled with g++ -std=c++14,
 * against src/numerics by properties: fast-check draws the types (W, I,
 * signedness, rounding mode, overflow mode) and the values, one C++ program
 * instantiates every drawn type, and each result must equal numerics'
 *   ap_int<W>(v), ap_uint<W>(v):    fixedFromScaled(fixed<W,W,…,AP_WRAP>, v, 0)
 *   ap_fixed<W,I,Q,O>(x).to_double(): fixedToNumber(t, fixedFromNumber(t, x))
 * Values include exact ties (x·2^F ∈ ℤ + ½) and overflowing magnitudes.
 * The layers' MAC, acc += a · b over ap types, is checked against BigInt
 * arithmetic wrapped to the accumulator's width; the requant's operators
 * (+, −, × of any widths and signs, >> by an int or an ap_uint, comparisons)
 * give UG1399's result types (static_assert) and BigInt's exact values. hls::stream is checked for
 * FIFO order (write, <<, >>, read). Skips without g++ (fails with
 * FIXQ_REQUIRE_DATA=1).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { AP_FIXED_H, AP_INT_H, HLS_STREAM_H } from "../../../src/backends/hls/ap-types.js";
import { fixedFromNumber, fixedFromScaled, fixedToNumber } from "../../../src/numerics/fixed-convert.js";
import { type FixedType, fixedType } from "../../../src/numerics/fixed.js";
import type { OverflowMode } from "../../../src/numerics/overflow.js";
import { FIXED_ROUND_MODES } from "../../../src/numerics/rounding.js";
import { run, tempDir, toolAvailable } from "../../helpers/c-toolchain.js";

const HAVE = toolAvailable("g++");
const tmp = tempDir("fixq-ap-types-");
afterAll(tmp.remove);

/** Writes the headers and `main`, builds, runs, and returns stdout's lines. */
function runCpp(main: string): string[] {
  for (const [name, text] of [["ap_int.h", AP_INT_H], ["ap_fixed.h", AP_FIXED_H], ["hls_stream.h", HLS_STREAM_H], ["main.cpp", main]] as const) writeFileSync(join(tmp.dir, name), text);
  const exe = join(tmp.dir, "main");
  run("g++", ["-std=c++14", "-O1", "-Wall", "-Wextra", "-Werror", `-I${tmp.dir}`, "-o", exe, join(tmp.dir, "main.cpp")]);
  return run(exe, []).trimEnd().split("\n");
}

const SAFE_OVERFLOW: readonly OverflowMode[] = ["AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP"];

describe.skipIf(!HAVE)("fixq's ap_types headers equal src/numerics", () => {
  it("ap_int<W> / ap_uint<W> from int64 values keep the low W bits", () => {
    const cases = fc.sample(fc.tuple(fc.integer({ min: 1, max: 64 }), fc.boolean(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), { numRuns: 400, seed: 11 });
    const widths = [...new Set(cases.map(([w, s]) => `${s ? "ap_int" : "ap_uint"}<${w}>`))];
    const lines = cases.map(([w, s, v]) => `  printf("%lld\\n", (long long)${s ? "ap_int" : "ap_uint"}<${w}>((long long)${v === -(2n ** 63n) ? "(-9223372036854775807LL - 1)" : `${v}LL`}).to_int64());`);
    const out = runCpp(`#include <stdio.h>\n#include <ap_int.h>\n// types: ${widths.length}\nint main() {\n${lines.join("\n")}\n  return 0;\n}\n`);
    const want = cases.map(([w, s, v]) => {
      const raw = fixedFromScaled(fixedType(w, w, { signed: s, overflow: "AP_WRAP" }), v, 0);
      return String(s || w < 64 ? raw : BigInt.asIntN(64, raw)); // to_int64 of a 64-bit unsigned reinterprets its bits
    });
    expect(out).toEqual(want);
  });

  it("ap_fixed / ap_ufixed from doubles: every rounding mode, the SAT modes and WRAP", () => {
    const typeArb = fc.record({
      bits: fc.integer({ min: 1, max: 32 }),
      intOffset: fc.integer({ min: -4, max: 4 }),
      signed: fc.boolean(),
      round: fc.constantFrom(...FIXED_ROUND_MODES),
      overflow: fc.constantFrom(...SAFE_OVERFLOW),
    });
    const types: FixedType[] = fc
      .sample(typeArb, { numRuns: 40, seed: 5 })
      .map((r) => fixedType(r.bits, Math.max(-2, Math.min(r.bits + 2, Math.ceil(r.bits / 2) + r.intOffset)), { signed: r.signed, round: r.round, overflow: r.overflow }));
    // x = m · 2^(−F−j), |x| up to 2^(I+2) (overflow in every direction); exact ties when j = 1 and m odd
    const values = types.map((t, k) =>
      fc
        .sample(
          fc.integer({ min: 1, max: 6 }).chain((j) => fc.tuple(fc.integer({ min: -(2 ** (t.bits + 2 + j)), max: 2 ** (t.bits + 2 + j) }), fc.constant(j))),
          { numRuns: 30, seed: 100 + k },
        )
        .map(([m, j]) => m * 2 ** (t.intBits - t.bits - j)),
    );
    const cname = (t: FixedType) => `${t.signed ? "ap_fixed" : "ap_ufixed"}<${t.bits}, ${t.intBits}, ${t.round}, ${t.overflow}>`;
    const lines = types.flatMap((t, k) => values[k]!.map((x) => `  printf("%a\\n", ${cname(t)}(${x.toString()} /* ${hex(x)} */).to_double());`));
    const out = runCpp(`#include <stdio.h>\n#include <ap_fixed.h>\nint main() {\n${lines.join("\n")}\n  return 0;\n}\n`);
    const want = types.flatMap((t, k) => values[k]!.map((x) => fixedToNumber(t, fixedFromNumber(t, x))));
    const got = out.map((s) => Number.parseFloat(hexToNumber(s)));
    expect(got.length).toBe(want.length);
    const bad = want.flatMap((w, i) => (Object.is(w, got[i]) || (w === 0 && got[i] === 0) ? [] : [`${lines[i]!.trim()} → ${got[i]}, numerics ${w}`]));
    expect(bad).toEqual([]);
  });

  it("acc += a * b (the MAC the layers use): exact product, the sum wrapped to the accumulator's W bits", () => {
    const operand = fc.tuple(fc.integer({ min: 1, max: 24 }), fc.boolean()).chain(([w, s]) =>
      fc.tuple(fc.constant(w), fc.constant(s), s ? fc.bigInt({ min: -(2n ** BigInt(w - 1)), max: 2n ** BigInt(w - 1) - 1n }) : fc.bigInt({ min: 0n, max: 2n ** BigInt(w) - 1n })),
    );
    const cases = fc.sample(fc.tuple(fc.integer({ min: 2, max: 48 }), fc.boolean(), fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), operand, operand), { numRuns: 300, seed: 23 });
    const ty = (w: number, s: boolean) => `${s ? "ap_int" : "ap_uint"}<${w}>`;
    const lines = cases.map(
      ([w, s, v, [aw, as, a], [bw, bs, b]]) => `  { ${ty(w, s)} acc((long long)${v}LL); acc += ${ty(aw, as)}((long long)${a}LL) * ${ty(bw, bs)}((long long)${b}LL); printf("%lld\\n", acc.to_int64()); }`,
    );
    const out = runCpp(`#include <stdio.h>\n#include <ap_int.h>\nint main() {\n${lines.join("\n")}\n  return 0;\n}\n`);
    // independent of the header: BigInt arithmetic, then the low W bits (signed or not)
    expect(out).toEqual(cases.map(([w, s, v, [, , a], [, , b]]) => String(s ? BigInt.asIntN(w, BigInt.asIntN(w, v) + a * b) : BigInt.asUintN(w, BigInt.asUintN(w, v) + a * b))));
  });

  it("+, -, *, >>, comparisons (what the requant uses): UG1399's result types, exact values, widths up to 128", () => {
    // operand: width, signedness, a value of that type
    const operand = fc.tuple(fc.integer({ min: 1, max: 63 }), fc.boolean()).chain(([w, s]) =>
      fc.tuple(fc.constant(w), fc.constant(s), s ? fc.bigInt({ min: -(2n ** BigInt(w - 1)), max: 2n ** BigInt(w - 1) - 1n }) : fc.bigInt({ min: 0n, max: 2n ** BigInt(w) - 1n })),
    );
    const cases = fc.sample(fc.tuple(operand, operand, fc.integer({ min: 0, max: 70 })), { numRuns: 80, seed: 29 });
    const ty = (w: number, s: boolean) => `${s ? "ap_int" : "ap_uint"}<${w}>`;
    const lit = (v: bigint) => (v === -(2n ** 63n) ? "(-9223372036854775807LL - 1)" : `${v}LL`);
    // UG1399: a·b is W1 + W2 bits, a ± b max(W1 + (S2 && !S1), W2 + (S1 && !S2)) + 1, signed when an operand is (a − b always)
    const plusW = (w1: number, s1: boolean, w2: number, s2: boolean) => Math.max(w1 + (s2 && !s1 ? 1 : 0), w2 + (s1 && !s2 ? 1 : 0)) + 1;
    const lines = cases.map(([[w1, s1, a], [w2, s2, b], k]) => {
      const A = `${ty(w1, s1)}(${lit(a)})`;
      const B = `${ty(w2, s2)}(${lit(b)})`;
      const sum = plusW(w1, s1, w2, s2);
      return [
        `  static_assert(std::is_same<decltype(${A} * ${B}), ${ty(w1 + w2, s1 || s2)}>::value, "mult type");`,
        `  static_assert(std::is_same<decltype(${A} + ${B}), ${ty(sum, s1 || s2)}>::value, "plus type");`,
        `  static_assert(std::is_same<decltype(${A} - ${B}), ap_int<${sum}>>::value, "minus type");`,
        `  static_assert(std::is_same<decltype(${A} >> ${k}), ${ty(w1, s1)}>::value, "shift type");`,
        `  pr(${A} * ${B}); pr(${A} + ${B}); pr(${A} - ${B}); pr(${A} >> ${k}); pr(${A} >> ap_uint<7>(${k})); pr((${A} * ${B} + ${B}) >> ${k});`,
        `  printf("%d %d %d %d\\n", int(${A} < ${B}), int(${A} <= ${B}), int(${A} == ${B}), int(${A} < 0));`,
      ].join("\n");
    });
    const out = runCpp(`#include <stdio.h>\n#include <type_traits>\n#include <ap_int.h>\n
template <int W, bool S> void pr(const fixq_ap::num<W, S> &x) {  // fixq's header only: the exact value, as two 64-bit halves
  const unsigned __int128 u = (unsigned __int128)x.fixq_value();
  printf("%llx %llx\\n", (unsigned long long)(u >> 64), (unsigned long long)u);
}
int main() {\n${lines.join("\n")}\n  return 0;\n}\n`);
    const hex = (v: bigint) => {
      const u = BigInt.asUintN(128, v);
      return `${(u >> 64n).toString(16)} ${(u & (2n ** 64n - 1n)).toString(16)}`;
    };
    const want = cases.flatMap(([[, , a], [, , b], k]) => [
      hex(a * b),
      hex(a + b),
      hex(a - b),
      hex(a >> BigInt(k)),
      hex(a >> BigInt(k)),
      hex((a * b + b) >> BigInt(k)),
      `${+(a < b)} ${+(a <= b)} ${+(a === b)} ${+(a < 0n)}`,
    ]);
    expect(out).toEqual(want);
  });

  it("hls::stream is a FIFO", () => {
    const out = runCpp(`#include <stdio.h>\n#include <hls_stream.h>\nint main() {\n  hls::stream<int> s;\n  for (int i = 0; i < 4; i++) s.write(i * i);\n  s << 16;\n  printf("%d %d\\n", (int)s.size(), (int)s.full());\n  int first;\n  s >> first;\n  printf("%d\\n", first);\n  while (!s.empty()) printf("%d\\n", s.read());\n  return 0;\n}\n`);
    expect(out).toEqual(["5 0", "0", "1", "4", "9", "16"]);
  });
});

function hex(x: number): string {
  return x.toString(16);
}

/** C's %a output ("0x1.8p+3", "-0x0p+0") as a decimal string. */
function hexToNumber(s: string): string {
  const m = /^(-?)0x([0-9a-f]+)(?:\.([0-9a-f]*))?p([+-]\d+)$/.exec(s.trim());
  if (!m) throw new Error(`not a %a number: '${s}'`);
  const frac = m[3] ?? "";
  const mant = Number.parseInt(m[2]! + frac, 16) / 16 ** frac.length;
  return String((m[1] === "-" ? -1 : 1) * mant * 2 ** Number.parseInt(m[4]!, 10));
}
