/**
 * Width rules of a · b, a + b and a − b (Vitis HLS ap_fixed_base RType):
 * exact results of random and extreme operands are representable in the
 * result type (checked with exact rationals, not with fixq's own raw
 * arithmetic), and the result is minimal where the rule is tight.
 */
import { describe, expect, it } from "vitest";
import {
  type FixedType,
  fixedAddRaw,
  fixedAddType,
  fixedMaxRaw,
  fixedMinRaw,
  fixedMulRaw,
  fixedMulType,
  fixedSubType,
  fixedType,
  fixedTypeName,
  fracBits,
} from "../../src/numerics/index.js";
import { Rng } from "../helpers/prng.js";

const pow2 = (k: number) => 2n ** BigInt(k);

/** value = n / 2^e, kept as (n, e) with e possibly negative. */
interface Dy {
  n: bigint;
  e: number;
}
const dyOf = (t: FixedType, raw: bigint): Dy => ({ n: raw, e: fracBits(t) });
const mul = (a: Dy, b: Dy): Dy => ({ n: a.n * b.n, e: a.e + b.e });
const add = (a: Dy, b: Dy, sign = 1n): Dy => {
  const e = Math.max(a.e, b.e);
  return { n: a.n * pow2(e - a.e) + sign * b.n * pow2(e - b.e), e };
};

/** Whether the exact value v is a value of t (on the grid and within range). */
function fits(t: FixedType, v: Dy): boolean {
  const k = fracBits(t) - v.e; // raw = n·2^k
  let raw: bigint;
  if (k >= 0) raw = v.n * pow2(k);
  else {
    if (v.n % pow2(-k) !== 0n) return false;
    raw = v.n / pow2(-k);
  }
  return raw >= fixedMinRaw(t) && raw <= fixedMaxRaw(t);
}

function randomType(rng: Rng): FixedType {
  const w = rng.range(1, 40);
  return fixedType(w, rng.range(-12, 50), { signed: rng.chance(0.5) });
}

function randomRaw(rng: Rng, t: FixedType): bigint {
  const lo = fixedMinRaw(t);
  const span = fixedMaxRaw(t) - lo + 1n;
  const r = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
  return lo + (r % span);
}

const extremes = (t: FixedType) => [fixedMinRaw(t), fixedMaxRaw(t), 0n, t.signed ? -1n : 1n];

describe("width rules", () => {
  it("match the published rule on worked cases", () => {
    const s = (w: number, i: number) => fixedType(w, i);
    const u = (w: number, i: number) => fixedType(w, i, { signed: false });
    expect(fixedTypeName(fixedMulType(s(8, 3), u(6, 2)))).toBe("fixed<14,5>");
    expect(fixedTypeName(fixedMulType(u(4, 4), u(4, -2)))).toBe("ufixed<8,2>");
    expect(fixedTypeName(fixedAddType(s(8, 3), s(12, 6)))).toBe("fixed<13,7>"); // I = 6+1, F = max(5, 6)
    expect(fixedTypeName(fixedAddType(u(8, 8), u(8, 8)))).toBe("ufixed<9,9>");
    expect(fixedTypeName(fixedAddType(s(4, 4), u(4, 4)))).toBe("fixed<6,6>"); // unsigned gains a bit: max(4, 5) + 1
    expect(fixedTypeName(fixedSubType(u(8, 8), u(8, 8)))).toBe("fixed<9,9>");
    // results carry the default modes whatever the operands'
    const m = fixedMulType(fixedType(8, 3, { round: "AP_RND", overflow: "AP_SAT" }), s(4, 1));
    expect([m.round, m.overflow, m.satBits]).toEqual(["AP_TRN", "AP_WRAP", 0]);
  });

  it("exact products, sums and differences of random operands are representable", () => {
    const rng = new Rng(2024);
    for (let k = 0; k < 600; k++) {
      const a = randomType(rng);
      const b = randomType(rng);
      const tm = fixedMulType(a, b);
      const ta = fixedAddType(a, b);
      const ts = fixedSubType(a, b);
      const ras = [...extremes(a), randomRaw(rng, a), randomRaw(rng, a)];
      const rbs = [...extremes(b), randomRaw(rng, b), randomRaw(rng, b)];
      for (const ra of ras) {
        for (const rb of rbs) {
          const va = dyOf(a, ra);
          const vb = dyOf(b, rb);
          const ctx = `${fixedTypeName(a)} ${ra}, ${fixedTypeName(b)} ${rb}`;
          if (!fits(tm, mul(va, vb))) expect.fail(`product ${ctx} does not fit ${fixedTypeName(tm)}`);
          if (!fits(ta, add(va, vb))) expect.fail(`sum ${ctx} does not fit ${fixedTypeName(ta)}`);
          if (!fits(ts, add(va, vb, -1n))) expect.fail(`difference ${ctx} does not fit ${fixedTypeName(ts)}`);
          // fixq's raw arithmetic gives those same values
          expect(fits(tm, dyOf(tm, fixedMulRaw(ra, rb))) && dyOf(tm, fixedMulRaw(ra, rb)).n === ra * rb).toBe(true);
          const sum = fixedAddRaw(a, ra, b, rb);
          const exact = add(va, vb);
          expect(sum * pow2(exact.e - fracBits(ta))).toBe(exact.n);
          const diff = fixedAddRaw(a, ra, b, rb, true);
          expect(diff * pow2(exact.e - fracBits(ts))).toBe(add(va, vb, -1n).n);
        }
      }
    }
  });

  it("F is always minimal: the product / sum of LSB-sized operands needs every fraction bit", () => {
    const rng = new Rng(99);
    for (let k = 0; k < 300; k++) {
      const a = randomType(rng);
      const b = randomType(rng);
      const lsbA = dyOf(a, a.signed ? -1n : 1n); // ±1 LSB is a value of every type
      const lsbB = dyOf(b, b.signed ? -1n : 1n);
      const tm = fixedMulType(a, b);
      expect(fits(fixedType(tm.bits - 1, tm.intBits, { signed: tm.signed }), mul(lsbA, lsbB))).toBe(false);
      const finer = fracBits(a) >= fracBits(b) ? lsbA : lsbB;
      const ta = fixedAddType(a, b);
      expect(fits(fixedType(ta.bits - 1, ta.intBits, { signed: ta.signed }), add(finer, { n: 0n, e: 0 }))).toBe(false);
    }
  });

  it("I is minimal for products when both W ≥ 2, and for sums / differences when F1 = F2 and W ≥ 2", () => {
    const rng = new Rng(100);
    for (let k = 0; k < 400; k++) {
      const a = fixedType(rng.range(2, 30), rng.range(-10, 40), { signed: rng.chance(0.5) });
      const b0 = fixedType(rng.range(2, 30), rng.range(-10, 40), { signed: rng.chance(0.5) });
      // same F for the sum family
      const bw = Math.max(2, b0.bits);
      const b = fixedType(bw, bw - fracBits(a), { signed: b0.signed });
      const oneLess = (t: FixedType) => fixedType(t.bits - 1, t.intBits - 1, { signed: t.signed });
      const someMiss = (t: FixedType, op: (x: Dy, y: Dy) => Dy, x: FixedType, y: FixedType) =>
        extremes(x).some((rx) => extremes(y).some((ry) => !fits(oneLess(t), op(dyOf(x, rx), dyOf(y, ry)))));
      expect(someMiss(fixedMulType(a, b0), mul, a, b0), `${fixedTypeName(a)} · ${fixedTypeName(b0)}`).toBe(true);
      expect(someMiss(fixedAddType(a, b), (x, y) => add(x, y), a, b), `${fixedTypeName(a)} + ${fixedTypeName(b)}`).toBe(true);
      expect(someMiss(fixedSubType(a, b), (x, y) => add(x, y, -1n), a, b), `${fixedTypeName(a)} − ${fixedTypeName(b)}`).toBe(true);
    }
  });

  it("the sum rule is not tight in general (documented): a much finer operand can fit one bit less", () => {
    const a = fixedType(8, 4, { signed: false }); // max 16 − 1/16
    const c = fixedType(1, -7, { signed: false }); // values 0 and 1/256
    const t = fixedAddType(a, c);
    expect(fixedTypeName(t)).toBe("ufixed<13,5>");
    const mx = add(dyOf(a, fixedMaxRaw(a)), dyOf(c, fixedMaxRaw(c))); // 16 − 15/256
    expect(fits(fixedType(t.bits - 1, t.intBits - 1, { signed: false }), mx)).toBe(true);
  });
});
