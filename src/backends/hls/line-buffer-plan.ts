/**
 * The line buffer of a conv reading an `hls::stream` (`--io stream`): the
 * input arrives pixel by pixel in raster order (pixel q = ih·W + iw, its C
 * channels together), and the conv computes its output positions in raster
 * order as soon as their window has arrived, keeping only the most recent L
 * pixels in a circular buffer (slot = q mod L, kept as a running pointer).
 * For output position r (oh, ow) the window's inside taps (ih = oh·SH − PT +
 * kh·DH, iw = ow·SW − PL + kw·DW within the input) span pixels
 *   first(r) = min q over the taps,  need(r) = max q over the taps
 * and before computing r the conv has read got(r) = max(got(r−1), need(r) + 1)
 * pixels. The buffer must still hold first(r):
 *   L = max over r of got(r) − first(r)   (≤ (EH − 1)·W + EW, EH = (KH − 1)·DH + 1, EW likewise:
 *                                          (K − 1) rows + K pixels for a dense kernel)
 * computed here by walking the positions, so the generated code and the
 * resource report use the same L. Memory: L·C elements of the input type.
 */
import type { ConvOp, Program } from "../../integer/program.js";

export interface LineBufferPlan {
  /** Pixels kept (the circular buffer's length). */
  readonly pixels: number;
  /** Channels per pixel. */
  readonly channels: number;
  /** Per output position, the last input pixel its window reads (−1: none, all padding). */
  readonly need: readonly number[];
}

export function lineBufferPlan(p: Program, op: ConvOp): LineBufferPlan {
  const [C, H, W] = p.values.get(op.input)!.shape as [number, number, number];
  const [, OH, OW] = p.values.get(op.output)!.shape as [number, number, number];
  const [, , KH, KW] = op.weightShape;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  const need: number[] = [];
  let got = 0;
  let pixels = 1;
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      let first = Infinity;
      let last = -1;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * SH - PT + kh * DH;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * SW - PL + kw * DW;
          if (iw < 0 || iw >= W) continue;
          first = Math.min(first, ih * W + iw);
          last = Math.max(last, ih * W + iw);
        }
      }
      need.push(last);
      got = Math.max(got, last + 1);
      if (last >= 0) pixels = Math.max(pixels, got - first);
    }
  }
  return { pixels, channels: C, need };
}
