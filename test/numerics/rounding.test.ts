import { describe, expect, it } from "vitest";
import { FIXED_ROUND_MODES, roundNumber, roundRatio, roundRatioNumber, roundShift } from "../../src/numerics/index.js";
import { caseChecker } from "../helpers/case-checker.js";
import { Rng } from "../helpers/prng.js";

/** round(n/d), d > 0, straight from the mode table: nearest-with-tie-rule or a directed rule. */
function ref(mode: string, n: bigint, d: bigint): bigint {
  let lo = n / d;
  if (lo * d > n) lo -= 1n;
  if (lo * d === n) return lo;
  const hi = lo + 1n;
  const neg = n < 0n;
  if (mode === "AP_TRN") return lo;
  if (mode === "AP_TRN_ZERO") return neg ? hi : lo;
  const below = 2n * (n - lo * d); // compared with d: distance to lo vs half a step
  if (below < d) return lo;
  if (below > d) return hi;
  const tie: Record<string, bigint> = {
    AP_RND: hi,
    AP_RND_ZERO: neg ? hi : lo,
    AP_RND_MIN_INF: lo,
    AP_RND_INF: neg ? lo : hi,
    AP_RND_CONV: lo % 2n === 0n ? lo : hi,
  };
  return tie[mode]!;
}

describe.each(FIXED_ROUND_MODES)("%s", (mode) => {
  it("roundNumber, roundShift, roundRatio and roundRatioNumber agree with the mode table", () => {
    const rng = new Rng(mode.length * 7919);
    const c = caseChecker();
    for (let k = 0; k < 20000; k++) {
      const e = rng.range(0, 8);
      const n = BigInt(rng.range(-4096, 4096));
      const d = 2n ** BigInt(e);
      const want = ref(mode, n, d);
      c.check(BigInt(roundNumber(Number(n) / Number(d), mode) + 0), want, () => `roundNumber ${n}/2^${e}`);
      c.check(roundShift(n, e, mode), want, () => `roundShift ${n}/2^${e}`);
      const od = BigInt(rng.range(1, 50)) * (rng.chance(0.5) ? 1n : -1n);
      const w2 = od < 0n ? ref(mode, -n, -od) : ref(mode, n, od);
      c.check(roundRatio(n, od, mode), w2, () => `roundRatio ${n}/${od}`);
      c.check(BigInt(roundRatioNumber(Number(n), Number(od), mode) + 0), w2, () => `roundRatioNumber ${n}/${od}`);
    }
    c.expectNone();
    expect(roundShift(5n, -3, mode)).toBe(40n);
    expect(() => roundRatio(1n, 0n, mode)).toThrow(RangeError);
  });
});
