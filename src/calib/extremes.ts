/**
 * Streaming extremes: exact min/max and count of the finite values, NaN/±Inf
 * counted apart, with no bins. It is all that minmax calibration reads, and
 * it agrees with StreamingHistogram on every figure both keep (−0 counts as
 * 0, so the extremes do not depend on the order of the data).
 *
 * Values arrive either as arrays (`update`) or as a batch already reduced
 * elsewhere (`add`: its count, min and max, all finite), which is how
 * calibration takes the in-graph ReduceMin/ReduceMax results from ORT.
 */
import { FiniteStats } from "./finite-stats.js";
import { float32Extremes, type UpdateReport } from "./histogram.js";

export class StreamingExtremes extends FiniteStats {


  /** Adds a batch of values; NaN and ±Inf are only counted. */
  update(values: Float32Array | ArrayLike<number>): UpdateReport {
    const len = values.length;
    const r = values instanceof Float32Array ? scanF32(values) : scanAny(values);
    const finite = len - r.nan - r.posInf - r.negInf;
    this.nan += r.nan;
    this.posInf += r.posInf;
    this.negInf += r.negInf;
    if (finite > 0) this.add(finite, r.min, r.max);
    return { finite, nan: r.nan, posInf: r.posInf, negInf: r.negInf };
  }

  /** Adds `count` finite values whose extremes are `min` and `max` (count 0 adds nothing). */
  add(count: number, min: number, max: number): void {
    if (count === 0) return;
    this.n += count;
    if (min < this.lo) this.lo = min + 0; // −0 → +0
    if (max > this.hi) this.hi = max + 0;
  }

  merge(other: StreamingExtremes): this {
    this.nan += other.nan;
    this.posInf += other.posInf;
    this.negInf += other.negInf;
    this.add(other.n, other.lo, other.hi);
    return this;
  }
}

interface Scan {
  min: number;
  max: number;
  nan: number;
  posInf: number;
  negInf: number;
}

/** Float32 fast path (see histogram.ts): one pass, unless the batch is not all finite. */
function scanF32(v: Float32Array): Scan {
  const e = float32Extremes(v);
  return e.allFinite ? { min: e.min, max: e.max, nan: 0, posInf: 0, negInf: 0 } : scanAny(v);
}

function scanAny(v: ArrayLike<number>): Scan {
  let mn = Number.POSITIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  for (let i = 0; i < v.length; i++) {
    const x = +v[i]!;
    if (x - x === 0) {
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    } else if (x === Number.POSITIVE_INFINITY) posInf++;
    else if (x === Number.NEGATIVE_INFINITY) negInf++;
    else nan++;
  }
  return { min: mn + 0, max: mx + 0, nan, posInf, negInf };
}
