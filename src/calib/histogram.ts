/**
 * Streaming activation histogram: bounded memory, exact min/max/count,
 * NaN/±Inf counted apart, and a fixed number of bins B (default 2048) on a
 * power-of-two grid anchored at 0 that widens as the data's range grows.
 *
 * Grid. Bin width w = 2^k (k an integer ≥ K_MIN = −1000); global bin g covers
 * [g·w, (g+1)·w), so a finite x falls in bin floor(x·2^−k) — a product by a
 * power of two, exact for every float32 input. The histogram keeps a window
 * of B consecutive bins starting at global bin s.
 *
 * Canonical state. With min < max the exact extremes of the finite values,
 *   k = the least integer ≥ K_MIN with floor(max/2^k) − floor(min/2^k) ≤ B − 1,
 *   s = floor(min/2^k),
 * and every bin holds the exact number of values in it. (The predicate is
 * monotone in k: halving indices a ≥ b gives floor(a/2) − floor(b/2) ≤
 * (a − b + 1)/2 ≤ B − 1.) Growing to a wider range only increases k; going
 * from k to k + d maps old bin g to floor(g/2^d), and since
 * floor(floor(x/w)/2^d) = floor(x/(w·2^d)) every old count lands in the bin
 * its value would have been binned to directly: no mass is lost or smeared.
 * So the state is a function of the multiset of finite values alone: the same
 * data in any batching, or split and combined with `merge`, gives identical
 * state (and identical `toJSON`; −0 counts as 0). While all finite values
 * are equal (min = max) no bins are allocated; the first value that differs
 * creates them, with the pending count in its bin.
 *
 * Error bound (proof). If k > K_MIN then k − 1 fails the predicate:
 * floor(max/(w/2)) − floor(min/(w/2)) ≥ B, and as floor(a) − floor(b) <
 * a − b + 1, (max − min)/(w/2) > B − 1, i.e.
 *     (max − min)/B  ≤  w  <  2·(max − min)/(B − 1)
 * (the left side because B bins cover [min, max]). With B = 2048 the width is
 * under (max − min)/1023.5. `quantile(q)` returns an estimate inside the bin
 * holding the true order statistic x₍ᵣ₎, r = clamp(ceil(q·n), 1, n), clipped
 * to [min, max] (q = 0 and q = 1 give min and max exactly), so
 *     |quantile(q) − x₍ᵣ₎| ≤ w.
 * The exceptions are ranges narrower than ~2^−990 (w stops at 2^K_MIN) and
 * doubles so far outside the float32 exponent range that x·2^−k underflows
 * to 0; neither can happen for float32 data.
 *
 * Speed. `update` is one pass: floor(x·2^−k) − s, a range test, an increment.
 * Float32Array batches of ≥ 4096 go four elements per step into 4
 * interleaved int32 lanes (element i into lane i mod 4) so runs of equal
 * values (ReLU zeros) don't serialise on one counter; lanes are folded into
 * the float64 counts after each run. A finite value outside the window stops
 * the loop: the rest of the batch is scanned for its extremes, the grid grows
 * once, and binning resumes. A NaN/±Inf hands the rest of the batch to a slower loop that counts
 * them. Other array types (number[], Float64Array) take that slower loop
 * throughout, which keeps the fast loop monomorphic. No allocation per
 * element or per batch (bar growth and the report).
 */
import { FixqError } from "../ir/errors.js";

export const DEFAULT_BINS = 2048;
/** Smallest bin width is 2^K_MIN; 2^K_MAX always fits any finite range in 16 bins. */
const K_MIN = -1000;
const K_MAX = 1022;
const MIN_BINS = 16;
const MAX_BINS = 1 << 20;
/** Batches shorter than this count straight into the float64 bins. */
const LANE_MIN = 4096;
/** Elements per lane run: keeps each int32 lane counter below 2^31. */
const CHUNK = 1 << 30;

/** What one `update` saw. Non-finite values are counted here, never binned. */
export interface UpdateReport {
  finite: number;
  nan: number;
  posInf: number;
  negInf: number;
}

/**
 * Counts on a uniform grid: bin j covers [lo + j·width, lo + (j+1)·width] and
 * every counted value lies in its bin and in [min, max] (bounds, maybe loose).
 * `width` is 0 only for a single point (min = max).
 */
export interface Binned {
  readonly lo: number;
  readonly width: number;
  readonly counts: Float64Array;
  readonly total: number;
  readonly min: number;
  readonly max: number;
}

/** `toJSON` form; bins as a dense array, `null` where the grid does not exist yet. */
export interface HistogramJSON {
  format: "fixq-histogram";
  version: 1;
  bins: number;
  count: number;
  nan: number;
  posInf: number;
  negInf: number;
  min: number | null;
  max: number | null;
  log2Width: number | null;
  start: number | null;
  counts: number[] | null;
}

export class StreamingHistogram {
  readonly bins: number;
  private n = 0;
  private nan = 0;
  private posInf = 0;
  private negInf = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;
  /** Bins exist only once min < max. */
  private grid: Float64Array | null = null;
  private k = 0;
  private s = 0;
  private inv = 1;

  constructor(bins: number = DEFAULT_BINS) {
    if (!Number.isInteger(bins) || bins < MIN_BINS || bins > MAX_BINS) {
      throw new FixqError("usage", `histogram bins must be an integer in [${MIN_BINS}, ${MAX_BINS}], got ${bins}`);
    }
    this.bins = bins;
  }

  /** Number of finite values seen. */
  get count(): number {
    return this.n;
  }
  get nanCount(): number {
    return this.nan;
  }
  get posInfCount(): number {
    return this.posInf;
  }
  get negInfCount(): number {
    return this.negInf;
  }
  /** Exact smallest finite value (NaN when none). */
  get min(): number {
    return this.n === 0 ? Number.NaN : this.lo;
  }
  /** Exact largest finite value (NaN when none). */
  get max(): number {
    return this.n === 0 ? Number.NaN : this.hi;
  }
  /** Current bin width w = 2^k; 0 while all finite values are equal (or none). */
  get binWidth(): number {
    return this.grid ? pow2(this.k) : 0;
  }

  /** Adds a batch. Finite values are binned; NaN and ±Inf are only counted and reported. */
  update(values: Float32Array | ArrayLike<number>): UpdateReport {
    const n0 = this.n;
    const nan0 = this.nan;
    const pos0 = this.posInf;
    const neg0 = this.negInf;
    const len = values.length;
    let i = 0;
    if (this.grid === null) {
      scanFinite(values, 0);
      if (!(scanOut[0] <= scanOut[1])) {
        this.countNonFinite(values); // no finite value in the batch
        return this.report(n0, nan0, pos0, neg0);
      }
      const lo = Math.min(this.lo, scanOut[0]);
      const hi = Math.max(this.hi, scanOut[1]);
      if (lo === hi) {
        this.countNonFinite(values);
        this.n += len - (this.nan - nan0) - (this.posInf - pos0) - (this.negInf - neg0);
        this.lo = lo;
        this.hi = hi;
        return this.report(n0, nan0, pos0, neg0);
      }
      this.cover(lo, hi);
    }
    for (;;) {
      i = this.binFrom(values, i);
      if (i >= len) break;
      scanFinite(values, i); // values[i] is finite and outside the window
      this.cover(Math.min(this.lo, scanOut[0]), Math.max(this.hi, scanOut[1]));
    }
    return this.report(n0, nan0, pos0, neg0);
  }

  /** Adds another histogram's contents (same bin count). Exact: equals streaming both inputs. */
  merge(other: StreamingHistogram): this {
    if (other.bins !== this.bins) {
      throw new FixqError("usage", `cannot merge histograms with ${other.bins} and ${this.bins} bins`);
    }
    const src = other === this ? other.clone() : other;
    this.nan += src.nan;
    this.posInf += src.posInf;
    this.negInf += src.negInf;
    if (src.n === 0) return this;
    const lo = Math.min(this.lo, src.lo);
    const hi = Math.max(this.hi, src.hi);
    if (lo < hi) {
      this.cover(lo, hi);
      const dst = this.grid!;
      if (src.grid === null) {
        dst[Math.floor(src.lo * this.inv) - this.s] += src.n;
      } else {
        rebinInto(src.grid, src.s, src.k, dst, this.s, this.k);
      }
    }
    this.n += src.n;
    this.lo = lo;
    this.hi = hi;
    return this;
  }

  clone(): StreamingHistogram {
    const c = new StreamingHistogram(this.bins);
    c.n = this.n;
    c.nan = this.nan;
    c.posInf = this.posInf;
    c.negInf = this.negInf;
    c.lo = this.lo;
    c.hi = this.hi;
    c.grid = this.grid ? this.grid.slice() : null;
    c.k = this.k;
    c.s = this.s;
    c.inv = this.inv;
    return c;
  }

  /**
   * Estimate of the order statistic x₍ᵣ₎, r = clamp(ceil(q·n), 1, n): exact for
   * r = 1 and r = n, otherwise within one bin width (see the module comment).
   */
  quantile(q: number): number {
    const r = rankOf(q, Math.max(1, this.n));
    if (this.n === 0) return Number.NaN;
    if (r === 1) return this.lo;
    if (r === this.n) return this.hi;
    if (this.grid === null) return this.lo;
    const w = pow2(this.k);
    return quantileOf({ lo: this.s * w, width: w, counts: this.grid, total: this.n, min: this.lo, max: this.hi }, q);
  }

  /**
   * A snapshot of the counts. With `cover`, the grid is the canonical one for
   * [min(lo, min), max(hi, max)] — coarser if needed so that, e.g., 0 lies on
   * the grid inside B bins; counts are re-binned exactly. `min`/`max` stay the
   * data's exact extremes.
   */
  binned(cover?: { lo: number; hi: number }): Binned {
    if (this.n === 0) return { lo: 0, width: 0, counts: new Float64Array(0), total: 0, min: Number.NaN, max: Number.NaN };
    const lo = cover ? Math.min(cover.lo, this.lo) : this.lo;
    const hi = cover ? Math.max(cover.hi, this.hi) : this.hi;
    if (!(lo < hi)) {
      return { lo, width: 0, counts: Float64Array.of(this.n), total: this.n, min: this.lo, max: this.hi };
    }
    const k = leastFittingK(lo, hi, this.bins);
    const s = Math.floor(lo * pow2(-k));
    const counts = new Float64Array(this.bins);
    if (this.grid === null) counts[Math.floor(this.lo * pow2(-k)) - s] = this.n;
    else rebinInto(this.grid, this.s, this.k, counts, s, k);
    return { lo: s * pow2(k), width: pow2(k), counts, total: this.n, min: this.lo, max: this.hi };
  }

  toJSON(): HistogramJSON {
    const has = this.n > 0;
    return {
      format: "fixq-histogram",
      version: 1,
      bins: this.bins,
      count: this.n,
      nan: this.nan,
      posInf: this.posInf,
      negInf: this.negInf,
      min: has ? this.lo : null,
      max: has ? this.hi : null,
      log2Width: this.grid ? this.k : null,
      start: this.grid ? this.s : null,
      counts: this.grid ? Array.from(this.grid) : null,
    };
  }

  /** Inverse of `toJSON`; checks the state is canonical and self-consistent. */
  static fromJSON(json: unknown): StreamingHistogram {
    const bad = (why: string): never => {
      throw new FixqError("data", `invalid histogram JSON: ${why}`);
    };
    if (typeof json !== "object" || json === null) return bad("not an object");
    const j = json as Partial<Record<keyof HistogramJSON, unknown>>;
    if (j.format !== "fixq-histogram" || j.version !== 1) bad("format/version is not fixq-histogram/1");
    const bins = j.bins;
    if (typeof bins !== "number" || !Number.isInteger(bins) || bins < MIN_BINS || bins > MAX_BINS) {
      return bad(`bins must be an integer in [${MIN_BINS}, ${MAX_BINS}]`);
    }
    const h = new StreamingHistogram(bins);
    const cnt = (v: unknown, what: string): number =>
      typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : bad(`${what} must be a non-negative integer`);
    h.n = cnt(j.count, "count");
    h.nan = cnt(j.nan, "nan");
    h.posInf = cnt(j.posInf, "posInf");
    h.negInf = cnt(j.negInf, "negInf");
    if (h.n === 0) {
      if (j.min !== null || j.max !== null || j.counts !== null) bad("empty histogram with min/max/counts");
      return h;
    }
    const fin = (v: unknown, what: string): number =>
      typeof v === "number" && Number.isFinite(v) ? v : bad(`${what} must be a finite number`);
    h.lo = fin(j.min, "min");
    h.hi = fin(j.max, "max");
    if (h.lo > h.hi) bad("min > max");
    if (h.lo === h.hi) {
      if (j.counts !== null || j.log2Width !== null || j.start !== null) bad("constant data has no bins");
      return h;
    }
    const k = leastFittingK(h.lo, h.hi, h.bins);
    if (j.log2Width !== k || j.start !== Math.floor(h.lo * pow2(-k))) bad("grid is not the canonical one for min/max");
    if (!Array.isArray(j.counts) || j.counts.length !== h.bins) bad(`counts must be an array of ${h.bins} numbers`);
    const grid = Float64Array.from(j.counts as unknown[], (c) => cnt(c, "a bin count"));
    h.setGrid(grid, k, j.start as number);
    const first = Math.floor(h.lo * h.inv) - h.s;
    const last = Math.floor(h.hi * h.inv) - h.s;
    let sum = 0;
    for (let b = 0; b < grid.length; b++) {
      if (grid[b] > 0 && (b < first || b > last)) bad(`bin ${b} is outside [min, max]`);
      sum += grid[b];
    }
    if (sum !== h.n || grid[first] === 0 || grid[last] === 0) bad("bin counts disagree with count/min/max");
    return h;
  }

  private report(n0: number, nan0: number, pos0: number, neg0: number): UpdateReport {
    return { finite: this.n - n0, nan: this.nan - nan0, posInf: this.posInf - pos0, negInf: this.negInf - neg0 };
  }

  private countNonFinite(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) {
      const x = +values[i];
      if (Number.isNaN(x)) this.nan++;
      else if (x === Number.POSITIVE_INFINITY) this.posInf++;
      else if (x === Number.NEGATIVE_INFINITY) this.negInf++;
    }
  }

  private setGrid(grid: Float64Array, k: number, s: number): void {
    this.grid = grid;
    this.k = k;
    this.s = s;
    this.inv = pow2(-k);
  }

  /** Moves to the canonical grid for [lo, hi] (lo < hi, a superset of the data seen). */
  private cover(lo: number, hi: number): void {
    const k = leastFittingK(lo, hi, this.bins);
    const s = Math.floor(lo * pow2(-k));
    if (this.grid !== null && k === this.k && s === this.s) return;
    const next = new Float64Array(this.bins);
    if (this.grid !== null) rebinInto(this.grid, this.s, this.k, next, s, k);
    else if (this.n > 0) next[Math.floor(this.lo * pow2(-k)) - s] = this.n;
    this.setGrid(next, k, s);
  }

  /** Bins values[from..) until a finite value outside the window; returns its index (or length). */
  private binFrom(values: ArrayLike<number>, from: number): number {
    const len = values.length;
    const grid = this.grid!;
    const { inv, s, bins } = this;
    let i = from;
    while (i < len) {
      const end = Math.min(len, i + CHUNK);
      if (end - i >= LANE_MIN && values instanceof Float32Array) {
        const lanes = lanesFor(bins);
        const stop = runLanes(values, i, end, lanes, inv, s, bins);
        if (runOut[0] <= runOut[1]) foldLanes(lanes, grid, Math.floor(runOut[0] * inv) - s, Math.floor(runOut[1] * inv) - s);
        this.absorb(stop - i);
        i = stop;
      }
      // The < 4 leftover values, short batches, other array types, and the
      // rest of a run that met NaN/±Inf (or stopped at a value outside).
      const stop = runCareful(values, i, end, grid, inv, s, bins);
      this.absorb(stop - i - runOut[2] - runOut[3] - runOut[4]);
      this.nan += runOut[2];
      this.posInf += runOut[3];
      this.negInf += runOut[4];
      i = stop;
      if (stop < end) return stop;
    }
    return len;
  }

  /** Takes in a run's finite count and extremes from runOut. */
  private absorb(finite: number): void {
    this.n += finite;
    if (runOut[0] < this.lo) this.lo = runOut[0];
    if (runOut[1] > this.hi) this.hi = runOut[1];
  }
}

/** Rank used by all quantile readers: r = clamp(ceil(q·n), 1, n), 1-based. */
export function rankOf(q: number, n: number): number {
  if (!(q >= 0 && q <= 1)) throw new FixqError("usage", `quantile must be in [0, 1], got ${q}`);
  return Math.min(n, Math.max(1, Math.ceil(q * n)));
}

/**
 * Quantile of binned counts: finds the bin holding rank r and interpolates
 * linearly inside bin ∩ [min, max], so the result is within one bin width of
 * the true order statistic.
 */
export function quantileOf(b: Binned, q: number): number {
  if (b.total === 0) return Number.NaN;
  const r = rankOf(q, b.total);
  if (b.width === 0) return b.min;
  const counts = b.counts;
  let below = 0;
  for (let j = 0; j < counts.length; j++) {
    const c = counts[j];
    if (c > 0 && below + c >= r) {
      const a = Math.max(b.lo + j * b.width, b.min);
      const e = Math.min(b.lo + (j + 1) * b.width, b.max);
      return Math.min(e, Math.max(a, a + ((e - a) * (r - below - 0.5)) / c));
    }
    below += c;
  }
  return b.max;
}

/**
 * Histogram of |x| from one whose grid has 0 on a bin edge (lo a multiple of
 * width, as every grid here is): bin g ≥ 0 stays bin g, bin g < 0 becomes bin
 * −g − 1. A value −m·w lands on the right edge of its new bin, still inside
 * it as a closed interval, so the one-bin-width quantile bound carries over.
 */
export function foldAbs(b: Binned): Binned {
  const minAbs = b.min >= 0 ? b.min : b.max <= 0 ? -b.max : 0;
  const maxAbs = Math.max(Math.abs(b.min), Math.abs(b.max));
  if (b.width === 0) return { ...b, lo: Math.abs(b.lo), min: minAbs, max: maxAbs };
  const start = Math.round(b.lo / b.width);
  const end = start + b.counts.length;
  const size = Math.max(end, -start, 0);
  const counts = new Float64Array(size);
  for (let j = 0; j < b.counts.length; j++) {
    const g = start + j;
    counts[g >= 0 ? g : -g - 1] += b.counts[j];
  }
  return { lo: 0, width: b.width, counts, total: b.total, min: minAbs, max: maxAbs };
}

// --- grid arithmetic -------------------------------------------------------

const pv = new DataView(new ArrayBuffer(8));
/** Exactly 2^e for an integer e in [−1022, 1023], built from its bits. */
export function pow2(e: number): number {
  pv.setUint32(0, ((e + 1023) << 20) >>> 0);
  pv.setUint32(4, 0);
  return pv.getFloat64(0);
}

function fits(lo: number, hi: number, k: number, bins: number): boolean {
  const inv = pow2(-k);
  return Math.floor(hi * inv) - Math.floor(lo * inv) <= bins - 1;
}

/** Least k ≥ K_MIN with floor(hi/2^k) − floor(lo/2^k) ≤ bins − 1 (monotone in k). */
function leastFittingK(lo: number, hi: number, bins: number): number {
  const halfSpan = hi / 2 - lo / 2;
  const guess = Math.ceil(Math.log2(halfSpan) + 1 - Math.log2(bins - 1));
  let k = Number.isFinite(guess) ? Math.min(K_MAX, Math.max(K_MIN, guess)) : K_MIN;
  while (k < K_MAX && !fits(lo, hi, k, bins)) k++;
  while (k > K_MIN && fits(lo, hi, k - 1, bins)) k--;
  return k;
}

/** floor(g / 2^d) for an integer g with |g| < 2^70 and d ≥ 0. */
function floorDivPow2(g: number, d: number): number {
  if (d === 0) return g;
  if (d > 80) return g < 0 ? -1 : 0;
  return Math.floor(g * pow2(-d));
}

/** Adds counts on grid (s, k) into dst on the coarser-or-equal grid (s2, k2 ≥ k). */
function rebinInto(src: Float64Array, s: number, k: number, dst: Float64Array, s2: number, k2: number): void {
  const d = k2 - k;
  for (let j = 0; j < src.length; j++) {
    const c = src[j];
    if (c !== 0) dst[floorDivPow2(s + j, d) - s2] += c;
  }
}

// --- hot loops ---------------------------------------------------------------

/** [min, max] of the finite values of the last scan (min > max when none). */
const scanOut = new Float64Array(2);

function scanFinite(values: ArrayLike<number>, from: number): void {
  let mn = Number.POSITIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  for (let i = from; i < values.length; i++) {
    const x = +values[i]; // holes/undefined → NaN
    if (x - x === 0) {
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
  }
  scanOut[0] = mn + 0;
  scanOut[1] = mx + 0;
}

/** Results of the last run: [min, max] of binned values, then NaN, +Inf, −Inf counts. */
const runOut = new Float64Array(5);

/**
 * The hot loop: whole quads only, element i into lane i mod 4 of bin t
 * (lanes[4t + i mod 4]); stops before the first quad holding a value outside
 * the window or non-finite. No rarely-taken code lives here: a branch that
 * runs for the first time in optimised code deoptimises it, and with few,
 * long calls V8 may then run the loop unoptimised for a long while.
 */
function runLanes(
  values: Float32Array,
  from: number,
  end: number,
  lanes: Int32Array,
  inv: number,
  s: number,
  bins: number,
): number {
  let mn = Number.POSITIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  let i = from;
  for (; i + 3 < end; i += 4) {
    const x0 = values[i];
    const x1 = values[i + 1];
    const x2 = values[i + 2];
    const x3 = values[i + 3];
    const t0 = Math.floor(x0 * inv) - s;
    const t1 = Math.floor(x1 * inv) - s;
    const t2 = Math.floor(x2 * inv) - s;
    const t3 = Math.floor(x3 * inv) - s;
    if (!(t0 >= 0 && t0 < bins && t1 >= 0 && t1 < bins && t2 >= 0 && t2 < bins && t3 >= 0 && t3 < bins)) break;
    lanes[t0 << 2]++;
    lanes[(t1 << 2) | 1]++;
    lanes[(t2 << 2) | 2]++;
    lanes[(t3 << 2) | 3]++;
    if (x0 < mn) mn = x0;
    if (x0 > mx) mx = x0;
    if (x1 < mn) mn = x1;
    if (x1 > mx) mx = x1;
    if (x2 < mn) mn = x2;
    if (x2 > mx) mx = x2;
    if (x3 < mn) mn = x3;
    if (x3 > mx) mx = x3;
  }
  runOut[0] = mn + 0; // −0 → +0: extremes are canonical whatever the order
  runOut[1] = mx + 0;
  return i;
}

/** Straight into the float64 bins, counting NaN/±Inf; stops at a finite value outside the window. */
function runCareful(
  values: ArrayLike<number>,
  from: number,
  end: number,
  grid: Float64Array,
  inv: number,
  s: number,
  bins: number,
): number {
  let mn = Number.POSITIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  let nan = 0;
  let pos = 0;
  let neg = 0;
  let i = from;
  for (; i < end; i++) {
    const x = +values[i];
    const t = Math.floor(x * inv) - s;
    if (t >= 0 && t < bins) {
      grid[t | 0] += 1;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    } else if (Number.isNaN(x)) nan++;
    else if (x === Number.POSITIVE_INFINITY) pos++;
    else if (x === Number.NEGATIVE_INFINITY) neg++;
    else break;
  }
  runOut[0] = mn + 0; // −0 → +0: extremes are canonical whatever the order
  runOut[1] = mx + 0;
  runOut[2] = nan;
  runOut[3] = pos;
  runOut[4] = neg;
  return i;
}

/** One lane buffer shared by all histograms (runs are synchronous); kept zeroed between runs. */
let sharedLanes = new Int32Array(0);

function lanesFor(bins: number): Int32Array {
  if (sharedLanes.length < 4 * bins) sharedLanes = new Int32Array(4 * bins);
  return sharedLanes;
}

function foldLanes(lanes: Int32Array, grid: Float64Array, first: number, last: number): void {
  for (let t = first; t <= last; t++) {
    const b = t << 2;
    grid[t] += lanes[b] + lanes[b + 1] + lanes[b + 2] + lanes[b + 3];
    lanes[b] = 0;
    lanes[b + 1] = 0;
    lanes[b + 2] = 0;
    lanes[b + 3] = 0;
  }
}
