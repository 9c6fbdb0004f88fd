/**
 * numerics' definitions printed as C (shared/print-c.ts), compiled with gcc
 * (with -fsanitize=undefined, so a signed overflow or a bad shift fails the
 * run) and run, equal numerics' own functions bit for bit on the edge and
 * random cases of test/numerics/definition-cases.ts; requant also with the
 * multiplier and shift hoisted as loop invariants. Skips without gcc (fails
 * with FIXQ_REQUIRE_DATA=1).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { C_RUNTIME, cDouble, printCFunction } from "../../../src/backends/shared/print-c.js";
import { type Definition, dequantizeDef, quantizeDef, requantDef, rescaleDef, roundHalfEvenDef } from "../../../src/numerics/definitions.js";
import { isReal } from "../../../src/numerics/expr.js";
import { tempDir, run, toolAvailable } from "../../helpers/c-toolchain.js";
import { type Case, quantizeCases, requantCases, rescaleCases, roundCases } from "../../numerics/definition-cases.js";
import { Rng } from "../../helpers/prng.js";

const HAVE_GCC = toolAvailable("gcc");
const tmp = tempDir("fixq-print-c-");
afterAll(tmp.remove);

interface Suite {
  readonly def: Definition;
  readonly fn: string;
  readonly cases: readonly Case[];
}

/** One C program calling each printed function on its cases, printing one result per line ("T" where it returns FIXQ_ERANGE, "nan", or the value). */
function program(suites: readonly Suite[]): string {
  const lines = ["#include <stdint.h>", "#include <stdio.h>", "#include <math.h>", C_RUNTIME, printCFunction(roundHalfEvenDef)];
  const body: string[] = [];
  suites.forEach((s, k) => {
    if (s.def !== roundHalfEvenDef) lines.push(s.fn);
    const reals = new Set(s.def.reals ?? []);
    const real = isReal(s.def.body, reals);
    const guarded = s.fn.includes("*out)");
    const name = `fixq_${s.def.name}`;
    const args = s.cases.map((c) => `{${s.def.params.map((p) => cDouble(c.args[p]!)).join(", ")}}`);
    lines.push(`static const double ARGS${k}[${s.cases.length}][${s.def.params.length}] = {\n${args.join(",\n")}\n};`);
    const call = s.def.params.map((p, i) => (reals.has(p) ? `ARGS${k}[i][${i}]` : `(int64_t)ARGS${k}[i][${i}]`)).join(", ");
    const print = real ? `if (isnan(r)) puts("nan"); else printf("%.17g\\n", r);` : `printf("%lld\\n", (long long)r);`;
    body.push(`for (int i = 0; i < ${s.cases.length}; i++) {`);
    body.push(`  ${real ? "double" : "int64_t"} r;`);
    body.push(guarded ? `  if (${name}(${call}, &r)) { puts("T"); continue; }` : `  r = ${name}(${call});`);
    body.push(`  ${print}`, "}");
  });
  lines.push(`int main(void) {\n${body.map((l) => `  ${l}`).join("\n")}\n  return 0;\n}`);
  return lines.join("\n\n");
}

function expectSuites(suites: readonly Suite[]): void {
  const src = join(tmp.dir, "defs.c");
  const exe = join(tmp.dir, "defs");
  writeFileSync(src, program(suites));
  run("gcc", ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fsanitize=undefined", "-fno-sanitize-recover=all", "-o", exe, src, "-lm"]);
  const out = run(exe, []).trimEnd().split("\n");
  let i = 0;
  for (const s of suites) {
    let wrong = 0;
    const first: string[] = [];
    for (const c of s.cases) {
      const got = out[i++];
      const want = c.expected === "throws" ? "T" : Number.isNaN(c.expected) ? "nan" : c.expected;
      const value = got === "inf" ? Infinity : got === "-inf" ? -Infinity : Number(got);
      const same = typeof want === "number" ? got !== undefined && got !== "T" && got !== "nan" && Object.is(value, want) : got === want;
      if (!same) {
        wrong++;
        if (first.length < 3) first.push(`${JSON.stringify(c.args)}: C ${got}, numerics ${want}`);
      }
    }
    expect({ def: s.def.name, wrong, first }).toEqual({ def: s.def.name, wrong: 0, first: [] });
  }
  expect(i).toBe(out.length);
}

function dequantizeCases(): Case[] {
  const rng = new Rng(51);
  return Array.from({ length: 2000 }, () => {
    const q = rng.chance(0.5) ? rng.range(-(2 ** 31), 2 ** 31 - 1) : rng.range(-300, 300);
    const z = rng.range(-(2 ** 15), 2 ** 15);
    const scale = Math.fround(2 ** (rng.float() * 40 - 30));
    return { args: { q, z, scale }, expected: Math.fround(Math.fround(q - z) * scale) }; // ONNX DequantizeLinear
  });
}

describe.skipIf(!HAVE_GCC)("printed C = numerics, bit for bit (gcc, -fsanitize=undefined)", () => {
  it("roundHalfEven, quantize, dequantize, requant (single and double, plain and hoisted), rescale of 1–3 inputs", () => {
    const suites: Suite[] = [
      { def: roundHalfEvenDef, fn: "", cases: roundCases() },
      { def: quantizeDef, fn: printCFunction(quantizeDef), cases: quantizeCases() },
      { def: dequantizeDef, fn: printCFunction(dequantizeDef), cases: dequantizeCases() },
    ];
    for (const r of ["single", "double"] as const) {
      const plain = requantDef(r);
      suites.push({ def: plain, fn: printCFunction(plain), cases: requantCases(r) });
      const hoisted = { ...plain, name: `${plain.name}_hoisted` };
      suites.push({ def: hoisted, fn: printCFunction(hoisted, { invariant: new Set(["m", "s"]) }), cases: requantCases(r) });
    }
    for (const n of [1, 2, 3]) suites.push({ def: rescaleDef(n), fn: printCFunction(rescaleDef(n)), cases: rescaleCases(n) });
    expectSuites(suites);
  });
});
