/**
 * StreamingExtremes keeps exactly the figures of a StreamingHistogram that
 * minmax calibration reads (count, min, max, NaN/±Inf counts), whatever the
 * array type and batching; `add` takes batches reduced elsewhere.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamingExtremes } from "../../src/calib/extremes.js";
import { StreamingHistogram } from "../../src/calib/histogram.js";
import { chooseRange, parseCalibrationMethod } from "../../src/calib/range.js";
import { FixqError } from "../../src/ir/errors.js";

const figures = (h: StreamingExtremes | StreamingHistogram) => [h.count, h.min, h.max, h.nanCount, h.posInfCount, h.negInfCount];

const valueArb = fc.oneof(
  { weight: 8, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
);

describe("StreamingExtremes", () => {
  it("agrees with StreamingHistogram on count, extremes and non-finite counts, for any batching and array type", () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (values, batch) => {
        const h = new StreamingHistogram();
        const e = new StreamingExtremes();
        const e2 = new StreamingExtremes();
        const f = Float32Array.from(values);
        for (let i = 0; i < f.length; i += batch) {
          h.update(f.subarray(i, i + batch));
          e.update(f.subarray(i, i + batch));
          e2.update(Array.from(f.subarray(i, i + batch)));
        }
        expect(figures(e)).toEqual(figures(h));
        expect(figures(e2)).toEqual(figures(h));
        if (e.count > 0) expect(Object.is(e.min, h.min) && Object.is(e.max, h.max)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("takes batches reduced elsewhere, with −0 read as +0, and merges", () => {
    const e = new StreamingExtremes();
    e.add(0, -5, 5); // an empty batch adds nothing
    expect(e.count).toBe(0);
    expect(e.min).toBeNaN();
    e.add(3, -0, -0);
    expect(Object.is(e.min, 0) && Object.is(e.max, 0)).toBe(true);
    e.add(2, -1.5, 0.25);
    const f = new StreamingExtremes();
    f.update(Float32Array.of(7, Number.NaN, Number.NEGATIVE_INFINITY));
    e.merge(f);
    expect(figures(e)).toEqual([6, -1.5, 7, 1, 0, 1]);
  });

  it("is enough for minmax ranges (the same as from a histogram), and refuses the histogram methods", () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3 + 0.5);
    const h = new StreamingHistogram();
    h.update(data);
    const e = new StreamingExtremes();
    e.update(data);
    const target = { bits: 8, signed: false, symmetric: false };
    expect(chooseRange(e, parseCalibrationMethod("minmax"), target)).toEqual(chooseRange(h, parseCalibrationMethod("minmax"), target));
    expect(() => chooseRange(e, parseCalibrationMethod("percentile"), target)).toThrow(FixqError);
    expect(() => chooseRange(e, parseCalibrationMethod("entropy"), target)).toThrow(/needs a histogram/);
  });
});
