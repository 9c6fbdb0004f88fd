/**
 * The requant loops of the generated C (ops-requant.ts; on AVX2 the lane form
 * of requant-avx2.ts runs first, the printed scalar loop finishing each run)
 * against numerics' requantize, for every accumulator tried: the int32
 * extremes, the lane form's clamp points and their neighbours, rounding ties,
 * random values; per channel a multiplier and shift of an edge class (m = 1,
 * 2^30, 2^31 − 1, odd ones; s = 1, 16, 17, 31, 32, 33, 46, 47, 62, 63; and
 * channels without the lane form: m = 0, s ≤ 0), with runs of 40 sums (two
 * 16-sum vector steps and a scalar tail of 8), on every output type the lane
 * form packs to; where a channel has the short form (requant-short.ts), also
 * both sides of four steps of its output. Built portable (the printed loop alone), with AVX2 where
 * this CPU runs it (also under ASan + UBSan), all with -Wall -Wextra -Werror
 * -Wconversion -Wsign-conversion. Skips without gcc (fails with FIXQ_REQUIRE_DATA=1).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CEmitCtx } from "../../../src/backends/c/op-code.js";
import { emitRequant } from "../../../src/backends/c/ops-requant.js";
import { C_RUNTIME32 } from "../../../src/backends/c/print-c32.js";
import { C_RUNTIME } from "../../../src/backends/shared/print-c.js";
import type { Program, RequantOp } from "../../../src/integer/program.js";
import { intType } from "../../../src/numerics/int.js";
import { type Dyadic, INT32_MAX, INT32_MIN, requantize } from "../../../src/numerics/requant.js";
import { laneRequant } from "../../../src/numerics/requant-lanes.js";
import { shortRequant } from "../../../src/numerics/requant-short.js";
import { tempDir, toolAvailable } from "../../helpers/c-toolchain.js";
import { Rng } from "../../helpers/prng.js";
import { laneBuilds, laneMain, laneMismatches } from "./lane-builds.js";

const HAVE = toolAvailable("gcc");
const tmp = tempDir("fixq-c-rq-");
afterAll(tmp.remove);
const N = 40;

/** Per channel (m, s): every edge class, and channels the lane form leaves to the scalar loop. */
const CHANNELS: Dyadic[] = [
  ...[1, 2, 16, 17, 31, 32, 33, 40, 46, 47, 62, 63].flatMap((s) => [1, 2 ** 30, 2 ** 31 - 1, 1_500_000_001].map((m) => ({ m, s }))),
  { m: 0, s: 0 },
  { m: 2 ** 30, s: 0 },
  { m: 2 ** 30, s: -2 },
];

/** Output types and their (z, lo, hi): full ranges and a narrower clamp (ReLU6-like). */
const OUTS: [bits: number, signed: boolean, z: number, lo: number, hi: number][] = [
  [8, false, 0, 0, 255],
  [8, false, 3, 3, 200],
  [8, true, -5, -128, 127],
  [8, true, 2, -100, 90],
  [16, true, 7, -32768, 32767],
  [16, false, 100, 0, 65535],
  [16, false, 0, 10, 60000],
  [32, true, 0, INT32_MIN, INT32_MAX],
  [32, true, 1, -1000000, 1000000],
];

/** The accumulators of channel (m, s): edges (the clamp points where the lane form exists) then random ones, N in all. */
function accumulators(d: Dyadic, z: number, lo: number, hi: number, rng: Rng): number[] {
  const xs = [INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX];
  const k = laneRequant(d.m, d.s, z, lo, hi);
  if (k) xs.push(k.aLo - 1, k.aLo, k.aLo + 1, k.aHi - 1, k.aHi, k.aHi + 1);
  if (k && shortRequant(d.m, d.s, z, lo, hi)) {
    // the short form's channels: both sides of four steps of the output (found by bisection on the definition)
    const f = (a: number) => requantize(a, d, z, lo, hi, "single");
    const [y0, y1] = [f(k.aLo), f(k.aHi)];
    for (const level of [1, 2, 3, 4].map((q) => Math.round(y0 + ((y1 - y0) * q) / 5))) {
      let [a, b] = [k.aLo, k.aHi];
      while (a < b) {
        const mid = Math.floor((a + b) / 2);
        if (f(mid) >= level) b = mid;
        else a = mid + 1;
      }
      xs.push(a - 1, a);
    }
  }
  if (d.s >= 1 && d.s <= 31 && d.m % 2 === 1) {
    // a tie: acc·m ≡ 2^(s−1) (mod 2^s); m^−1 mod 2^s by Newton's iteration
    const mod = 2n ** BigInt(d.s);
    let inv = 1n;
    for (let j = 0; j < 6; j++) inv = (inv * (2n - BigInt(d.m) * inv)) % mod;
    const t = Number((((2n ** BigInt(d.s - 1) * inv) % mod) + mod) % mod);
    xs.push(t, -t, t - 1, t + 1);
  }
  const inRange = xs.filter((x) => x >= INT32_MIN && x <= INT32_MAX);
  while (inRange.length < N) inRange.push(INT32_MIN + rng.int(2 ** 32));
  return inRange.slice(0, N);
}

/** One requant op per output type over CHANNELS × N sums, its C function, and a main writing every output as int32. */
function source(rng: Rng): { text: string; accs: Int32Array; want: Int32Array } {
  const C = CHANNELS.length;
  const accs: number[] = [];
  const want: number[] = [];
  const fns: string[] = [];
  const calls: string[] = [];
  OUTS.forEach(([bits, signed, z, lo, hi], k) => {
    const op: RequantOp = { kind: "requant", source: `rq${k}`, input: "acc", output: "y", multipliers: CHANNELS, axis: 0, outZero: z, clampLo: lo, clampHi: hi };
    const t = intType(bits, signed);
    const values = new Map([
      ["acc", { name: "acc", shape: [C, N], type: intType(32, true) }],
      ["y", { name: "y", shape: [C, N], type: t }],
    ]);
    const program = { inputs: [], outputs: [], values, ops: [op], rounding: "single", multiplierBits: 31 } as Program;
    const ctx: CEmitCtx = { program, index: k, value: (n) => values.get(n)! };
    const code = emitRequant(op, ctx);
    fns.push(code.decls ?? "", code.text);
    const yT = `${signed ? "" : "u"}int${bits}_t`;
    calls.push(`  { static ${yT} y[${C * N}]; if (${code.name}(x + ${k * C * N}, y) != 0) return 2; for (int i = 0; i < ${C * N}; i++) out[${k * C * N} + i] = (int32_t)y[i]; }`);
    CHANNELS.forEach((d) => {
      for (const a of accumulators(d, z, lo, hi, rng)) {
        accs.push(a);
        want.push(requantize(a, d, z, lo, hi, "single"));
      }
    });
  });
  const total = OUTS.length * C * N;
  const text = `#include <stdint.h>
#include <stdio.h>
${C_RUNTIME}
${C_RUNTIME32}
${fns.join("\n")}
${laneMain("int32_t", total, calls)}`;
  return { text, accs: Int32Array.from(accs), want: Int32Array.from(want) };
}

describe.skipIf(!HAVE)("the generated requant loops equal numerics' requantize", () => {
  const { text, accs, want } = source(new Rng(16));
  writeFileSync(join(tmp.dir, "rq.c"), text);
  writeFileSync(join(tmp.dir, "acc.bin"), Buffer.from(accs.buffer));

  it("prints the lane form for AVX2, with the printed loop after it", () => {
    expect(text).toMatch(/fixq_lanes_rq\(_mm256_loadu_si256/);
    expect(text).toMatch(/if \(LV\d+\[c\]\) \{/); // some channels have no lane form
    expect(text).toMatch(/if \(LSV\d+\[c\]\) \{/); // some have the short form (requant-short.ts), others not
    expect(text).toMatch(/fixq_lanes_rq_short\(_mm256_loadu_si256/);
    expect(text).toMatch(/for \(; j < 40; j\+\+\)/);
  });

  it.each(laneBuilds("-O2"))("%s (%s)", (name, cflags) => {
    const r = laneMismatches(tmp.dir, "rq.c", "acc.bin", `rq-${name}`, ["-Wconversion", "-Wsign-conversion"], cflags, want, (i, got) => `element ${i}: acc ${accs[i]}, got ${got}, want ${want[i]}`);
    expect(r).toEqual({ mismatches: 0, first: "" });
    expect(want.length).toBe(OUTS.length * CHANNELS.length * N);
  }, 120_000);
});
