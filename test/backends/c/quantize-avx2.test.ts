/**
 * The generated input quantize (ops-io.ts, its AVX2 steps from
 * quantize-avx2.ts: numerics' reciprocal lane form, falling back to the
 * division's lanes per vector of 8) against QuantizeLinear's definition, on
 * adversarial inputs (half-integers ± 1–3 ulps, the reciprocal form's own
 * decision edge, saturation edges, |x/s| near 2^19, 2^20 and 2^23, huge,
 * tiny, denormal, NaN, ±∞, −0) and about 4 million random ones, for scales
 * that are not powers of two, several zero points, ranges and storage types
 * (and a scale without the reciprocal form). Built portable (the printed
 * scalar definition alone), with AVX2 where this CPU runs it (also under
 * ASan + UBSan), with -Wall -Wextra -Werror. Skips without gcc (fails with FIXQ_REQUIRE_DATA=1).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CEmitCtx } from "../../../src/backends/c/op-code.js";
import { emitQuantize } from "../../../src/backends/c/ops-io.js";
import { QUANTIZE_LANES } from "../../../src/backends/c/quantize-avx2.js";
import { C_RUNTIME32 } from "../../../src/backends/c/print-c32.js";
import { C_RUNTIME, printCFunction } from "../../../src/backends/shared/print-c.js";
import type { Program, QuantizeOp } from "../../../src/integer/program.js";
import { roundHalfEvenDef } from "../../../src/numerics/definitions.js";
import { intType } from "../../../src/numerics/int.js";
import { RECIPROCAL_MARGIN, reciprocalOf } from "../../../src/numerics/quantize-lanes.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { quantizeReference, ulpsAround } from "../../helpers/quantize-reference.js";
import { laneBuilds, laneMain, laneMismatches } from "./lane-builds.js";

const HAVE = toolAvailable("gcc");
const tmp = tempDir("fixq-c-q-");
afterAll(tmp.remove);
/** Values per op: a multiple of 8 plus 5, so every op ends in a scalar tail. */
const N = 2 ** 19 + 5;

/** [scale, z, qmin, qmax, bits, signed]: scales that are not powers of two; the last has no reciprocal form (1/s overflows float32). */
const OPS: [number, number, number, number, number, boolean][] = [
  [1 / 255, 0, 0, 255, 8, false],
  [0.1, 3, -128, 127, 8, true],
  [1 / 3, -7, -8, 7, 8, true],
  [7.77, 128, 0, 255, 8, false],
  [0.0123, 11, -32768, 32767, 16, true],
  [1.3, 100, 0, 65535, 16, false],
  [2.5e-4, -5, -1000000, 1000000, 32, true],
  [2 ** -129, 0, 0, 255, 8, false],
];

/** The inputs of op (s, z, qmin, qmax): adversarial values first, then random ones (any bit pattern, or near the grid). */
function inputs(s: number, z: number, qmin: number, qmax: number, rng: Rng): Float32Array {
  const xs: number[] = [0, -0, 2 ** -149, -(2 ** -149), 2 ** -126, 3.4e38, -3.4e38, Infinity, -Infinity, Number.NaN];
  const halves = [0.5, -0.5, 1.5, 2.5, 127.5, -128.5, 255.5, qmax - z + 0.5, qmin - z - 0.5, 32767.5, 2 ** 18 + 0.5, 2 ** 19 - 0.5, 2 ** 20 + 0.5, 2 ** 22 + 0.5];
  for (const h of halves) {
    xs.push(...ulpsAround(Math.fround(h * s), 3));
    for (const f of [0.8, 0.95, 1.05, 1.25]) for (const sg of [-1, 1]) xs.push(...ulpsAround(Math.fround((h + sg * f * RECIPROCAL_MARGIN * (1 + Math.abs(h))) * s), 1));
  }
  for (const m of [qmax - z, qmin - z, 2 ** 19, 2 ** 20, 2 ** 23, 1e9]) xs.push(...ulpsAround(Math.fround(m * s), 2));
  const out = new Float32Array(N);
  out.set(xs.map(Math.fround));
  const bits = new Uint32Array(out.buffer);
  for (let j = xs.length; j < N; j++) {
    if (j % 8 === 0) bits[j] = (rng.float() * 2 ** 32) >>> 0;
    else out[j] = (rng.float() - 0.5) * 2 * (Math.min(qmax - qmin, 70000) + 40) * s;
  }
  return out;
}

function source(rng: Rng): { text: string; x: Float32Array; want: Int32Array } {
  const x = new Float32Array(OPS.length * N);
  const want = new Int32Array(OPS.length * N);
  const fns: string[] = [];
  const calls: string[] = [];
  OPS.forEach(([scale, z, qmin, qmax, bits, signed], k) => {
    const s = Math.fround(scale);
    const op: QuantizeOp = { kind: "quantize", source: `q${k}`, input: "x", output: "y", scale: s, zeroPoint: z, qmin, qmax };
    const values = new Map([
      ["x", { name: "x", shape: [N], type: intType(32, true) }],
      ["y", { name: "y", shape: [N], type: intType(bits, signed) }],
    ]);
    const program = { inputs: [], outputs: [], values, ops: [op], rounding: "single", multiplierBits: 31 } as unknown as Program;
    const ctx: CEmitCtx = { program, index: k, value: (n) => values.get(n)! };
    const code = emitQuantize(op, ctx);
    fns.push(code.text);
    const yT = `${signed ? "" : "u"}int${bits}_t`;
    calls.push(`  { static ${yT} y[${N}]; if (${code.name}(x + ${k * N}, y) != 0) return 2; for (int i = 0; i < ${N}; i++) out[${k * N} + i] = (int32_t)y[i]; }`);
    const xs = inputs(s, z, qmin, qmax, rng);
    x.set(xs, k * N);
    for (let j = 0; j < N; j++) want[k * N + j] = quantizeReference(xs[j]!, s, z, qmin, qmax);
  });
  const total = OPS.length * N;
  const text = `#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__AVX2__) && !defined(FIXQ_PORTABLE)
#include <immintrin.h>
#define FIXQ_USE_AVX2 1
#else
#define FIXQ_USE_AVX2 0
#endif
${C_RUNTIME}
${C_RUNTIME32}
${printCFunction(roundHalfEvenDef)}
${QUANTIZE_LANES}
${fns.join("\n")}
${laneMain("float", total, calls)}`;
  return { text, x, want };
}

describe.skipIf(!HAVE)("the generated quantize equals QuantizeLinear's definition", () => {
  const { text, x, want } = source(new Rng(16));
  writeFileSync(join(tmp.dir, "q.c"), text);
  writeFileSync(join(tmp.dir, "x.bin"), Buffer.from(x.buffer));

  it("prints the reciprocal form where 1/s is a normal float32, the division's lanes as its fallback", () => {
    expect(reciprocalOf(OPS[0]![0])).toBeDefined();
    expect(reciprocalOf(OPS[7]![0])).toBeUndefined();
    expect(text.match(/if \(fixq_lanes_k\(xv, rho, &kv\)\)/g)?.length).toBe(OPS.length - 1);
    expect(text.match(/lo = fixq_lanes_q\(/g)?.length).toBe(OPS.length);
  });

  it.each(laneBuilds("-O3"))("%s (%s): 0 mismatches", (name, cflags) => {
    const r = laneMismatches(tmp.dir, "q.c", "x.bin", `q-${name}`, ["-ffp-contract=off", "-fno-trapping-math"], cflags, want, (i, got) => `op ${Math.floor(i / N)}, element ${i % N}: x ${x[i]}, got ${got}, want ${want[i]}`);
    expect(r).toEqual({ mismatches: 0, first: "" });
    expect(want.length).toBe(OPS.length * N);
  }, 120_000);
});
