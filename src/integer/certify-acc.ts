/**
 * Exact accumulator ranges of conv, dense and sumpool, per output channel.
 *
 * With d = x − inputZero ∈ [dlo_i, dhi_i] for input channel i, every tap adds
 * w·d, whose extremes are max(w·dlo, w·dhi) and min(w·dlo, w·dhi) (for w > 0:
 * w·dhi and w·dlo). At an output position only the taps inside the input count
 * (padding adds 0), so for output channel c
 *   hi[c] = bias[c] + max over positions Σ_{inside taps} max(w·dlo, w·dhi)
 *   lo[c] = bias[c] + min over positions Σ_{inside taps} min(w·dlo, w·dhi)
 * Within one position the taps read distinct input elements, so when the input
 * elements range independently over their intervals (true of the quantized
 * graph input) the extremes are attained: they are exact, not bounds. On ties
 * the certificate prefers a position whose window lies wholly inside the input.
 * Sumpool is the same with w = 1: count·dhi and count·dlo for the position
 * counts. Sums are exact while below 2^53, far past anything int32 can hold.
 */
import { type ChannelRanges, perChannel } from "./certify-ranges.js";
import { windowClasses, type WindowClass } from "./certify-window.js";
import type { ConvOp, DenseOp, SumPoolOp } from "./program.js";

export interface AccRanges {
  /** Output ranges per output channel (axis 0 for conv/sumpool, the last axis for dense). */
  readonly out: ChannelRanges;
  /** Per channel, a flat per-channel output position (oh·outW + ow) attaining the max / the min; 0 for dense. */
  readonly maxAt: Int32Array;
  readonly minAt: Int32Array;
  /** Output channels whose weights are all zero (their range is [bias, bias]). */
  readonly zeroChannels: number[];
}

/** Σ over a window class of per-tap totals t[ky·kw + kx]. */
function classSum(t: Float64Array, k: WindowClass, kw: number): number {
  let s = 0;
  for (const ky of k.rows.taps) for (const kx of k.cols.taps) s += t[ky * kw + kx]!;
  return s;
}

/** Picks the class with the largest (sign = 1) or smallest (sign = −1) value, preferring full windows on ties. */
function pickClass(classes: readonly WindowClass[], value: (k: WindowClass) => number, sign: 1 | -1): { v: number; k: WindowClass } {
  let best = classes[0]!;
  let bv = value(best);
  for (const k of classes.slice(1)) {
    const v = value(k);
    if (sign * v > sign * bv || (v === bv && k.full && !best.full)) [best, bv] = [k, v];
  }
  return { v: bv, k: best };
}

const flatAt = (k: WindowClass, outW: number) => k.rows.position * outW + k.cols.position;

export function convRanges(op: ConvOp, input: ChannelRanges, inShape: readonly number[], outShape: readonly number[]): AccRanges {
  const [cout, cinG, kh, kw] = op.weightShape;
  const [cin, inH, inW] = inShape as [number, number, number];
  const [, outH, outW] = outShape as [number, number, number];
  const x = perChannel(input, 0, cin);
  const classes = windowClasses({ inH, inW, outH, outW, kernel: [kh, kw], strides: op.strides, pads: op.pads, dilations: op.dilations });
  const coutG = cout / op.group;
  const lo = new Float64Array(cout);
  const hi = new Float64Array(cout);
  const maxAt = new Int32Array(cout);
  const minAt = new Int32Array(cout);
  const zeroChannels: number[] = [];
  const taps = kh * kw;
  for (let c = 0; c < cout; c++) {
    const g = Math.floor(c / coutG);
    const tp = new Float64Array(taps);
    const tm = new Float64Array(taps);
    let nonzero = false;
    for (let ci = 0; ci < cinG; ci++) {
      const ic = g * cinG + ci;
      const dlo = x.lo[ic]! - op.inputZero;
      const dhi = x.hi[ic]! - op.inputZero;
      const base = (c * cinG + ci) * taps;
      for (let t = 0; t < taps; t++) {
        const w = op.weight[base + t]!;
        if (w === 0) continue;
        nonzero = true;
        const a = w * dlo;
        const b = w * dhi;
        tp[t] += a > b ? a : b;
        tm[t] += a < b ? a : b;
      }
    }
    if (!nonzero) zeroChannels.push(c);
    const bias = op.bias ? op.bias[c]! : 0;
    const top = pickClass(classes, (k) => classSum(tp, k, kw), 1);
    const bot = pickClass(classes, (k) => classSum(tm, k, kw), -1);
    hi[c] = bias + top.v + 0;
    lo[c] = bias + bot.v + 0;
    maxAt[c] = flatAt(top.k, outW);
    minAt[c] = flatAt(bot.k, outW);
  }
  return { out: { axis: 0, lo, hi }, maxAt, minAt, zeroChannels };
}

export function denseRanges(op: DenseOp, input: ChannelRanges, inShape: readonly number[], outShape: readonly number[]): AccRanges {
  const k = op.inFeatures;
  const n = op.outFeatures;
  const x = perChannel(input, inShape.length - 1, k);
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  const zeroChannels: number[] = [];
  for (let c = 0; c < n; c++) {
    let sp = 0;
    let sm = 0;
    let nonzero = false;
    for (let i = 0; i < k; i++) {
      const w = op.weight[c * k + i]!;
      if (w === 0) continue;
      nonzero = true;
      const a = w * (x.lo[i]! - op.inputZero);
      const b = w * (x.hi[i]! - op.inputZero);
      sp += a > b ? a : b;
      sm += a < b ? a : b;
    }
    if (!nonzero) zeroChannels.push(c);
    const bias = op.bias ? op.bias[c]! : 0;
    hi[c] = bias + sp + 0;
    lo[c] = bias + sm + 0;
  }
  return { out: { axis: outShape.length - 1, lo, hi }, maxAt: new Int32Array(n), minAt: new Int32Array(n), zeroChannels };
}

export function sumPoolRanges(op: SumPoolOp, input: ChannelRanges, inShape: readonly number[], outShape: readonly number[]): AccRanges {
  const [cin, inH, inW] = inShape as [number, number, number];
  const [, outH, outW] = outShape as [number, number, number];
  const x = perChannel(input, 0, cin);
  const classes = windowClasses({ inH, inW, outH, outW, kernel: op.kernel, strides: op.strides, pads: op.pads, dilations: [1, 1] });
  const count = (k: WindowClass) => k.rows.taps.length * k.cols.taps.length;
  const lo = new Float64Array(cin);
  const hi = new Float64Array(cin);
  const maxAt = new Int32Array(cin);
  const minAt = new Int32Array(cin);
  for (let c = 0; c < cin; c++) {
    const dlo = x.lo[c]! - op.inputZero;
    const dhi = x.hi[c]! - op.inputZero;
    const top = pickClass(classes, (k) => count(k) * dhi, 1);
    const bot = pickClass(classes, (k) => count(k) * dlo, -1);
    hi[c] = top.v + 0;
    lo[c] = bot.v + 0;
    maxAt[c] = flatAt(top.k, outW);
    minAt[c] = flatAt(bot.k, outW);
  }
  return { out: { axis: 0, lo, hi }, maxAt, minAt, zeroChannels: [] };
}
