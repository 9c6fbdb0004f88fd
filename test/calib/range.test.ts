import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rankOf, StreamingHistogram } from "../../src/calib/histogram.js";
import {
  type CalibrationMethod,
  chooseRange,
  formatCalibrationMethod,
  entropyCut,
  symmetricHistogram,
  parseCalibrationMethod,
  type QuantTarget,
  ZERO_DATA_EPSILON,
} from "../../src/calib/range.js";
import { seededRandom } from "../helpers/prng.js";

const prng = seededRandom;

function gaussian(n: number, seed: number, sigma = 1, mean = 0): Float32Array {
  const r = prng(seed);
  return Float32Array.from(
    { length: n },
    () => mean + sigma * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()),
  );
}

function histOf(data: ArrayLike<number>, bins?: number): StreamingHistogram {
  const h = new StreamingHistogram(bins);
  h.update(data);
  return h;
}

const INT8: QuantTarget = { bits: 8, signed: true, symmetric: true };
const UINT8_ASYM: QuantTarget = { bits: 8, signed: false, symmetric: false };
const INT8_ASYM: QuantTarget = { bits: 8, signed: true, symmetric: false };
const UINT8_SYM: QuantTarget = { bits: 8, signed: false, symmetric: true };
const INT4: QuantTarget = { bits: 4, signed: true, symmetric: true };
const TARGETS = [INT8, UINT8_ASYM, INT8_ASYM, UINT8_SYM];

const MINMAX: CalibrationMethod = { kind: "minmax" };
const P9999: CalibrationMethod = { kind: "percentile", percentile: 99.99 };
const MSE: CalibrationMethod = { kind: "mse" };
const ENTROPY: CalibrationMethod = { kind: "entropy" };
const METHODS = [MINMAX, P9999, MSE, ENTROPY];

/** Mean squared error of fake-quantizing the raw data with the target model of range.ts. */
function quantMse(d: ArrayLike<number>, lo: number, hi: number, t: QuantTarget): number {
  let g0 = lo;
  let step = (hi - lo) / (2 ** t.bits - 1);
  let kmin = 0;
  let kmax = 2 ** t.bits - 1;
  if (t.symmetric && t.signed) {
    kmax = 2 ** (t.bits - 1) - 1;
    kmin = -kmax;
    g0 = 0;
    step = hi / kmax;
  } else if (t.symmetric) {
    g0 = 0;
    step = hi / kmax;
  }
  let e = 0;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!;
    const q = g0 + Math.min(kmax, Math.max(kmin, Math.round((x - g0) / step))) * step;
    e += (x - q) ** 2;
  }
  return e / d.length;
}

describe("parseCalibrationMethod", () => {
  it("parses every form and round-trips through formatCalibrationMethod", () => {
    expect(parseCalibrationMethod("minmax")).toEqual(MINMAX);
    expect(parseCalibrationMethod("mse")).toEqual(MSE);
    expect(parseCalibrationMethod("entropy")).toEqual(ENTROPY);
    expect(parseCalibrationMethod("percentile")).toEqual({ kind: "percentile", percentile: 99.99 });
    expect(parseCalibrationMethod("percentile:99.999")).toEqual({ kind: "percentile", percentile: 99.999 });
    expect(parseCalibrationMethod("percentile:100")).toEqual({ kind: "percentile", percentile: 100 });
    for (const s of ["minmax", "mse", "entropy", "percentile:99.5", "percentile:50"]) {
      expect(formatCalibrationMethod(parseCalibrationMethod(s))).toBe(s);
    }
  });

  it("rejects bad input with a usage error", () => {
    for (const s of ["", "MinMax", "kl", "percentile:", "percentile:abc", "percentile:1e2", "percentile:-5", "percentile:49.9", "percentile:100.01", " mse", "percentile:99:9"]) {
      expect(() => parseCalibrationMethod(s), s).toThrow(expect.objectContaining({ name: "FixqError", code: "usage" }));
    }
  });
});

describe("chooseRange: minmax and shape rules", () => {
  it("gives the exact extremes, always including 0", () => {
    const h = histOf([2, 5, 3.5]);
    expect(chooseRange(h, MINMAX, UINT8_ASYM)).toEqual({ lo: 0, hi: 5 });
    expect(chooseRange(h, MINMAX, INT8)).toEqual({ lo: -5, hi: 5 });
    expect(chooseRange(h, MINMAX, UINT8_SYM)).toEqual({ lo: 0, hi: 5 });
    const g = histOf([-3, 1.25]);
    expect(chooseRange(g, MINMAX, INT8_ASYM)).toEqual({ lo: -3, hi: 1.25 });
    expect(chooseRange(g, MINMAX, INT8)).toEqual({ lo: -3, hi: 3 });
    expect(chooseRange(g, MINMAX, UINT8_SYM)).toEqual({ lo: 0, hi: 1.25 });
  });

  it("all-negative data with an unsigned asymmetric target gives [min, 0]", () => {
    const h = histOf(gaussian(10_000, 1, 1, -10));
    for (const m of METHODS) {
      const r = chooseRange(h, m, UINT8_ASYM);
      expect(r.hi, m.kind).toBe(0);
      expect(r.lo, m.kind).toBeLessThan(-10);
      expect(r.lo, m.kind).toBeGreaterThanOrEqual(h.min);
    }
    expect(chooseRange(h, MINMAX, UINT8_ASYM)).toEqual({ lo: h.min, hi: 0 });
  });

  it("rejects bad targets and empty histograms", () => {
    const h = histOf([1, 2]);
    for (const bits of [1, 0, 33, 7.5]) {
      expect(() => chooseRange(h, MINMAX, { ...INT8, bits })).toThrow(expect.objectContaining({ code: "usage" }));
    }
    const empty = histOf([Number.NaN]);
    expect(() => chooseRange(empty, MSE, INT8)).toThrow(expect.objectContaining({ code: "data" }));
    expect(() => chooseRange(h, { kind: "percentile", percentile: 20 }, INT8)).toThrow(
      expect.objectContaining({ code: "usage" }),
    );
  });
});

describe("chooseRange: degenerate data", () => {
  it("all zeros give a tiny non-zero range for every method", () => {
    const h = histOf([...new Float32Array(1000), 0, -0]);
    for (const m of METHODS) {
      expect(chooseRange(h, m, INT8)).toEqual({ lo: -ZERO_DATA_EPSILON, hi: ZERO_DATA_EPSILON });
      expect(chooseRange(h, m, INT8_ASYM)).toEqual({ lo: -ZERO_DATA_EPSILON, hi: ZERO_DATA_EPSILON });
      expect(chooseRange(h, m, UINT8_ASYM)).toEqual({ lo: 0, hi: ZERO_DATA_EPSILON });
      expect(chooseRange(h, m, UINT8_SYM)).toEqual({ lo: 0, hi: ZERO_DATA_EPSILON });
    }
  });

  it("constant and single-value data are never clipped", () => {
    for (const [data, asym, sym] of [
      [[3], { lo: 0, hi: 3 }, { lo: -3, hi: 3 }],
      [new Float32Array(500).fill(-2), { lo: -2, hi: 0 }, { lo: -2, hi: 2 }],
    ] as const) {
      const h = histOf(data);
      for (const m of METHODS) {
        expect(chooseRange(h, m, UINT8_ASYM), m.kind).toEqual(asym);
        expect(chooseRange(h, m, INT8), m.kind).toEqual(sym);
      }
    }
  });

  it("unsigned symmetric (zero point 0) cannot hold all-negative data: [0, ε]", () => {
    const h = histOf([-1, -2, -3]);
    for (const m of METHODS) expect(chooseRange(h, m, UINT8_SYM)).toEqual({ lo: 0, hi: ZERO_DATA_EPSILON });
  });

  it("a zero-width percentile result falls back to minmax", () => {
    // Unsigned symmetric: the 99.99th percentile of x is −1, clamped to [0, 0].
    const d = new Float32Array(100_000).fill(-1);
    d[7] = 2;
    const h = histOf(d);
    expect(chooseRange(h, P9999, UINT8_SYM)).toEqual({ lo: 0, hi: 2 });
    // Mostly exact zeros: the percentile lands inside the bin holding 0, so it
    // is within one bin width of 0 (the histogram cannot tell 0 from its bin).
    const z = new Float32Array(100_000);
    z[5] = 2;
    z[6] = -1;
    const hz = histOf(z);
    const r = chooseRange(hz, P9999, INT8);
    expect(r.hi).toBeLessThanOrEqual(hz.binned({ lo: 0, hi: 0 }).width);
  });

  it("two-valued data", () => {
    const h = histOf([0, 1]);
    for (const m of METHODS) {
      const r = chooseRange(h, m, UINT8_ASYM);
      expect(r.lo).toBe(0);
      expect(r.hi).toBeGreaterThan(0.5);
      expect(r.hi).toBeLessThanOrEqual(1);
    }
  });
});

describe("chooseRange on known distributions", () => {
  // 400k N(0, 1) samples plus a handful of outliers at ±30.
  const base = gaussian(400_000, 11);
  const outliers = [30, -30, 29, -28.5, 30, 27];
  const data = Float32Array.from([...base, ...outliers]);
  const h = histOf(data);
  const absSorted = Float64Array.from(data, Math.abs).sort();

  it("minmax keeps the outliers; percentile, mse and entropy clip them (every target)", () => {
    for (const t of TARGETS) {
      const mm = chooseRange(h, MINMAX, t);
      expect(Math.max(-mm.lo, mm.hi), JSON.stringify(t)).toBe(30);
      for (const m of [P9999, MSE, ENTROPY]) {
        const r = chooseRange(h, m, t);
        const what = `${m.kind} ${JSON.stringify(t)} → ${JSON.stringify(r)}`;
        // At 8 bits six outliers in 400k still pull the mse optimum to ~22–27
        // (N·Δ²/12 rounding vs Σ(x − T)² clipping); the others clip to a few σ.
        const limit = m.kind === "mse" ? 28.5 : 12;
        expect(r.hi, what).toBeLessThan(limit);
        expect(r.hi, what).toBeGreaterThan(3);
        if (!t.symmetric) {
          expect(r.lo, what).toBeGreaterThan(-limit);
          expect(r.lo, what).toBeLessThan(-3);
        }
      }
    }
    // At 4 bits rounding error dominates and mse clips to a few σ as well.
    const r4 = chooseRange(h, MSE, INT4);
    expect(r4.hi).toBeGreaterThan(1.5);
    expect(r4.hi).toBeLessThan(5);
  });

  it("percentile of |x| is within one bin width of the exact percentile", () => {
    const w = h.binned({ lo: 0, hi: 0 }).width;
    for (const p of [99, 99.9, 99.99, 99.999]) {
      const exact = absSorted[rankOf(p / 100, absSorted.length) - 1]!;
      const r = chooseRange(h, { kind: "percentile", percentile: p }, INT8);
      expect(Math.abs(r.hi - exact)).toBeLessThanOrEqual(w);
      expect(r.lo).toBe(-r.hi);
    }
    expect(chooseRange(h, { kind: "percentile", percentile: 100 }, INT8)).toEqual(chooseRange(h, MINMAX, INT8));
  });

  it("asymmetric percentile takes the (100 − p)-th and p-th percentiles", () => {
    const sorted = Float64Array.from(data).sort();
    const r = chooseRange(h, { kind: "percentile", percentile: 99.9 }, UINT8_ASYM);
    const w = h.binWidth;
    expect(Math.abs(r.lo - sorted[rankOf(0.001, sorted.length) - 1]!)).toBeLessThanOrEqual(w);
    expect(Math.abs(r.hi - sorted[rankOf(0.999, sorted.length) - 1]!)).toBeLessThanOrEqual(w);
  });

  it("mse is near-optimal for the real quantization error of the data", () => {
    for (const t of [INT8, INT4, UINT8_ASYM, { bits: 4, signed: false, symmetric: false }]) {
      const r = chooseRange(h, MSE, t);
      const got = quantMse(data, r.lo, r.hi, t);
      // Brute force over symmetric thresholds / scaled ranges on the raw data.
      let best = Number.POSITIVE_INFINITY;
      for (let c = 1; c <= 150; c++) {
        const T = (30 * c) / 150;
        best = Math.min(best, quantMse(data, t.symmetric ? -T : -T * (h.min / -30), T * (t.symmetric ? 1 : h.max / 30), t));
      }
      expect(got, JSON.stringify(t)).toBeLessThanOrEqual(best * 1.03);
      expect(got, JSON.stringify(t)).toBeLessThan(quantMse(data, -30, 30, t));
    }
  });

  it("entropy picks a few-sigma threshold for a pure Gaussian (int8)", () => {
    const g = histOf(base);
    const r = chooseRange(g, ENTROPY, INT8);
    expect(r.hi).toBeGreaterThan(2.5);
    expect(r.hi).toBeLessThanOrEqual(Math.max(-g.min, g.max));
  });

  it("uniform data: every method lands near the true range", () => {
    const r = prng(12);
    const u = Float32Array.from({ length: 300_000 }, () => -1 + 4 * r());
    const hu = histOf(u);
    for (const m of METHODS) {
      const a = chooseRange(hu, m, UINT8_ASYM);
      expect(a.lo, m.kind).toBeGreaterThanOrEqual(hu.min);
      expect(a.lo, m.kind).toBeLessThan(-0.97);
      expect(a.hi, m.kind).toBeLessThanOrEqual(hu.max);
      expect(a.hi, m.kind).toBeGreaterThan(2.95);
      const s = chooseRange(hu, m, INT8);
      expect(s.hi, m.kind).toBeGreaterThan(2.95);
      expect(s.hi, m.kind).toBeLessThanOrEqual(3);
    }
  });

  it("one-sided (ReLU-like) data: asymmetric and unsigned symmetric start at 0", () => {
    const relu = Float32Array.from(gaussian(200_000, 13), (x) => Math.max(0, x));
    relu[0] = 25;
    const hr = histOf(relu);
    for (const m of METHODS) {
      for (const t of [UINT8_ASYM, UINT8_SYM]) {
        const r = chooseRange(hr, m, t);
        expect(r.lo, m.kind).toBe(0);
        expect(r.hi, m.kind).toBeGreaterThan(2);
        if (m.kind !== "minmax") expect(r.hi, `${m.kind} ${JSON.stringify(t)}`).toBeLessThan(25);
      }
    }
  });

  it("is deterministic and independent of how the data was batched", () => {
    const split = new StreamingHistogram();
    for (let i = 0; i < data.length; i += 12_345) split.update(data.subarray(i, i + 12_345));
    for (const m of METHODS) {
      for (const t of TARGETS) {
        expect(chooseRange(split, m, t)).toEqual(chooseRange(h, m, t));
      }
    }
  });

  it("timing of chooseRange (printed, not asserted)", () => {
    const lines: string[] = [];
    for (const m of [MSE, ENTROPY]) {
      for (const t of [INT8, UINT8_ASYM]) {
        for (let i = 0; i < 3; i++) chooseRange(h, m, t);
        const t0 = performance.now();
        for (let i = 0; i < 5; i++) chooseRange(h, m, t);
        lines.push(`${m.kind} ${t.symmetric ? "sym" : "asym"} ${((performance.now() - t0) / 5).toFixed(1)} ms`);
      }
    }
    console.log(`chooseRange on a 2048-bin histogram (warm): ${lines.join("; ")}`);
  });
});

/** ONNX Runtime's Entropy calibrator's own histograms and ranges (scripts/make_entropy_golden.py). */
describe("entropy agrees with ONNX Runtime's Entropy calibrator", () => {
  const golden = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/calib/ort-entropy.json"), "utf8")) as {
    options: { num_bins: number; num_quantized_bins: number };
    tensors: Record<string, { counts: number[]; amax: number; min: number; max: number; range: [number, number] }>;
  };

  for (const [name, g] of Object.entries(golden.tensors)) {
    it(`${name}: the search on ORT's histogram gives ORT's range`, () => {
      const cut = entropyCut(Float64Array.from(g.counts), g.amax, golden.options.num_quantized_bins);
      // ORT's edges are float32; ours float64.
      expect(Math.max(g.min, cut.lo)).toBeCloseTo(g.range[0], 5);
      expect(Math.min(g.max, cut.hi)).toBeCloseTo(g.range[1], 5);
    });
  }

  it("clips: at least one golden tensor's range is narrower than its data (not MinMax)", () => {
    const clipped = Object.values(golden.tensors).filter((g) => g.range[1] < g.max - 1e-6 || g.range[0] > g.min + 1e-6);
    expect(clipped.length).toBeGreaterThan(0);
  });

  it("re-binning keeps the mass and puts it where the values are", () => {
    const data = Float32Array.from(gaussian(50_000, 21), (x) => 2 * x + 0.5);
    const h = histOf(data, 65536);
    const { counts, amax } = symmetricHistogram(h.binned({ lo: 0, hi: 0 }), 2048);
    expect(counts.reduce((a, b) => a + b, 0)).toBeCloseTo(data.length, 6);
    expect(amax).toBe(Math.max(-h.min, h.max));
    // Direct counts on the same grid, as numpy.histogram makes them.
    const direct = new Float64Array(2048);
    const W = (2 * amax) / 2048;
    for (const x of data) direct[Math.min(2047, Math.floor((x + amax) / W))]++;
    let moved = 0;
    for (let j = 0; j < 2048; j++) moved += Math.abs(direct[j]! - counts[j]!);
    expect(moved / 2 / data.length).toBeLessThan(0.02);
  });
});
