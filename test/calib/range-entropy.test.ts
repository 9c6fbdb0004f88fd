/**
 * Entropy calibration beyond ORT's arithmetic (range.test.ts checks that):
 * the level count it models, the zero spike, and degenerate histograms.
 */
import { describe, expect, it } from "vitest";
import { StreamingHistogram } from "../../src/calib/histogram.js";
import { type CalibrationMethod, chooseRange, oneSidedEntropyCut, type QuantTarget } from "../../src/calib/range.js";
import { seededRandom } from "../helpers/prng.js";

const ENTROPY: CalibrationMethod = { kind: "entropy" };
const UINT8_ASYM: QuantTarget = { bits: 8, signed: false, symmetric: false };
const UINT8_SYM: QuantTarget = { bits: 8, signed: false, symmetric: true };
const INT8: QuantTarget = { bits: 8, signed: true, symmetric: true };
const INT9: QuantTarget = { bits: 9, signed: true, symmetric: true };

function histOf(data: ArrayLike<number>): StreamingHistogram {
  const h = new StreamingHistogram(65536);
  h.update(Float32Array.from(data));
  return h;
}

/** Box–Muller normals. */
function gaussian(n: number, seed: number): Float64Array {
  const r = seededRandom(seed);
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

describe("one-sided entropy search", () => {
  it("a block of data plus one far outlier: the cut is where the block ends", () => {
    // 512 full bins of 2048, then nothing, then one value in the last bin.
    // Cutting inside the block piles block mass into P's last bin (large KL);
    // cutting past it adds empty bins that Q fills with the block's level.
    const counts = new Float64Array(2048);
    counts.fill(1000, 0, 512);
    counts[2047] = 1;
    expect(oneSidedEntropyCut(counts, 8, 256)).toBe(2); // 8 · 512/2048
  });

  it("uint8 on non-negative data models 256 levels over [0, T], as int9 symmetric does on the mirrored data", () => {
    // Both quantizers put 256 levels on [0, T]; ORT's grid gave uint8 only 64.
    const relu = Float64Array.from(gaussian(100_000, 5), (x) => Math.max(0, x));
    relu[0] = 12;
    const mirrored = Float64Array.from([...relu, ...relu.map((x) => -x)]);
    const u = chooseRange(histOf(relu), ENTROPY, UINT8_ASYM);
    const s = chooseRange(histOf(mirrored), ENTROPY, INT9);
    expect(u.lo).toBe(0);
    expect(u.hi).toBeGreaterThan(2);
    expect(u.hi).toBeLessThan(12);
    expect(Math.abs(u.hi - s.hi)).toBeLessThanOrEqual(12 / 2048 + 1e-9);
    // int8 symmetric keeps half the levels on [0, T], so it may clip more, never less.
    expect(chooseRange(histOf(mirrored), ENTROPY, INT8).hi).toBeLessThanOrEqual(s.hi + 1e-9);
  });
});

describe("degenerate histograms do not collapse the range", () => {
  // A softmax over many classes: almost every value ~0, one per row near 1.
  const r = seededRandom(9);
  const probs = new Float64Array(200_000);
  for (let i = 0; i < probs.length; i++) probs[i] = i % 1000 === 0 ? 0.5 + 0.5 * r() : 1e-6 * r();
  const h = histOf(probs);

  for (const t of [UINT8_ASYM, UINT8_SYM, INT8]) {
    it(`a spike at 0 with rare large values keeps the large values (${JSON.stringify(t)})`, () => {
      const range = chooseRange(h, ENTROPY, t);
      // Clipping below 0.5 would make every confident row tie at the clip.
      expect(range.hi).toBeGreaterThan(0.95 * h.max);
      expect(range.hi).toBeLessThanOrEqual(h.max);
    });
  }

  it("a spike at 0 in data of both signs (hard-swish-like) keeps the large values (uint8 asymmetric)", () => {
    const rr = seededRandom(10);
    const d = Float64Array.from({ length: 200_000 }, (_, i) => (i % 1000 === 0 ? 0.5 + 0.5 * rr() : i % 1000 === 1 ? -0.3 * rr() : 0));
    const hd = histOf(d);
    const range = chooseRange(hd, ENTROPY, UINT8_ASYM);
    expect(range.hi).toBeGreaterThan(0.95 * hd.max);
    expect(range.lo).toBeLessThan(0);
    expect(range.lo).toBeGreaterThanOrEqual(hd.min);
  });

  it("all mass in one bin except the maximum: not collapsed, not widened", () => {
    const d = new Float64Array(50_000).fill(0.25);
    d[0] = 4;
    const range = chooseRange(histOf(d), ENTROPY, UINT8_ASYM);
    expect(range.lo).toBe(0);
    expect(range.hi).toBeGreaterThanOrEqual(0.25);
    expect(range.hi).toBeLessThanOrEqual(4);
  });

  it("all-zero and all-negative-for-unsigned data give the documented ε range", () => {
    expect(chooseRange(histOf(new Float64Array(100)), ENTROPY, UINT8_SYM)).toEqual({ lo: 0, hi: 2 ** -10 });
    expect(chooseRange(histOf([-1, -2, -3]), ENTROPY, UINT8_SYM)).toEqual({ lo: 0, hi: 2 ** -10 });
  });
});
