/**
 * Property tests: every rounding × overflow mode (and N = 0, 1, 2 for the wrap
 * modes), signed and unsigned, over many (W, I) shapes including I < 0 and
 * I > W, against the independent rational reference in fixed-reference.ts.
 * Inputs: exact ties at LSB/2, values just above/below them, min/max ± 1 LSB,
 * values one wrap period away, huge values, ±Infinity, underflowing tiny
 * values, and seeded random values. Every conversion path is checked: double
 * (BigInt and fast paths, scalar and array), rational, and fixed → fixed cast.
 */
import { describe, expect, it } from "vitest";
import {
  FIXED_ROUND_MODES,
  type FixedType,
  fixedCast,
  fixedDequantizeArray,
  fixedFromNumber,
  fixedFromRational,
  fixedMaxRaw,
  fixedMinRaw,
  fixedQuantizeArray,
  fixedQuantizer,
  fixedToNumber,
  fixedType,
  fixedTypeName,
  fracBits,
  type OverflowMode,
} from "../../src/numerics/index.js";
import { hashString, Rng } from "../helpers/prng.js";
import { type Rat, ratOfDouble, refAssign } from "./fixed-reference.js";

const OVERFLOWS: [OverflowMode, number][] = [
  ["AP_SAT", 0],
  ["AP_SAT_ZERO", 0],
  ["AP_SAT_SYM", 0],
  ["AP_WRAP", 0],
  ["AP_WRAP", 1],
  ["AP_WRAP", 2],
  ["AP_WRAP_SM", 0],
  ["AP_WRAP_SM", 1],
  ["AP_WRAP_SM", 2],
];

/** (W, I): tiny, I < 0, I = 0, I > W, the W ≤ 32 / ≤ 53 fast-path edges, and wide types. */
const SHAPES: [number, number][] = [
  [1, 0],
  [1, -3],
  [2, 1],
  [3, 2],
  [4, 4],
  [4, -2],
  [5, 9],
  [8, 3],
  [8, 0],
  [8, -4],
  [12, 14],
  [16, 6],
  [24, -8],
  [31, 10],
  [32, 16],
  [32, 40],
  [33, 1],
  [48, 20],
  [53, 53],
  [53, -5],
  [64, 32],
  [64, 70],
  [100, 10],
];

const COMBOS = FIXED_ROUND_MODES.flatMap((q) =>
  OVERFLOWS.flatMap(([o, n]) =>
    [true, false].filter((signed) => signed || o !== "AP_WRAP_SM").map((signed) => ({ q, o, n, signed })),
  ),
);

const pow2 = (k: number) => 2n ** BigInt(k);
const refOf = (t: FixedType) => ({ w: t.bits, i: t.intBits, signed: t.signed, q: t.round, o: t.overflow, n: t.satBits });
const ratOfInput = (x: number): Rat =>
  Number.isFinite(x) ? ratOfDouble(x) : { n: x > 0 ? pow2(1024) : -pow2(1024), d: 1n };

/** Raw offsets k (in LSB units) worth testing around min, max, 0 and one wrap period out. */
function edgeRaws(t: FixedType): bigint[] {
  const lo = fixedMinRaw(t);
  const hi = fixedMaxRaw(t);
  const period = pow2(t.bits);
  const out: bigint[] = [0n, 1n, -1n, 2n, -2n];
  for (const c of [lo, hi, lo - period, hi + period, lo + period, hi - period, 3n * period]) {
    for (const d of [-2n, -1n, 0n, 1n, 2n]) out.push(c + d);
  }
  return out;
}

/** Exact rationals in LSB units: k, k ± ¼, k + ½ (a tie), k + ½ ± 2^−40, scaled by 2^−F. */
function edgeRationals(t: FixedType): Rat[] {
  const f = fracBits(t);
  const scale = (n: bigint, d: bigint): Rat => (f >= 0 ? { n, d: d * pow2(f) } : { n: n * pow2(-f), d });
  const out: Rat[] = [];
  for (const k of edgeRaws(t)) {
    const base = k * pow2(42);
    for (const frac of [0n, pow2(40), -pow2(40), pow2(41), pow2(41) + 1n, pow2(41) - 1n, -pow2(41), -pow2(41) + 1n]) {
      out.push(scale(base + frac, pow2(42)));
    }
  }
  return out;
}

function doubleInputs(t: FixedType, rng: Rng): number[] {
  const f = fracBits(t);
  const lsb = 2 ** -f;
  const out: number[] = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const r of edgeRationals(t)) out.push(Number(r.n) / Number(r.d)); // a nearby double; its exact value is used
  for (const k of [0, 1, -1, 3, -3, 2 ** (t.bits - 1), -(2 ** (t.bits - 1)), 2 ** t.bits, -(2 ** t.bits)]) {
    for (const frac of [0, 0.5, -0.5, 0.25, 0.75, 0.5 + 2 ** -20, 0.5 - 2 ** -20]) out.push((k + frac) * lsb);
  }
  for (const e of [10, 100, 900]) out.push(2 ** (t.intBits + e) * 1.37, -(2 ** (t.intBits + e)) * 1.37);
  out.push(2 ** (-f - 30), -(2 ** (-f - 30)), 2 ** (-f - 1075 + 60), Number.MIN_VALUE, -Number.MIN_VALUE);
  const span = 2 ** Math.min(t.bits + 1, 60) * lsb;
  for (let j = 0; j < 40; j++) {
    out.push((rng.float() * 2 - 1) * span); // mostly inside, some overflowing
    out.push((rng.range(-64, 64) / 16) * lsb * rng.pick([1, 3, 2 ** 20])); // on and between grid points
  }
  return out;
}

describe.each(COMBOS)("fixed<W,I,$q,$o,$n> signed=$signed", ({ q, o, n, signed }) => {
  const shapes = SHAPES.filter(([w]) => n <= w);

  it("assigning doubles matches the reference (BigInt path, fast path, arrays)", () => {
    const rng = new Rng(hashString(`${q}/${o}/${n}/${signed}`));
    for (const [w, i] of shapes) {
      const t = fixedType(w, i, { signed, round: q, overflow: o, satBits: n });
      const quant = w <= 53 ? fixedQuantizer(t) : undefined;
      const xs = doubleInputs(t, rng);
      const got: bigint[] = [];
      for (const x of xs) {
        const want = refAssign(refOf(t), ratOfInput(x));
        const raw = fixedFromNumber(t, x);
        got.push(raw);
        if (raw !== want) expect.fail(`${fixedTypeName(t)} ← ${x}: got raw ${raw}, want ${want}`);
        if (quant) {
          const fast = quant(x);
          if (fast !== Number(want) || Object.is(fast, -0)) expect.fail(`${fixedTypeName(t)} ← ${x}: fast ${fast}, want ${want}`);
        }
      }
      if (w <= 32) {
        const arr = fixedQuantizeArray(t, xs);
        expect(Array.from(arr, (v) => BigInt(v)), fixedTypeName(t)).toEqual(got);
      }
    }
  });

  it("assigning exact rationals (ties beyond double precision) matches the reference", () => {
    const rng = new Rng(hashString(`rat/${q}/${o}/${n}/${signed}`));
    for (const [w, i] of shapes) {
      const t = fixedType(w, i, { signed, round: q, overflow: o, satBits: n });
      const rats = edgeRationals(t);
      for (let j = 0; j < 30; j++) {
        const d = rng.pick([3n, 7n, 10n, 1000003n]);
        const mag = pow2(Math.max(t.bits - fracBits(t) + 2, 1)) * d;
        rats.push({ n: (BigInt(rng.u32()) * mag) / 4294967296n - mag / 2n, d });
      }
      for (const r of rats) {
        const want = refAssign(refOf(t), r);
        const raw = fixedFromRational(t, r.n, r.d);
        if (raw !== want) expect.fail(`${fixedTypeName(t)} ← ${r.n}/${r.d}: got ${raw}, want ${want}`);
        if (raw < fixedMinRaw(t) || raw > fixedMaxRaw(t)) expect.fail(`${fixedTypeName(t)}: ${raw} out of range`);
      }
    }
  });

  it("casting from a wider fixed type matches the reference", () => {
    const rng = new Rng(hashString(`cast/${q}/${o}/${n}/${signed}`));
    for (const [w, i] of shapes) {
      const t = fixedType(w, i, { signed, round: q, overflow: o, satBits: n });
      const src = fixedType(w + 40, i + 20);
      const fs = fracBits(src);
      const raws = edgeRaws(t).map((k) => {
        // k LSBs of t, plus a tie or near-tie in src's finer grid
        const shift = fs - fracBits(t); // ≥ 20
        return (k << BigInt(shift)) + rng.pick([0n, pow2(shift - 1), pow2(shift - 1) + 1n, -pow2(shift - 1), 1n]);
      });
      for (let j = 0; j < 30; j++) raws.push((BigInt(rng.u32()) << 40n) * (rng.chance(0.5) ? 1n : -1n));
      for (const raw of raws) {
        const clipped = raw < fixedMinRaw(src) || raw > fixedMaxRaw(src) ? raw % pow2(src.bits - 1) : raw;
        const value: Rat = fs >= 0 ? { n: clipped, d: pow2(fs) } : { n: clipped * pow2(-fs), d: 1n };
        const want = refAssign(refOf(t), value);
        const got = fixedCast(src, clipped, t);
        if (got !== want) expect.fail(`${fixedTypeName(src)} ${clipped} → ${fixedTypeName(t)}: got ${got}, want ${want}`);
      }
    }
  });
});

describe("reading raw values back", () => {
  it("fixedToNumber is exact for W ≤ 53 and correctly rounded beyond", () => {
    const rng = new Rng(7);
    for (const [w, i] of [...SHAPES, [200, 100] as [number, number], [1000, -20] as [number, number]]) {
      const t = fixedType(w, i);
      const f = fracBits(t);
      for (const raw of [fixedMinRaw(t), fixedMaxRaw(t), 0n, 1n, -1n, BigInt(rng.u32()) - 2147483648n]) {
        if (raw < fixedMinRaw(t) || raw > fixedMaxRaw(t)) continue;
        const x = fixedToNumber(t, raw);
        // Reference: Number() of an exact bigint rounds to nearest; scale only when exact.
        const exact: Rat = f >= 0 ? { n: raw, d: pow2(f) } : { n: raw * pow2(-f), d: 1n };
        if (w <= 53) {
          const back = ratOfDouble(x);
          expect(back.n * exact.d, `${fixedTypeName(t)} ${raw}`).toBe(exact.n * back.d);
          expect(fixedToNumber(t, Number(raw))).toBe(x);
        } else {
          // Number(bigint) rounds to nearest once; the scaling by 2^−F is exact for these shapes.
          expect(x, `${fixedTypeName(t)} ${raw}`).toBe(Number(raw) * 2 ** -f);
        }
      }
    }
  });

  it("fixedDequantizeArray gives fixedToNumber per element, in float64 or float32", () => {
    for (const [w, i] of [[8, 3], [16, -4], [32, 40], [24, 1030], [12, -1040]] as [number, number][]) {
      const t = fixedType(w, i);
      const raw = [Number(fixedMinRaw(t)), Number(fixedMaxRaw(t)), 0, 1, -1, 77];
      const want = raw.map((r) => fixedToNumber(t, BigInt(r)));
      expect(Array.from(fixedDequantizeArray(t, raw)), fixedTypeName(t)).toEqual(want);
      expect(Array.from(fixedDequantizeArray(t, raw, new Float32Array(raw.length)))).toEqual(want.map(Math.fround));
    }
  });
});

describe("bad input", () => {
  it("NaN is an error, and the fast paths refuse widths they cannot hold", () => {
    const t = fixedType(8, 3);
    expect(() => fixedFromNumber(t, Number.NaN)).toThrow(/NaN/);
    expect(() => fixedQuantizer(t)(Number.NaN)).toThrow(/NaN/);
    expect(() => fixedFromRational(t, 1n, 0n)).toThrow(RangeError);
    expect(() => fixedQuantizer(fixedType(54, 0))).toThrow(/W = 54 > 53/);
    expect(() => fixedQuantizeArray(fixedType(33, 0), [1])).toThrow(/W = 33 > 32/);
    expect(() => fixedQuantizeArray(t, [1, 2], new Int32Array(1))).toThrow(/too short/);
  });
});
