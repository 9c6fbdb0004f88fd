/**
 * The input that attains a certified accumulator extreme: for output channel
 * c of a conv or dense op and the output position the certificate chose, every
 * tap inside the input gets x = hi where w > 0 and x = lo where w < 0 (for the
 * max; swapped for the min), with [lo, hi] its input channel's certified
 * range, so each term w·(x − inputZero) is at its extreme and
 *   acc = bias[c] + Σ max(w·dlo, w·dhi)   (resp. Σ min)
 * exactly. Other elements hold inputZero clamped to their range. For the first
 * layer the op's input is the quantized graph input, so the tensor can be fed
 * to the emulator as is (one sample).
 */
import { convRanges, denseRanges } from "./certify-acc.js";
import { perChannel } from "./certify-ranges.js";
import { type Certificate, certifyProgram } from "./certify.js";
import { type ConvOp, type DenseOp, type Program, sampleSize } from "./program.js";

export interface WorstCase {
  /** The value to feed: the op's input. */
  readonly value: string;
  /** One sample of it. */
  readonly data: Int32Array;
  /** Flat per-sample index into the op's output where the extreme lands. */
  readonly outputIndex: number;
  /** The certified extreme the accumulator takes there. */
  readonly expected: number;
}

function shapeOf(p: Program, name: string): readonly number[] {
  const v = p.values.get(name);
  if (!v) throw new Error(`worstCaseInput: no value '${name}'`);
  return v.shape;
}

export function worstCaseInput(p: Program, op: ConvOp | DenseOp, channel: number, which: "max" | "min", cert: Certificate = certifyProgram(p)): WorstCase {
  const inShape = shapeOf(p, op.input);
  const outShape = shapeOf(p, op.output);
  const input = cert.channels.get(op.input);
  if (!input) throw new Error(`worstCaseInput: value '${op.input}' has no certified range`);
  const sign = which === "max" ? 1 : -1;
  const data = new Int32Array(sampleSize(inShape));
  if (op.kind === "conv") {
    const [cout, cinG, kh, kw] = op.weightShape;
    const [cin, inH, inW] = inShape as [number, number, number];
    const [, outH, outW] = outShape as [number, number, number];
    if (!(channel >= 0 && channel < cout)) throw new RangeError(`worstCaseInput: channel ${channel} not in 0…${cout - 1}`);
    const x = perChannel(input, 0, cin);
    for (let ic = 0; ic < cin; ic++) data.fill(Math.min(x.hi[ic]!, Math.max(x.lo[ic]!, op.inputZero)), ic * inH * inW, (ic + 1) * inH * inW);
    const acc = convRanges(op, input, inShape, outShape);
    const at = which === "max" ? acc.maxAt[channel]! : acc.minAt[channel]!;
    const oh = Math.floor(at / outW);
    const ow = at % outW;
    const g = Math.floor(channel / (cout / op.group));
    for (let ci = 0; ci < cinG; ci++) {
      const ic = g * cinG + ci;
      for (let ky = 0; ky < kh; ky++) {
        const ih = oh * op.strides[0] - op.pads[0] + ky * op.dilations[0];
        if (ih < 0 || ih >= inH) continue;
        for (let kx = 0; kx < kw; kx++) {
          const iw = ow * op.strides[1] - op.pads[1] + kx * op.dilations[1];
          if (iw < 0 || iw >= inW) continue;
          const w = op.weight[((channel * cinG + ci) * kh + ky) * kw + kx]!;
          if (w !== 0) data[(ic * inH + ih) * inW + iw] = sign * w > 0 ? x.hi[ic]! : x.lo[ic]!;
        }
      }
    }
    const r = acc.out;
    return { value: op.input, data, outputIndex: channel * outH * outW + at, expected: which === "max" ? r.hi[channel]! : r.lo[channel]! };
  }
  const k = op.inFeatures;
  if (!(channel >= 0 && channel < op.outFeatures)) throw new RangeError(`worstCaseInput: channel ${channel} not in 0…${op.outFeatures - 1}`);
  const acc = denseRanges(op, input, inShape, outShape);
  const x = perChannel(input, inShape.length - 1, k);
  for (let i = 0; i < data.length; i++) {
    const f = i % k;
    data[i] = Math.min(x.hi[f]!, Math.max(x.lo[f]!, op.inputZero));
  }
  for (let f = 0; f < k; f++) {
    const w = op.weight[channel * k + f]!;
    if (w !== 0) data[f] = sign * w > 0 ? x.hi[f]! : x.lo[f]!;
  }
  return { value: op.input, data, outputIndex: channel, expected: which === "max" ? acc.out.hi[channel]! : acc.out.lo[channel]! };
}
