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
 * Speed. Float32Array batches go in runs of 2^14 values (small enough to
 * stay in cache between the two passes over them). Pass one finds the run's
 * extremes and whether all its values are finite; if the extremes fall
 * outside the window the grid grows once, before any value is binned. Pass
 * two then bins with no test at all: floor(x·2^−k) − s (a truncation when
 * every x ≥ 0), element i into lane i mod 4 of 4 interleaved int32 lanes so
 * runs of equal values (ReLU zeros) don't serialise on one counter; the
 * lanes are folded into the float64 counts at the end of the batch (or when
 * the grid changes). A run holding NaN/±Inf, and any other array type
 * (number[], Float64Array), takes a slower loop with a range test per value
 * that counts them. No allocation per element or per batch (bar growth and
 * the report).
 */
import { FiniteStats } from "./finite-stats.js";
import { FixqError } from "../ir/errors.js";

export const DEFAULT_BINS = 2048;
/** Smallest bin width is 2^K_MIN; 2^K_MAX always fits any finite range in 16 bins. */
const K_MIN = -1000;
const K_MAX = 1022;
const MIN_BINS = 16;
const MAX_BINS = 1 << 20;
/** Float32 values per fast-path run: small enough to be re-read from cache by the binning pass. */
const SCAN = 1 << 14;
/** Values counted in the lanes between folds: keeps each int32 lane counter below 2^31. */
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

export class StreamingHistogram extends FiniteStats {
  readonly bins: number;
  /** Bins exist only once min < max. */
  private grid: Float64Array | null = null;
  private k = 0;
  private s = 0;
  private inv = 1;
  /** Fast-path values counted in the shared lanes but not yet folded into `grid`, and their bin span. */
  private pendingCount = 0;
  private pendingFirst = 0;
  private pendingLast = 0;

  constructor(bins: number = DEFAULT_BINS) {
    super();
    if (!Number.isInteger(bins) || bins < MIN_BINS || bins > MAX_BINS) {
      throw new FixqError("usage", `histogram bins must be an integer in [${MIN_BINS}, ${MAX_BINS}], got ${bins}`);
    }
    this.bins = bins;
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
    if (values instanceof Float32Array) {
      for (let c = 0; c < len; c += SCAN) {
        const e = Math.min(len, c + SCAN);
        if (!this.updateFinite(values, c, e)) {
          this.foldPending();
          this.updateGeneral(values, c, e);
        }
      }
      this.foldPending();
    } else {
      this.updateGeneral(values, 0, len);
    }
    return this.report(n0, nan0, pos0, neg0);
  }

  /**
   * Fast path for values[from..to) of a Float32Array: one pass for the
   * extremes (which also tells whether all are finite), the grid grown once
   * if they fall outside the window, then a check-free binning pass into the
   * lanes. Returns false, having changed nothing, when the run holds NaN/±Inf.
   */
  private updateFinite(values: Float32Array, from: number, to: number): boolean {
    extremesOf(values, from, to);
    if (scanOut[2] !== 0) return false;
    const mn = scanOut[0] + 0; // −0 → +0: extremes are canonical whatever the order
    const mx = scanOut[1] + 0;
    const lo = mn < this.lo ? mn : this.lo;
    const hi = mx > this.hi ? mx : this.hi;
    if (this.grid === null && lo === hi) {
      this.n += to - from;
      this.lo = lo;
      this.hi = hi;
      return true;
    }
    if (this.grid === null || Math.floor(mn * this.inv) - this.s < 0 || Math.floor(mx * this.inv) - this.s >= this.bins) {
      this.foldPending();
      this.cover(lo, hi);
    }
    const first = Math.floor(mn * this.inv) - this.s;
    const last = Math.floor(mx * this.inv) - this.s;
    if (this.pendingCount + (to - from) > CHUNK) this.foldPending();
    const lanes = lanesFor(this.bins);
    // For 0 ≤ x·2^−k < 2^31, (x·2^−k) | 0 is floor(x·2^−k), and cheaper than Math.floor.
    if (mn >= 0 && mx * this.inv < 2 ** 31) binLanesNonNegative(values, from, to, lanes, this.inv, this.s);
    else binLanes(values, from, to, lanes, this.inv, this.s);
    if (this.pendingCount === 0 || first < this.pendingFirst) this.pendingFirst = first;
    if (this.pendingCount === 0 || last > this.pendingLast) this.pendingLast = last;
    this.pendingCount += to - from;
    this.n += to - from;
    this.lo = lo;
    this.hi = hi;
    return true;
  }

  /** Moves the lane counts of the fast path into the float64 bins. */
  private foldPending(): void {
    if (this.pendingCount === 0) return;
    foldLanes(lanesFor(this.bins), this.grid!, this.pendingFirst, this.pendingLast);
    this.pendingCount = 0;
  }

  /** Any array type, and Float32 runs holding NaN/±Inf: bins with a range test per element, counting non-finite values. */
  private updateGeneral(values: ArrayLike<number>, from: number, to: number): void {
    let i = from;
    if (this.grid === null) {
      scanFinite(values, from, to);
      if (!(scanOut[0] <= scanOut[1])) {
        this.countNonFinite(values, from, to); // no finite value in the run
        return;
      }
      const lo = Math.min(this.lo, scanOut[0]);
      const hi = Math.max(this.hi, scanOut[1]);
      if (lo === hi) {
        const nonFinite = this.countNonFinite(values, from, to);
        this.n += to - from - nonFinite;
        this.lo = lo;
        this.hi = hi;
        return;
      }
      this.cover(lo, hi);
    }
    for (;;) {
      i = this.binFrom(values, i, to);
      if (i >= to) break;
      scanFinite(values, i, to); // values[i] is finite and outside the window
      this.cover(Math.min(this.lo, scanOut[0]), Math.max(this.hi, scanOut[1]));
    }
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

  private countNonFinite(values: ArrayLike<number>, from: number, to: number): number {
    let count = 0;
    for (let i = from; i < to; i++) {
      const x = +values[i]!;
      if (Number.isNaN(x)) this.nan++;
      else if (x === Number.POSITIVE_INFINITY) this.posInf++;
      else if (x === Number.NEGATIVE_INFINITY) this.negInf++;
      else continue;
      count++;
    }
    return count;
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

  /** Bins values[from..to) until a finite value outside the window; returns its index (or `to`). */
  private binFrom(values: ArrayLike<number>, from: number, to: number): number {
    const stop = runCareful(values, from, to, this.grid!, this.inv, this.s, this.bins);
    this.absorb(stop - from - runOut[2] - runOut[3] - runOut[4]);
    this.nan += runOut[2];
    this.posInf += runOut[3];
    this.negInf += runOut[4];
    return stop;
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

/** [min, max] of the finite values of the last scan (min > max when none); extremesOf adds [2]: 0 iff all finite. */
const scanOut = new Float64Array(3);

function scanFinite(values: ArrayLike<number>, from: number, to: number): void {
  let mn = Number.POSITIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  for (let i = from; i < to; i++) {
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
 * Extremes of values[from..to) into scanOut, and scanOut[2] = Σ (x − x),
 * which is 0 exactly when every value is finite (x − x is NaN for NaN and
 * ±Inf). Two min/max pairs, written as conditional expressions: V8 compiles
 * those to selects, while `if` statements become branches that mispredict on
 * data with many equal values (ReLU zeros), and Math.min/max take a slow path
 * on ties of ±0. NaN never wins a comparison, so it cannot hide in the
 * extremes, and the sum catches it.
 */
function extremesOf(values: Float32Array, from: number, to: number): void {
  let mn0 = Number.POSITIVE_INFINITY;
  let mx0 = Number.NEGATIVE_INFINITY;
  let mn1 = Number.POSITIVE_INFINITY;
  let mx1 = Number.NEGATIVE_INFINITY;
  let z = 0;
  let i = from;
  for (; i + 1 < to; i += 2) {
    const x = values[i]!;
    const y = values[i + 1]!;
    mn0 = x < mn0 ? x : mn0;
    mx0 = x > mx0 ? x : mx0;
    mn1 = y < mn1 ? y : mn1;
    mx1 = y > mx1 ? y : mx1;
    z += x - x + (y - y);
  }
  if (i < to) {
    const x = values[i]!;
    mn0 = x < mn0 ? x : mn0;
    mx0 = x > mx0 ? x : mx0;
    z += x - x;
  }
  scanOut[0] = mn0 < mn1 ? mn0 : mn1;
  scanOut[1] = mx0 > mx1 ? mx0 : mx1;
  scanOut[2] = z;
}

/** Exact extremes of values[from..to) (−0 read as +0), and whether all of them are finite: one fast pass. */
export function float32Extremes(values: Float32Array, from = 0, to = values.length): { min: number; max: number; allFinite: boolean } {
  extremesOf(values, from, to);
  return { min: scanOut[0]! + 0, max: scanOut[1]! + 0, allFinite: scanOut[2] === 0 };
}

/**
 * The hot loop: every value is known to be finite and inside the window, so
 * there is no test at all. Element i goes to lane i mod 4 of its bin t
 * (lanes[4t + i mod 4]), so runs of equal values (ReLU zeros) do not
 * serialise on one counter.
 */
function binLanes(values: Float32Array, from: number, to: number, lanes: Int32Array, inv: number, s: number): void {
  let i = from;
  for (; i + 3 < to; i += 4) {
    lanes[(Math.floor(values[i]! * inv) - s) << 2]!++;
    lanes[((Math.floor(values[i + 1]! * inv) - s) << 2) | 1]!++;
    lanes[((Math.floor(values[i + 2]! * inv) - s) << 2) | 2]!++;
    lanes[((Math.floor(values[i + 3]! * inv) - s) << 2) | 3]!++;
  }
  for (; i < to; i++) lanes[(Math.floor(values[i]! * inv) - s) << 2]!++;
}

/** binLanes for values with 0 ≤ x·inv < 2^31, where truncation is the floor. */
function binLanesNonNegative(values: Float32Array, from: number, to: number, lanes: Int32Array, inv: number, s: number): void {
  let i = from;
  for (; i + 3 < to; i += 4) {
    lanes[(((values[i]! * inv) | 0) - s) << 2]!++;
    lanes[((((values[i + 1]! * inv) | 0) - s) << 2) | 1]!++;
    lanes[((((values[i + 2]! * inv) | 0) - s) << 2) | 2]!++;
    lanes[((((values[i + 3]! * inv) | 0) - s) << 2) | 3]!++;
  }
  for (; i < to; i++) lanes[(((values[i]! * inv) | 0) - s) << 2]!++;
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
