import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_BINS,
  foldAbs,
  quantileOf,
  rankOf,
  StreamingHistogram,
} from "../../src/calib/histogram.js";
import { FixqError } from "../../src/ir/errors.js";
import { seededRandom } from "../helpers/prng.js";

const prng = seededRandom;

function gaussian(n: number, seed: number, zeroFraction = 0): Float32Array {
  const r = prng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = r() < zeroFraction ? 0 : Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  }
  return a;
}

/** Splits data into consecutive batches of the given sizes (cycled). */
function batches(data: Float32Array, sizes: number[]): Float32Array[] {
  const out: Float32Array[] = [];
  let i = 0;
  let k = 0;
  while (i < data.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]!);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

function feed(parts: ArrayLike<number>[], bins = DEFAULT_BINS): StreamingHistogram {
  const h = new StreamingHistogram(bins);
  for (const p of parts) h.update(p);
  return h;
}

const sortedOf = (d: ArrayLike<number>): Float64Array => Float64Array.from(d).sort();
const exactQuantile = (sorted: Float64Array, q: number): number => sorted[rankOf(q, sorted.length) - 1]!;

/** Finite float32 data of varied scale, offset and shape, with repeats. */
const dataArb = fc
  .record({
    values: fc.array(fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }), {
      minLength: 1,
      maxLength: 3000,
    }),
    scale: fc.constantFrom(1e-6, 1, 3.5, 1e4, 1e30),
    offset: fc.constantFrom(0, 0.25, -7, 1000),
    repeatZero: fc.boolean(),
  })
  .map(({ values, scale, offset, repeatZero }) => {
    const d = Float32Array.from(values, (v) => v * scale + offset * (scale < 1e20 ? 1 : 0));
    if (repeatZero) for (let i = 0; i < d.length; i += 3) d[i] = 0;
    return d;
  });

const sizesArb = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 });
const binsArb = fc.constantFrom(16, 17, 64, 2048);

describe("StreamingHistogram basics", () => {
  it("counts finite values exactly and reports NaN/Inf apart", () => {
    const h = new StreamingHistogram();
    const r1 = h.update([1, Number.NaN, -2, Number.POSITIVE_INFINITY, 0.5]);
    expect(r1).toEqual({ finite: 3, nan: 1, posInf: 1, negInf: 0 });
    const r2 = h.update(Float32Array.of(Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 7));
    expect(r2).toEqual({ finite: 1, nan: 0, posInf: 0, negInf: 2 });
    expect(h.count).toBe(4);
    expect(h.min).toBe(-2);
    expect(h.max).toBe(7);
    expect([h.nanCount, h.posInfCount, h.negInfCount]).toEqual([1, 1, 2]);
    const b = h.binned();
    expect(b.counts.reduce((s, c) => s + c, 0)).toBe(4);
  });

  it("counts NaN/Inf inside large batches (the lane path) without binning them", () => {
    const d = gaussian(50_000, 1);
    d[10] = Number.NaN;
    d[20_000] = Number.POSITIVE_INFINITY;
    d[20_001] = Number.NaN;
    d[49_999] = Number.NEGATIVE_INFINITY;
    const h = new StreamingHistogram();
    const r = h.update(d);
    expect(r).toEqual({ finite: 49_996, nan: 2, posInf: 1, negInf: 1 });
    const finite = d.filter((x) => Number.isFinite(x));
    const clean = feed([finite]);
    expect(h.toJSON()).toEqual({ ...clean.toJSON(), nan: 2, posInf: 1, negInf: 1 });
  });

  it("handles batches with no finite values, and empty batches", () => {
    const h = new StreamingHistogram();
    expect(h.update([Number.NaN, Number.NaN])).toEqual({ finite: 0, nan: 2, posInf: 0, negInf: 0 });
    expect(h.update(new Float32Array(0))).toEqual({ finite: 0, nan: 0, posInf: 0, negInf: 0 });
    expect(h.count).toBe(0);
    expect(Number.isNaN(h.min) && Number.isNaN(h.max) && Number.isNaN(h.quantile(0.5))).toBe(true);
    h.update([3]);
    expect([h.count, h.min, h.max, h.nanCount]).toEqual([1, 3, 3, 2]);
  });

  it("counts holes in a sparse number[] as NaN (and terminates)", () => {
    const a: number[] = [1, 2];
    a[10] = 3;
    const big = Array.from({ length: 10_000 }, (_, i) => i / 100);
    delete big[5000];
    const h = new StreamingHistogram();
    expect(h.update(a)).toEqual({ finite: 3, nan: 8, posInf: 0, negInf: 0 });
    expect(h.update(big)).toEqual({ finite: 9999, nan: 1, posInf: 0, negInf: 0 });
  });

  it("keeps no bins while the data is constant, then places the pending mass", () => {
    const h = new StreamingHistogram();
    h.update([2.5, 2.5]);
    h.update(new Float32Array(10_000).fill(2.5));
    expect(h.binWidth).toBe(0);
    expect(h.toJSON().counts).toBeNull();
    expect(h.quantile(0.3)).toBe(2.5);
    h.update([-1]);
    expect(h.count).toBe(10_003);
    expect(h.toJSON()).toEqual(feed([[-1], new Float32Array(10_002).fill(2.5)]).toJSON());
    expect(h.quantile(0.5)).toBeCloseTo(2.5, 2);
  });

  it("rejects bad bin counts and quantiles", () => {
    expect(() => new StreamingHistogram(8)).toThrow(FixqError);
    expect(() => new StreamingHistogram(100.5)).toThrow(FixqError);
    expect(() => new StreamingHistogram().quantile(1.5)).toThrow(FixqError);
  });

  it("−0 and +0 are one value: state does not depend on their order", () => {
    const a = feed([Float32Array.of(-0, 0, 1)]).toJSON();
    expect(feed([Float32Array.of(0, -0, 1)]).toJSON()).toEqual(a);
    expect(Object.is(feed([[-0, -0]]).max, 0)).toBe(true);
  });

  it("bins a tiny negative value left of 0 (floor, not truncation)", () => {
    const b = feed([[-1e-30, 1, -1]]).binned();
    const zeroBin = Math.round(-b.lo / b.width); // bin [0, w)
    expect(b.width).toBeLessThan(1e-2);
    expect(b.counts[zeroBin - 1]).toBe(1); // -1e-30 in [-w, 0)
    expect(b.counts[zeroBin]).toBe(0);
    expect(b.counts[0]).toBe(1); // -1
  });

  it("is exact for float32 extremes and subnormals", () => {
    const d = Float32Array.of(-3.4028234663852886e38, 1.401298464324817e-45, 3.4028234663852886e38, -1.401298464324817e-45);
    const h = feed([d]);
    expect([h.count, h.min, h.max]).toEqual([4, d[0], d[2]]);
    const narrow = Float32Array.of(1, 1 + 2 ** -23, 1 + 2 ** -22);
    const g = feed([narrow]);
    expect(g.binWidth).toBeLessThanOrEqual((2 * (2 ** -22)) / (DEFAULT_BINS - 1));
    expect(Math.abs(g.quantile(0.5) - (1 + 2 ** -23))).toBeLessThanOrEqual(g.binWidth);
  });
});

describe("StreamingHistogram invariants (property)", () => {
  it("exact count/min/max; bins hold all mass; width within the proven bound", () => {
    fc.assert(
      fc.property(dataArb, sizesArb, binsArb, (d, sizes, bins) => {
        const h = feed(batches(d, sizes), bins);
        const s = sortedOf(d);
        expect(h.count).toBe(d.length);
        expect(h.min === s[0] && h.max === s[s.length - 1]).toBe(true); // ±0 compare equal
        const b = h.binned();
        expect(b.counts.length).toBe(h.min === h.max ? 1 : bins);
        expect(b.counts.reduce((a, c) => a + c, 0)).toBe(d.length);
        if (h.max > h.min) {
          const span = h.max - h.min;
          expect(h.binWidth).toBeGreaterThanOrEqual(span / bins);
          expect(h.binWidth).toBeLessThan((2 * span) / (bins - 1));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("quantiles are within one bin width of the exact order statistic", () => {
    fc.assert(
      fc.property(dataArb, sizesArb, binsArb, (d, sizes, bins) => {
        const h = feed(batches(d, sizes), bins);
        const s = sortedOf(d);
        const w = h.binWidth;
        for (const q of [0, 1e-4, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.9999, 1]) {
          expect(Math.abs(h.quantile(q) - exactQuantile(s, q))).toBeLessThanOrEqual(w);
        }
        expect(h.quantile(0) === s[0] && h.quantile(1) === s[s.length - 1]).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("|x| quantiles from foldAbs are within one bin width", () => {
    fc.assert(
      fc.property(dataArb, sizesArb, (d, sizes) => {
        const h = feed(batches(d, sizes));
        const v = h.binned({ lo: 0, hi: 0 });
        if (v.width === 0) return;
        const f = foldAbs(v);
        expect(f.total).toBe(d.length);
        const s = sortedOf(Float64Array.from(d, Math.abs));
        for (const q of [0.01, 0.5, 0.9, 0.999, 1]) {
          expect(Math.abs(quantileOf(f, q) - exactQuantile(s, q))).toBeLessThanOrEqual(v.width);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("state is independent of batching (determinism), and merge equals one stream", () => {
    fc.assert(
      fc.property(dataArb, sizesArb, sizesArb, binsArb, (d, sizesA, sizesB, bins) => {
        const one = feed([d], bins).toJSON();
        expect(feed(batches(d, sizesA), bins).toJSON()).toEqual(one);
        expect(feed(batches(d, sizesB), bins).toJSON()).toEqual(one);
        // Merge per-batch partial histograms in order, and in reverse.
        const parts = batches(d, sizesA).map((p) => feed([p], bins));
        const merged = parts.reduce((acc, p) => acc.merge(p), new StreamingHistogram(bins));
        expect(merged.toJSON()).toEqual(one);
        const reversed = parts.reverse().reduce((acc, p) => acc.merge(p), new StreamingHistogram(bins));
        expect(reversed.toJSON()).toEqual(one);
      }),
      { numRuns: 200 },
    );
  });

  it("re-binning on growth preserves mass (range growing by orders of magnitude, both sides)", () => {
    const r = prng(7);
    const all: number[] = [];
    const h = new StreamingHistogram(64);
    for (let step = 0; step < 40; step++) {
      const scale = 10 ** (step / 4 - 3);
      const sign = step % 3 === 0 ? -1 : 1;
      const batch = Float32Array.from({ length: 1 + (step * 37) % 300 }, () => sign * scale * r());
      h.update(batch);
      all.push(...batch);
      expect(h.count).toBe(all.length);
      expect(h.binned().counts.reduce((a, c) => a + c, 0)).toBe(all.length);
    }
    expect(h.toJSON()).toEqual(feed([Float32Array.from(all)], 64).toJSON());
    const s = sortedOf(Float32Array.from(all));
    for (const q of [0.05, 0.5, 0.95]) {
      expect(Math.abs(h.quantile(q) - exactQuantile(s, q))).toBeLessThanOrEqual(h.binWidth);
    }
  });

  it("large batches (lane path) and small ones (direct path) give identical state", () => {
    const d = gaussian(200_000, 3, 0.4);
    expect(feed(batches(d, [97, 1000, 3])).toJSON()).toEqual(feed([d]).toJSON());
    expect(feed(batches(d, [50_000, 4096, 4095])).toJSON()).toEqual(feed([d]).toJSON());
  });

  it("the two-pass Float32 path equals the per-value path: growth inside a batch, NaN/±Inf runs, truncation and floor", () => {
    const r = prng(12);
    const parts: number[][] = [
      Array.from({ length: 20_000 }, () => Math.max(0, r() - 0.5)), // ReLU-like: x ≥ 0, binned by truncation
      Array.from({ length: 20_000 }, () => (r() - 0.5) * 1e4), // grows the grid mid-batch, both sides
      Array.from({ length: 20_000 }, (_, i) => (i === 7_000 ? Number.NaN : i === 7_001 ? Number.NEGATIVE_INFINITY : -1e-30 * r())), // tiny negatives: floor, not truncation
      Array.from({ length: 20_000 }, () => 3e9 + r() * 1e3), // x·2^−k ≥ 2^31 when the range is narrow
    ];
    const all = Float32Array.from(parts.flat());
    const fast = feed([all]).toJSON();
    expect(fast).toEqual(feed([Array.from(all)]).toJSON());
    expect(fast.nan).toBe(1);
    expect(fast.negInf).toBe(1);
    const narrow = Float32Array.from(parts[3]!);
    expect(feed([narrow]).toJSON()).toEqual(feed([Array.from(narrow)]).toJSON());
    expect(feed(batches(all, [16_383, 1, 16_385])).toJSON()).toEqual(fast);
  });

  it("accepts plain number arrays and Float64Array like Float32Array", () => {
    const d = gaussian(10_000, 4);
    const ref = feed([d]).toJSON();
    expect(feed([Array.from(d)]).toJSON()).toEqual(ref);
    expect(feed([Float64Array.from(d)]).toJSON()).toEqual(ref);
  });

  it("merge handles empty, constant and self operands", () => {
    const a = feed([[1, 1, 1]]);
    const b = feed([[Number.NaN]]);
    a.merge(b);
    expect([a.count, a.nanCount, a.binWidth]).toEqual([3, 1, 0]);
    a.merge(feed([[2, 2]]));
    expect(a.toJSON()).toEqual({ ...feed([[1, 1, 1, 2, 2]]).toJSON(), nan: 1 });
    a.merge(a);
    expect(a.count).toBe(10);
    expect(a.nanCount).toBe(2);
    expect(a.quantile(0)).toBe(1);
    expect(() => a.merge(new StreamingHistogram(64))).toThrow(FixqError);
  });
});

describe("StreamingHistogram JSON and memory", () => {
  it("round-trips through JSON text", () => {
    for (const parts of [[], [[Number.NaN]], [[5, 5]], [gaussian(5000, 5), [100, -3]]]) {
      const h = feed(parts as ArrayLike<number>[]);
      const back = StreamingHistogram.fromJSON(JSON.parse(JSON.stringify(h)));
      expect(back.toJSON()).toEqual(h.toJSON());
      back.update([0.5]);
      h.update([0.5]);
      expect(back.toJSON()).toEqual(h.toJSON());
    }
  });

  it("rejects inconsistent JSON with a data error", () => {
    const good = feed([gaussian(1000, 6)]).toJSON();
    const bad: unknown[] = [
      null,
      { ...good, format: "x" },
      { ...good, count: good.count + 1 },
      { ...good, start: (good.start ?? 0) + 1 },
      { ...good, log2Width: (good.log2Width ?? 0) - 1 },
      { ...good, counts: good.counts!.slice(1) },
      { ...good, min: good.min! - 1 },
      { ...good, counts: good.counts!.map((c, i) => (i === 0 ? c + 1 : c)) },
      { ...good, nan: -1 },
      { ...good, bins: 3 },
    ];
    for (const j of bad) {
      expect(() => StreamingHistogram.fromJSON(j)).toThrow(expect.objectContaining({ code: "data" }));
    }
  });

  it("memory does not grow with the number of updates", () => {
    const h = new StreamingHistogram();
    const batch = new Float32Array(1000);
    const r = prng(8);
    const jsonSize = (): number => JSON.stringify(h).length;
    for (let i = 0; i < batch.length; i++) batch[i] = r() * 2 - 1;
    h.update(batch);
    const heap0 = process.memoryUsage().heapUsed;
    for (let step = 0; step < 20_000; step++) {
      batch[step % batch.length] = (r() * 2 - 1) * 0.999;
      h.update(batch);
    }
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    expect(h.count).toBe(20_001 * 1000);
    expect(h.binned().counts.length).toBe(DEFAULT_BINS);
    // At most one ≤ 17-digit count per bin; the raw values would be 80 MB.
    expect(jsonSize()).toBeLessThan(DEFAULT_BINS * 18 + 1000);
    expect(heapGrowth).toBeLessThan(16 * 1024 * 1024);
  });

  it("micro-benchmark: update throughput (printed, not asserted)", () => {
    const n = 1 << 20;
    const sum = (d: Float32Array): number => {
      let acc = 0;
      for (let i = 0; i < d.length; i++) acc += d[i]!;
      return acc;
    };
    const cases: [string, Float32Array][] = [
      ["gaussian", gaussian(n, 9)],
      ["relu-like (50% zeros)", gaussian(n, 10, 0.5).map(Math.abs)],
    ];
    const lines: string[] = [];
    let sink = 0;
    for (const [name, d] of cases) {
      const h = new StreamingHistogram();
      for (let i = 0; i < 10; i++) h.update(d);
      let best = 0;
      const ratios: number[] = [];
      for (let k = 0; k < 9; k++) {
        let t = performance.now();
        for (let i = 0; i < 3; i++) h.update(d);
        const tu = performance.now() - t;
        t = performance.now();
        for (let i = 0; i < 3; i++) sink += sum(d);
        ratios.push(tu / (performance.now() - t));
        best = Math.max(best, (3 * n) / (tu / 1000));
      }
      ratios.sort((x, y) => x - y);
      lines.push(`${name}: ${(best / 1e6).toFixed(0)} M values/s, ${ratios[4]!.toFixed(1)}× a plain sum loop`);
    }
    expect(Number.isFinite(sink)).toBe(true); // keeps the sum loop live
    console.log(`StreamingHistogram.update, Float32Array batches of 2^20: ${lines.join("; ")}`);
  });
});
