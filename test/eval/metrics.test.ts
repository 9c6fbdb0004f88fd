import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Agreement, agreementRows, ErrorStats, labelRank, TopKAccuracy } from "../../src/eval/metrics.js";

describe("labelRank", () => {
  it("counts larger scores, and equal scores at lower indices (arg-max's tie rule)", () => {
    const row = [0.1, 0.5, 0.5, 0.2];
    expect(labelRank(row, 0, 4, 1)).toBe(0);
    expect(labelRank(row, 0, 4, 2)).toBe(1);
    expect(labelRank(row, 0, 4, 3)).toBe(2);
    expect(labelRank(row, 0, 4, 0)).toBe(3);
    // offset: the second row of [[9,9],[1,2]]
    expect(labelRank([9, 9, 1, 2], 2, 2, 1)).toBe(0);
  });

  it("puts a NaN score last", () => {
    expect(labelRank([Number.NaN, 1, 2], 0, 3, 0)).toBe(3);
  });
});

describe("TopKAccuracy", () => {
  it("counts top-1 and top-5 hits over batches", () => {
    const acc = new TopKAccuracy(6);
    // row 0: label 5 has the top score          -> top-1, top-5
    // row 1: label 0 is 2nd (rank 1)            -> top-5
    // row 2: label 0 is last (rank 5)           -> neither
    acc.update([0, 1, 2, 3, 4, 9, 8, 9, 0, 0, 0, 0], 2, [5, 0, 0], 0);
    acc.update([0, 1, 2, 3, 4, 5], 1, [5, 0, 0], 2);
    expect(acc.result()).toEqual({ count: 3, correct1: 1, top1: 1 / 3, correct5: 2, top5: 2 / 3 });
  });

  it("leaves top-5 out with five classes or fewer", () => {
    const acc = new TopKAccuracy(3);
    acc.update([1, 0, 0, 0, 0, 1], 2, [0, 1], 0);
    expect(acc.result()).toEqual({ count: 2, correct1: 1, top1: 0.5, correct5: null, top5: null });
  });
});

describe("Agreement", () => {
  it("is the arg-max match rate, streamed", () => {
    const a = new Agreement();
    // ref arg-max: 1, 0 | 0      cand arg-max: 0, 0 | 0 (ties go to the first index)
    a.update([1, 2, 3, 0], [2, 1, 3, 1], 2);
    a.update(Float64Array.from([0, 0]), Float64Array.from([0, 0]), 1);
    expect(a.count).toBe(3);
    expect(a.agree).toBe(2);
    expect(a.rate()).toBeCloseTo(2 / 3, 15);
  });
});

describe("ErrorStats", () => {
  it("computes SQNR, cosine and max |error| (hand-computed)", () => {
    const e = new ErrorStats();
    e.update([1, 2], [1, 2]);
    e.update([3, 4], [3, 5]);
    // Σref² = 30, Σerr² = 1, Σref·cand = 34, Σcand² = 39
    expect(e.sqnrDb()).toBeCloseTo(10 * Math.log10(30), 12);
    expect(e.sqnrDb()).toBeCloseTo(14.771212547, 8);
    expect(e.cosine()).toBeCloseTo(34 / Math.sqrt(30 * 39), 15);
    expect(e.maxAbs).toBe(1);
    expect(e.count).toBe(4);
  });

  it("sums in float64 even for float32 inputs", () => {
    const e = new ErrorStats();
    e.update(Float32Array.from([1e-20]), Float32Array.from([0]));
    expect(e.sumRef2).toBeGreaterThan(0); // 1e-40 underflows float32 but not float64
    expect(e.sqnrDb()).toBeCloseTo(0, 6);
  });

  it("defines the degenerate cases", () => {
    const same = new ErrorStats();
    same.update([1, -2], [1, -2]);
    expect(same.sqnrDb()).toBe(Number.POSITIVE_INFINITY);
    expect(same.cosine()).toBe(1);
    expect(same.maxAbs).toBe(0);

    const zeros = new ErrorStats();
    zeros.update([0, 0], [0, 0]);
    expect(zeros.sqnrDb()).toBe(Number.POSITIVE_INFINITY);
    expect(zeros.cosine()).toBe(1);

    const zeroRef = new ErrorStats();
    zeroRef.update([0, 0], [0, 1]);
    expect(zeroRef.sqnrDb()).toBe(Number.NEGATIVE_INFINITY);
    expect(zeroRef.cosine()).toBe(0);

    const opposite = new ErrorStats();
    opposite.update([1, 2], [-1, -2]);
    expect(opposite.cosine()).toBe(-1);
    // Σref² = 5, Σerr² = 20
    expect(opposite.sqnrDb()).toBeCloseTo(10 * Math.log10(0.25), 12);
  });

  it("lets a NaN through to SQNR and max |error|", () => {
    const e = new ErrorStats();
    e.update([1, 2, 3], [1, Number.NaN, 3]);
    e.update([1], [5]);
    expect(e.sqnrDb()).toBeNaN();
    expect(e.maxAbs).toBeNaN();
  });

  it("rejects batches of different sizes", () => {
    expect(() => new ErrorStats().update([1, 2], [1])).toThrow(RangeError);
  });
});

describe("streaming", () => {
  it("gives the same result however the samples are split into batches", () => {
    const classes = 7;
    const sample = fc.record({
      ref: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: classes, maxLength: classes }),
      cand: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: classes, maxLength: classes }),
      label: fc.integer({ min: 0, max: classes - 1 }),
    });
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 20 }), (samples, batch) => {
        const labels = samples.map((s) => s.label);
        const run = (size: number) => {
          const acc = new TopKAccuracy(classes);
          const agree = new Agreement();
          const err = new ErrorStats();
          for (let start = 0; start < samples.length; start += size) {
            const part = samples.slice(start, start + size);
            const ref = part.flatMap((s) => s.ref.map((v) => v / 4));
            const cand = part.flatMap((s) => s.cand.map((v) => v / 4));
            acc.update(cand, part.length, labels, start);
            agree.update(ref, cand, part.length);
            err.update(ref, cand);
          }
          return { acc: acc.result(), agree: agree.agree, sums: [err.sumRef2, err.sumErr2, err.sumDot, err.maxAbs] };
        };
        // Quarter-integer values: every sum is exact, so batching cannot change it.
        expect(run(batch)).toEqual(run(samples.length));
      }),
    );
  });
});

describe("agreementRows", () => {
  it("gives a rank-3 output one row per position (token logits), a classifier one per sample, one value per sample none", () => {
    expect(agreementRows([4, 16, 500], 4)).toBe(64); // [N, S, V]
    expect(agreementRows([16, 4, 5], 4)).toBe(64); // seq-first [S, N, C]
    expect(agreementRows([4, 10], 4)).toBe(4);
    expect(agreementRows([4, 3, 8, 8], 4)).toBe(4);
    expect(agreementRows([4, 1], 4)).toBeUndefined();
    expect(agreementRows([4, 16, 1], 4)).toBe(4); // one score per position: the arg-max picks a position, per sample
  });
});
