/**
 * The narrow (31-bit) requant form equals clamp(rshr(acc·m, s) + z, lo, hi),
 * computed here independently in BigInt, for every acc tried: random int32,
 * the int32 extremes, and the clamp points aLo, aHi and their neighbours;
 * over random multipliers, shifts, zero points and clamp ranges (fast-check),
 * and every intermediate of the form stays in [0, 2^31).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/numerics/expr-eval.js";
import { narrowRequant, narrowRequantE } from "../../src/numerics/requant-narrow.js";
import { v } from "../../src/numerics/expr.js";
import { I32_MAX, I32_MIN, reference, requantParams } from "./requant-reference.js";

function narrow(acc: number, p: NonNullable<ReturnType<typeof narrowRequant>>, lo: number, hi: number): number {
  const env: Record<string, number> = { acc, alo: p.aLo, ahi: p.aHi, qz: p.qz, t: p.t, s2: p.s2 };
  p.m.forEach((x, j) => {
    env[`m${j}`] = x;
    env[`r${j}`] = p.r[j]!;
  });
  return evaluate(narrowRequantE(v("acc"), p.m.length, lo, hi), env);
}

/** The intermediates T_j at u = d, their largest. */
function worstT(p: NonNullable<ReturnType<typeof narrowRequant>>): number {
  const d = p.aHi - p.aLo;
  let T = 0;
  let worst = 0;
  p.m.forEach((m, j) => {
    T = d * m + p.r[j]! + (j === 0 ? 0 : Math.floor(T / 2 ** p.t));
    worst = Math.max(worst, T);
  });
  return worst;
}

describe("narrow requant form", () => {
  it("exists for the 8-bit ReLU layers of the bundled models' shift range (s 34…44) and equals the definition", () => {
    for (const s of [34, 36, 38, 40, 42, 44]) {
      const p = narrowRequant(1_500_000_000, s, 0, 0, 255);
      expect(p, `s = ${s}`).toBeDefined();
      for (const acc of [I32_MIN, -1, 0, 1, p!.aLo - 1, p!.aLo, p!.aLo + 1, p!.aHi - 1, p!.aHi, p!.aHi + 1, I32_MAX]) {
        if (acc < I32_MIN || acc > I32_MAX) continue;
        expect(narrow(acc, p!, 0, 255)).toBe(reference(acc, 1_500_000_000, s, 0, 0, 255));
      }
    }
  });

  it("is absent where 31 bits cannot hold it (a 16-bit output range with a large shift)", () => {
    expect(narrowRequant(2 ** 31 - 1, 62, 0, -32768, 32767)).toBeUndefined();
  });

  it("equals clamp(rshr(acc·m, s) + z, lo, hi) for random parameters and accumulators (fast-check)", () => {
    const params = requantParams(62, 200, [-32768, 0], 65535);
    let found = 0;
    fc.assert(
      fc.property(params, ({ m, s, z, lo, width, accs }) => {
        const hi = lo + width;
        const p = narrowRequant(m, s, z, lo, hi);
        if (!p) return;
        found++;
        expect(worstT(p)).toBeLessThan(2 ** 31);
        for (const acc of [...accs, p.aLo - 1, p.aLo, p.aHi, p.aHi + 1, Math.floor((p.aLo + p.aHi) / 2)]) {
          if (acc < I32_MIN || acc > I32_MAX) continue;
          expect(narrow(acc, p, lo, hi)).toBe(reference(acc, m, s, z, lo, hi));
        }
      }),
      { numRuns: 400, seed: 16 },
    );
    expect(found).toBeGreaterThan(100);
  });
});
