/**
 * Clipping range [lo, hi] for a quantized format, chosen from a
 * StreamingHistogram by one of four calibration methods.
 *
 * Target model (used by mse and entropy; the range is what callers turn into
 * scale and zero point). "Symmetric" means zero point 0:
 * - signed symmetric:   [−T, T], levels k·Δ, k ∈ [−N, N], N = 2^(b−1) − 1, Δ = T/N
 *                       (the restricted range; the extra −2^(b−1) code is ignored);
 * - unsigned symmetric: [0, T],  levels k·Δ, k ∈ [0, 2^b − 1], Δ = T/(2^b − 1);
 *                       negative data cannot be represented and clips to 0;
 * - asymmetric (either signedness): [lo, hi] ∋ 0, levels lo + k·Δ,
 *                       k ∈ [0, 2^b − 1], Δ = (hi − lo)/(2^b − 1) (zero-point
 *                       rounding ignored). Data of one sign gives [min, 0] or [0, max].
 * Every result contains 0, since ONNX zero points must represent 0 exactly.
 *
 * Methods:
 * - minmax: the exact extremes (symmetric signed: T = max|x|).
 * - percentile:p (p ∈ [50, 100], default 99.99): signed symmetric T = the p-th
 *   percentile of |x|; unsigned symmetric T = the p-th percentile of x;
 *   asymmetric lo/hi = the (100 − p)-th and p-th percentiles of x, so each
 *   tail may clip up to (100 − p)% of the values. Read from the histogram,
 *   so within one bin width of the exact percentile; p = 100 is minmax.
 * - mse: minimises E[(x − Q(x))²] over the histogram, where Q clamps to the
 *   range and rounds to the levels above and values are taken as uniform
 *   inside each bin (clipped to [min, max]). Per bin [a, b] the error is the
 *   exact integral ∫(x − Q(x))²dx/(b − a), split at the rounding boundaries:
 *   partial end cells plus Δ³/12 per whole interior cell, O(1) per bin. Bins
 *   wholly in a clamped tail use prefix sums of n, n·m, n·m², n·(b−a)²/12
 *   (m the bin centre): Σ n[(m − q)² + (b−a)²/12] = S₂ − 2qS₁ + q²S₀ + S_v.
 *   Thresholds T = Tmax·c/C, C = 1024, are searched coarse-to-fine (every 8th,
 *   then the 15 around the best; a unimodal-error assumption). Asymmetric
 *   ranges scale [min, 0]∪[0, max] by a common factor first, then refine hi
 *   and lo in turn (one round of coordinate descent).
 * - entropy: KL-divergence calibration (the 2017 GTC talk "8-bit Inference
 *   with TensorRT"), with ONNX Runtime's Entropy calibrator's arithmetic for
 *   P and Q (bench/calib-methods.bench.ts runs ORT's as the anchor). The data
 *   is re-binned onto B = 2048 equal bins over the searched span, and the
 *   search uses L quantized bins, as many levels as the target has over the
 *   cut: signed symmetric targets search |x| over [0, T] with L = 2^(b−1)
 *   (TensorRT's 128 for int8); data of one sign, and unsigned symmetric
 *   targets, search that side over [0, T] with L = 2^b (256 for uint8);
 *   asymmetric targets on data of both signs use ORT's symmetric grid over
 *   [−A, A], A = max|x|, with L = 2^b. A one-sided cut at bin i keeps bins
 *   [0, i), i = L … B; a symmetric cut keeps [B/2 − i, B/2 + i + 1),
 *   i = L/2 … B/2:
 *     P = those counts, the mass outside the cut added to its end bins;
 *     Q: the cut's counts (without the outliers) summed in L groups of
 *         m = floor(size/L) bins, the remainder added to the last group; each
 *         group's sum divided by the number of its bins where P ≠ 0, truncated
 *         to an integer, and written to every bin of the group; the remainder
 *         bins keep 0;
 *     both smoothed (each empty bin gets ε = 10^−4, taken evenly off the
 *     others) and normalised; KL(P‖Q) = Σ p·ln(p/q).
 *   The first cut with the least KL wins; its edges, clamped to the data's
 *   extremes, are the range (then shaped to the target as every method's).
 *   One-sided searches first give bin 0 the count of bin 1 (symmetric ones
 *   give the bin at 0 its neighbours' mean): a spike at 0
 *   (ReLU zeros, a softmax's near-zero probabilities) otherwise dominates P,
 *   and KL, blind to how far clipped values lie, cuts at the smallest
 *   candidate (PaddleOCR rec's softmax output was clipped to 1/16 of its
 *   range this way and the recognizer collapsed).
 *   Where ORT differs, and why: ORT always uses 128 quantized bins on the
 *   symmetric grid, so for a non-negative tensor bound for uint8 it models 64
 *   levels over [0, T] where the target has 256, and clips harder than the
 *   target needs (measured: entropy 0.3 points below MinMax on mobilenetv2);
 *   ORT also keeps the zero spike. entropyCut is ORT's search exactly
 *   (checked against ORT's own output in test/calib/range.test.ts). The
 *   truncation and the remainder's 0 are ORT's arithmetic, kept on purpose:
 *   they weigh against cuts that leave mass in the remainder, so the search
 *   clips less than a textbook KL would. The streaming histogram behind it
 *   has ENTROPY_HISTOGRAM_BINS bins, so re-binning moves mass by far less
 *   than one of the B bins; fine bins straddling a coarse edge split their
 *   count by overlap. For L ≥ B (one-sided) or L ≥ B/2 (symmetric) there is
 *   one candidate and entropy is MinMax.
 *
 * Bounds: given [A, B] (the values a tensor's readers can tell apart,
 * quant/reader-bounds.ts), every method chooses for clamp(x, A, B): minmax and
 * percentile clamp their result (clamping is monotone, so the p-th percentile
 * of clamp(x) is the clamp of x's); mse and entropy search the clamped
 * histogram (clamp-binned.ts).
 *
 * Degenerate data: no finite values → FixqError("data"). Constant data
 * (min = max), including all zeros, is never clipped (clipping a point mass
 * only adds error): mse/entropy/percentile give the minmax range. If a method
 * yields a zero-width range while the data has a representable non-zero value
 * (e.g. percentile of mostly-zero data), the minmax range is used instead. If
 * that too is empty — all zeros, or all-negative data for an unsigned
 * symmetric target — the result is [−ε, ε] (signed) or [0, ε] (unsigned),
 * ε = 2^−10: small, yet its scale ε/(2^b − 1) is a normal float32 and keeps
 * downstream requantisation multipliers bounded.
 *
 * Resolution: mse and entropy work on the histogram re-binned so that it
 * covers 0 (width < 2·span/(B−1), span = max(max,0) − min(min,0)). For b = 8
 * and B = 2048 that is < 1/4 of the quantization step of the unclipped range;
 * at much higher bit widths the histogram, not the search, limits precision.
 */
import { FixqError } from "../ir/errors.js";
import { clampBinned } from "./clamp-binned.js";
import type { StreamingExtremes } from "./extremes.js";
import { type Binned, foldAbs, quantileOf, StreamingHistogram } from "./histogram.js";

export type CalibrationMethod =
  | { kind: "minmax" }
  | { kind: "percentile"; percentile: number }
  | { kind: "mse" }
  | { kind: "entropy" };

/** e.g. uint8 asymmetric {8, false, false}, int8 symmetric {8, true, true}. */
export interface QuantTarget {
  bits: number;
  signed: boolean;
  symmetric: boolean;
}

export interface ClipRange {
  lo: number;
  hi: number;
}

export const DEFAULT_PERCENTILE = 99.99;
/** Half-width of the range given to all-zero data. */
export const ZERO_DATA_EPSILON = 2 ** -10;
/** Threshold resolution of the mse search: T = Tmax·c/MSE_STEPS. */
const MSE_STEPS = 1024;
/** Evaluations in the coarse stage of every 1-D search. */
const COARSE = 128;

/** "minmax" | "percentile" | "percentile:P" (50 ≤ P ≤ 100) | "mse" | "entropy". */
export function parseCalibrationMethod(s: string): CalibrationMethod {
  if (s === "minmax" || s === "mse" || s === "entropy") return { kind: s };
  if (s === "percentile") return { kind: "percentile", percentile: DEFAULT_PERCENTILE };
  const m = /^percentile:([0-9]+(?:\.[0-9]+)?)$/.exec(s);
  if (m) {
    const p = Number(m[1]);
    if (p >= 50 && p <= 100) return { kind: "percentile", percentile: p };
    throw new FixqError("usage", `calibration method '${s}' (--calibration, or the recipe key 'calibration'): the percentile must be in [50, 100]`);
  }
  throw new FixqError(
    "usage",
    `unknown calibration method '${s}' (expected minmax, percentile, percentile:P, mse or entropy)`,
  );
}

export function formatCalibrationMethod(m: CalibrationMethod): string {
  return m.kind === "percentile" ? `percentile:${m.percentile}` : m.kind;
}

/**
 * The clipping range for `target` from `h` by `method` (see the module
 * comment): lo ≤ 0 ≤ hi, hi > lo, lo = −hi for signed symmetric and lo = 0 for
 * unsigned symmetric targets. NaN/±Inf counts in `h` are ignored here; callers
 * that refuse such data check `h.nanCount` etc. first. minmax reads only the
 * extremes, so a StreamingExtremes will do; the other methods need the bins.
 */
export function chooseRange(h: StreamingHistogram | StreamingExtremes, method: CalibrationMethod, target: QuantTarget, bounds?: ClipRange): ClipRange {
  checkTarget(target);
  // Data beyond `bounds` is read as at the bound (clamp-binned.ts); clamping is monotone, so percentiles clamp too.
  const lo = bounds?.lo ?? Number.NEGATIVE_INFINITY;
  const hi = bounds?.hi ?? Number.POSITIVE_INFINITY;
  const clamp = (x: number) => Math.min(hi, Math.max(lo, x));
  if (method.kind === "percentile" && !(method.percentile >= 50 && method.percentile <= 100)) {
    throw new FixqError("usage", `percentile must be in [50, 100], got ${method.percentile}`);
  }
  if (h.count === 0) {
    throw new FixqError("data", "cannot calibrate: no finite values were observed");
  }
  const minmax = shape(clamp(h.min), clamp(h.max), target);
  if (method.kind === "minmax" || clamp(h.min) === clamp(h.max)) return settle(minmax, minmax, target);
  if (!(h instanceof StreamingHistogram)) throw new FixqError("usage", `calibration method ${formatCalibrationMethod(method)} needs a histogram, not only the extremes`);
  let raw: ClipRange;
  switch (method.kind) {
    case "percentile": {
      const p = percentileRange(h, method.percentile, target);
      raw = { lo: clamp(p.lo), hi: clamp(p.hi) };
      break;
    }
    case "mse":
      raw = mseRange(clampBinned(h.binned({ lo: 0, hi: 0 }), lo, hi), target);
      break;
    case "entropy":
      raw = entropyRange(clampBinned(h.binned({ lo: 0, hi: 0 }), lo, hi), target);
      break;
    default:
      throw new FixqError("usage", `unknown calibration method ${JSON.stringify(method)}`);
  }
  return settle(shape(raw.lo, raw.hi, target), minmax, target);
}

function checkTarget(t: QuantTarget): void {
  if (!Number.isInteger(t.bits) || t.bits < 2 || t.bits > 32) {
    throw new FixqError("usage", `quantization bits must be an integer in [2, 32], got ${t.bits}`);
  }
}

/** Forces the target's shape: contains 0; ±T for signed symmetric; [0, T] for unsigned symmetric. */
function shape(lo: number, hi: number, t: QuantTarget): ClipRange {
  const l = Math.min(lo, 0);
  const u = Math.max(hi, 0);
  if (!t.symmetric) return { lo: l, hi: u };
  if (!t.signed) return { lo: 0, hi: u };
  const m = Math.max(-l, u);
  return { lo: -m, hi: m };
}

/** Zero-width results fall back to minmax, then to ±ε (see the module comment). */
function settle(r: ClipRange, minmax: ClipRange, t: QuantTarget): ClipRange {
  if (r.hi > r.lo) return { lo: r.lo === 0 ? 0 : r.lo, hi: r.hi };
  if (minmax.hi > minmax.lo) return minmax;
  return t.signed ? { lo: -ZERO_DATA_EPSILON, hi: ZERO_DATA_EPSILON } : { lo: 0, hi: ZERO_DATA_EPSILON };
}

// --- percentile ----------------------------------------------------------------

function percentileRange(h: StreamingHistogram, p: number, t: QuantTarget): ClipRange {
  if (p === 100) return { lo: h.min, hi: h.max };
  const q = p / 100;
  if (t.symmetric && t.signed) {
    const T = quantileOf(foldAbs(h.binned({ lo: 0, hi: 0 })), q);
    return { lo: -T, hi: T };
  }
  if (t.symmetric) return { lo: 0, hi: h.quantile(q) };
  return { lo: h.quantile(1 - q), hi: h.quantile(q) };
}

// --- mse -------------------------------------------------------------------------

/** Quantizer levels g0 + k·step, k ∈ [kmin, kmax]. */
interface Levels {
  g0: number;
  step: number;
  kmin: number;
  kmax: number;
}

function levelsFor(lo: number, hi: number, t: QuantTarget): Levels {
  const full = 2 ** t.bits - 1;
  if (t.symmetric && t.signed) {
    const n = 2 ** (t.bits - 1) - 1;
    return { g0: 0, step: hi / n, kmin: -n, kmax: n };
  }
  if (t.symmetric) return { g0: 0, step: hi / full, kmin: 0, kmax: full };
  return { g0: lo, step: (hi - lo) / full, kmin: 0, kmax: full };
}

/** Prefix sums over bins (clipped to [min, max]) for the tail formula, plus each bin's extent. */
interface Moments {
  a: Float64Array;
  b: Float64Array;
  s0: Float64Array;
  s1: Float64Array;
  s2: Float64Array;
  sv: Float64Array;
}

function momentsOf(v: Binned): Moments {
  const n = v.counts.length;
  const m: Moments = {
    a: new Float64Array(n),
    b: new Float64Array(n),
    s0: new Float64Array(n + 1),
    s1: new Float64Array(n + 1),
    s2: new Float64Array(n + 1),
    sv: new Float64Array(n + 1),
  };
  for (let j = 0; j < n; j++) {
    const a = Math.max(v.lo + j * v.width, v.min);
    const b = Math.min(v.lo + (j + 1) * v.width, v.max);
    m.a[j] = a;
    m.b[j] = Math.max(a, b);
    const c = v.counts[j];
    const mid = (a + m.b[j]) / 2;
    const wd = m.b[j] - a;
    m.s0[j + 1] = m.s0[j] + c;
    m.s1[j + 1] = m.s1[j] + c * mid;
    m.s2[j + 1] = m.s2[j] + c * mid * mid;
    m.sv[j + 1] = m.sv[j] + (c * wd * wd) / 12;
  }
  return m;
}

/** Σ over bins [from, to) of n·E[(x − q)²], x uniform in each bin. */
function tailError(m: Moments, from: number, to: number, q: number): number {
  if (to <= from) return 0;
  const s0 = m.s0[to] - m.s0[from];
  const s1 = m.s1[to] - m.s1[from];
  const s2 = m.s2[to] - m.s2[from];
  const sv = m.sv[to] - m.sv[from];
  return Math.max(0, s2 - 2 * q * s1 + q * q * s0) + sv;
}

/** ∫ over [a, b] of (x − q)². */
function sq(a: number, b: number, q: number): number {
  const u = a - q;
  const w = b - q;
  return (w * w * w - u * u * u) / 3;
}

/** Expected squared error of quantizing the histogram with the given levels. */
function mseError(v: Binned, m: Moments, L: Levels): number {
  const { g0, step, kmin, kmax } = L;
  const qlo = g0 + kmin * step;
  const qhi = g0 + kmax * step;
  const lowB = qlo + step / 2; // below: all values map to kmin
  const highB = qhi - step / 2; // above: all map to kmax
  const n = v.counts.length;
  // Bins wholly below lowB / above highB go through the prefix sums.
  let jl = 0;
  while (jl < n && m.b[jl] <= lowB) jl++;
  let ju = n;
  while (ju > jl && m.a[ju - 1] >= highB) ju--;
  let err = tailError(m, 0, jl, qlo) + tailError(m, ju, n, qhi);
  const cell = (step * step * step) / 12;
  for (let j = jl; j < ju; j++) {
    const c = v.counts[j];
    if (c === 0) continue;
    const a = m.a[j];
    const b = m.b[j];
    const ka = Math.min(kmax, Math.max(kmin, Math.round((a - g0) / step)));
    const kb = Math.min(kmax, Math.max(kmin, Math.round((b - g0) / step)));
    if (b <= a) {
      const d = a - (g0 + ka * step);
      err += c * d * d;
      continue;
    }
    let e: number;
    if (ka === kb) {
      e = sq(a, b, g0 + ka * step);
    } else {
      const qa = g0 + ka * step;
      const qb = g0 + kb * step;
      e = sq(a, qa + step / 2, qa) + sq(qb - step / 2, b, qb) + (kb - ka - 1) * cell;
    }
    err += (c * e) / (b - a);
  }
  return err;
}

/**
 * argmin of f over integers [i0, i1]: every stride-th point (stride makes
 * about COARSE of them, always including i1), then all points within one
 * stride of the best. Ties go to the larger index (less clipping).
 */
function argmin(i0: number, i1: number, f: (i: number) => number): number {
  if (i1 <= i0) return i1;
  const stride = Math.max(1, Math.ceil((i1 - i0) / COARSE));
  let best = i1;
  let bestErr = f(i1);
  for (let i = i1 - stride; i >= i0; i -= stride) {
    const e = f(i);
    if (e < bestErr) {
      bestErr = e;
      best = i;
    }
  }
  const c = best;
  for (let i = Math.min(i1, c + stride - 1); i >= Math.max(i0, c - stride + 1); i--) {
    if (i === c) continue;
    const e = f(i);
    if (e < bestErr || (e === bestErr && i > best)) {
      bestErr = e;
      best = i;
    }
  }
  return best;
}

/**
 * Two-parameter search shared by mse and entropy for asymmetric targets:
 * lo index in [0, nl], hi index in [0, nh] (0 = no extent on that side),
 * first both scaled together, then hi and lo refined in turn (one round of
 * coordinate descent).
 */
function search2(nl: number, nh: number, f: (il: number, ih: number) => number): [number, number] {
  const steps = Math.max(nl, nh);
  const c = argmin(1, steps, (i) => f(Math.round((nl * i) / steps), Math.round((nh * i) / steps)));
  let il = Math.round((nl * c) / steps);
  let ih = Math.round((nh * c) / steps);
  if (nh > 0) ih = argmin(0, nh, (i) => f(il, i));
  if (nl > 0) il = argmin(0, nl, (i) => f(i, ih));
  return [il, ih];
}

function mseRange(v: Binned, t: QuantTarget): ClipRange {
  const m = momentsOf(v);
  const lo0 = Math.min(v.min, 0);
  const hi0 = Math.max(v.max, 0);
  if (t.symmetric) {
    const tmax = t.signed ? Math.max(-lo0, hi0) : hi0;
    if (tmax === 0) return { lo: 0, hi: 0 };
    const err = (c: number) => mseError(v, m, levelsFor(0, (tmax * c) / MSE_STEPS, t));
    const T = (tmax * argmin(1, MSE_STEPS, err)) / MSE_STEPS;
    return { lo: -T, hi: T };
  }
  const nl = lo0 < 0 ? MSE_STEPS : 0;
  const nh = hi0 > 0 ? MSE_STEPS : 0;
  const at = (il: number, ih: number): ClipRange => ({ lo: (lo0 * il) / MSE_STEPS, hi: (hi0 * ih) / MSE_STEPS });
  const [il, ih] = search2(nl, nh, (il, ih) => {
    const r = at(il, ih);
    return r.hi > r.lo ? mseError(v, m, levelsFor(r.lo, r.hi, t)) : Number.POSITIVE_INFINITY;
  });
  return at(il, ih);
}

// --- entropy ---------------------------------------------------------------------

/** Bins of the symmetric histogram the entropy search runs on (ONNX Runtime's and TensorRT's 2048). */
export const ENTROPY_BINS = 2048;
/**
 * Bins of the streaming histogram calibration keeps for entropy: 8× finer than
 * ENTROPY_BINS, so re-binning onto the symmetric grid moves mass by at most
 * about 1/8 of a bin.
 */
export const ENTROPY_HISTOGRAM_BINS = 65536;
/** ONNX Runtime's smoothing constant (counts given to an empty bin). */
const KL_EPS = 1e-4;

/**
 * Counts of `v` re-binned onto `bins` equal bins over [−A, A], A = max|x|
 * (numpy.histogram's grid: the last bin holds A itself). A fine bin spread
 * over two coarse bins splits its count by overlap.
 */
export function symmetricHistogram(v: Binned, bins: number): { counts: Float64Array; amax: number } {
  const amax = Math.max(-v.min, v.max);
  const counts = new Float64Array(bins);
  const W = (2 * amax) / bins;
  const at = (x: number) => Math.min(bins - 1, Math.max(0, Math.floor((x + amax) / W)));
  for (let j = 0; j < v.counts.length; j++) {
    const c = v.counts[j]!;
    if (c === 0) continue;
    const a = Math.max(v.lo + j * v.width, v.min);
    const b = Math.min(v.lo + (j + 1) * v.width, v.max);
    const ja = at(a);
    const jb = at(b);
    if (ja === jb || !(b > a)) {
      counts[ja] += c;
      continue;
    }
    for (let k = ja; k <= jb; k++) {
      const lo = Math.max(a, -amax + k * W);
      const hi = Math.min(b, -amax + (k + 1) * W);
      if (hi > lo) counts[k] += (c * (hi - lo)) / (b - a);
    }
  }
  return { counts, amax };
}

/**
 * ONNX Runtime's smooth_distribution, in place on x[0..n): ε to each empty
 * bin, taken evenly off the others. False when all are empty.
 */
function smooth(x: Float64Array, n: number): boolean {
  let zeros = 0;
  for (let j = 0; j < n; j++) if (x[j] === 0) zeros++;
  if (zeros === n) return false;
  const eps1 = (KL_EPS * zeros) / (n - zeros);
  for (let j = 0; j < n; j++) x[j] = x[j] === 0 ? KL_EPS : x[j]! - eps1;
  return true;
}

/** Scratch for P and Q, grown on demand (the search is synchronous). */
let pBuf = new Float64Array(0);
let qBuf = new Float64Array(0);

/**
 * KL(P‖Q) of the symmetric cut [start, end) of `counts` into `levels`
 * quantized bins, as ONNX Runtime computes it (see the module comment):
 * Σ p·ln(p/q) of the smoothed, normalised P and Q (scipy.stats.entropy).
 */
export function klDivergenceOfCut(counts: Float64Array, start: number, end: number, levels: number): number {
  const size = end - start;
  if (pBuf.length < size) {
    pBuf = new Float64Array(counts.length);
    qBuf = new Float64Array(counts.length);
  }
  const p = pBuf;
  const q = qBuf;
  for (let j = 0; j < size; j++) p[j] = counts[start + j]!;
  for (let j = 0; j < start; j++) p[0] += counts[j]!;
  for (let j = end; j < counts.length; j++) p[size - 1] += counts[j]!;
  const merged = Math.floor(size / levels);
  q.fill(0, 0, size);
  for (let k = 0; k < levels; k++) {
    const a = k * merged;
    const b = a + merged;
    let mass = 0;
    let support = 0;
    for (let j = a; j < b; j++) {
      mass += counts[start + j]!;
      if (p[j] !== 0) support++;
    }
    if (k === levels - 1) for (let j = levels * merged; j < size; j++) mass += counts[start + j]!;
    if (support > 0) q.fill(Math.trunc(mass / support), a, b);
  }
  if (!smooth(p, size) || !smooth(q, size)) return Number.POSITIVE_INFINITY;
  let sp = 0;
  let sq = 0;
  for (let j = 0; j < size; j++) {
    sp += p[j]!;
    sq += q[j]!;
  }
  let kl = 0;
  for (let j = 0; j < size; j++) {
    const x = p[j]! / sp;
    if (x > 0) kl += x * Math.log(x / (q[j]! / sq)); // a sliver of split mass below ε would go negative: no term

  }
  return kl;
}

/**
 * The KL search of ONNX Runtime's Entropy calibrator on `counts`, a symmetric
 * histogram over [−amax, amax] (bin B/2 starts at 0): cut i keeps bins
 * [B/2 − i, B/2 + i + 1) for i from levels/2 to B/2, and the first cut with
 * the least divergence wins. Returns the cut's bin edges (not yet clamped to
 * the data).
 */
export function entropyCut(counts: Float64Array, amax: number, levels: number): ClipRange {
  const bins = counts.length;
  const zero = bins >> 1;
  let best = Number.POSITIVE_INFINITY;
  let bestI = zero;
  for (let i = levels >> 1; i <= zero; i++) {
    const kl = klDivergenceOfCut(counts, zero - i, Math.min(zero + i + 1, bins), levels);
    if (kl < best) {
      best = kl;
      bestI = i;
    }
  }
  const W = (2 * amax) / bins;
  const end = Math.min(zero + bestI + 1, bins);
  return { lo: zero - bestI === 0 ? -amax : -amax + (zero - bestI) * W, hi: end === bins ? amax : -amax + end * W };
}

/**
 * |x| (fold = "abs"), x ≥ 0 only ("pos") or −x for x ≤ 0 only ("neg") of the
 * data, on `bins` equal bins over [0, A], A = max|x|: the two halves of the
 * symmetric grid with 2·bins bins, so the re-binning is symmetricHistogram's.
 */
export function oneSidedHistogram(v: Binned, bins: number, fold: "abs" | "pos" | "neg"): { counts: Float64Array; amax: number } {
  const { counts: c2, amax } = symmetricHistogram(v, 2 * bins);
  const counts = new Float64Array(bins);
  for (let k = 0; k < bins; k++) {
    const pos = c2[bins + k]!;
    const neg = c2[bins - 1 - k]!;
    counts[k] = fold === "abs" ? pos + neg : fold === "pos" ? pos : neg;
  }
  return { counts, amax };
}

/**
 * The KL search on a one-sided histogram over [0, amax] (TensorRT's form):
 * cut i keeps bins [0, i) for i from `levels` to B, the mass right of the cut
 * is added to its last bin, P and Q as in klDivergenceOfCut, and the first cut
 * with the least divergence wins. Bin 0 is first given bin 1's count: a spike
 * at 0 (ReLU's zeros, a softmax's near-zero probabilities) otherwise outweighs
 * everything else, and KL, blind to how far the clipped values lie, then cuts
 * at the smallest candidate. Returns T = the cut's upper edge.
 */
export function oneSidedEntropyCut(counts: Float64Array, amax: number, levels: number): number {
  const bins = counts.length;
  const c = Float64Array.from(counts);
  if (bins > 1) c[0] = c[1]!;
  let best = Number.POSITIVE_INFINITY;
  let bestI = bins;
  for (let i = levels; i <= bins; i++) {
    const kl = klDivergenceOfCut(c, 0, i, levels);
    if (kl < best) {
      best = kl;
      bestI = i;
    }
  }
  return bestI === bins ? amax : (amax * bestI) / bins;
}

/**
 * The entropy range. The search models as many quantized levels over the cut
 * as the target has there (ORT always uses 128 over [−T, T], which for a
 * non-negative tensor and a uint8 target is 64 levels where there are 256):
 * - signed symmetric: |x| over [0, T], L = 2^(b−1) (TensorRT's setting);
 * - data of one sign, any other target: that side over [0, T], L = 2^b;
 * - unsigned symmetric, data of both signs: the positive side, L = 2^b
 *   (negatives clip to 0 whatever T is);
 * - asymmetric, data of both signs: ORT's symmetric cut (entropyCut) with
 *   L = 2^b, the levels of [−T, T] (the range is then clamped to the data),
 *   the bin starting at 0 first given the mean of its two neighbours' counts.
 * The histogram has ENTROPY_BINS bins over the searched span; a target with
 * L ≥ that many bins (per side) gets MinMax.
 */
function entropyRange(v: Binned, t: QuantTarget): ClipRange {
  const signedSym = t.symmetric && t.signed;
  if (signedSym || v.min >= 0 || v.max <= 0 || t.symmetric) {
    const fold = signedSym ? "abs" : v.max <= 0 && !t.symmetric ? "neg" : "pos";
    const levels = 2 ** (signedSym ? t.bits - 1 : t.bits);
    if (levels >= ENTROPY_BINS) return { lo: v.min, hi: v.max };
    const { counts, amax } = oneSidedHistogram(v, ENTROPY_BINS, fold);
    const T = oneSidedEntropyCut(counts, amax, levels);
    return { lo: Math.max(v.min, -T), hi: Math.min(v.max, T) };
  }
  const levels = 2 ** t.bits;
  if (levels >= ENTROPY_BINS / 2) return { lo: v.min, hi: v.max };
  const { counts, amax } = symmetricHistogram(v, ENTROPY_BINS);
  const zero = ENTROPY_BINS >> 1;
  counts[zero] = (counts[zero - 1]! + counts[zero + 1]!) / 2;
  const cut = entropyCut(counts, amax, levels);
  return { lo: Math.max(v.min, cut.lo), hi: Math.min(v.max, cut.hi) };
}
