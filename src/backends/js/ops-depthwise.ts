/**
 * Depthwise conv in generated JS (one input and one output channel per
 * group), in float64 once the emitter has checked that sums stay below 2^53:
 *   y[c, oh, ow] = bias[c] + Σ_{kh, kw} w[c, kh, kw] · xp[oh·SH + kh·DH, ow·SW + kw·DW]
 * where xp is channel c of (x − inputZero) copied into a zero-padded plane
 * (PT rows above, PL columns left), so each tap is one load at a constant
 * offset kh·DH·WP + kw·DW, and the taps are unrolled.
 */
import type { ConvOp } from "../../integer/program.js";
import { minusZero } from "./ops-io.js";

export interface DepthwiseDims {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly OH: number;
  readonly OW: number;
  readonly KH: number;
  readonly KW: number;
}

/** The function text; `W<i>` and `B<i>` (Float64Array) are declared by the caller. */
export function depthwiseFunction(op: ConvOp, i: number, name: string, d: DepthwiseDims): string {
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  const { C, H, W, OH, OW, KH, KW } = d;
  const K = KH * KW;
  const HP = Math.max(PT + H, (OH - 1) * SH + (KH - 1) * DH + 1);
  const WP = Math.max(PL + W, (OW - 1) * SW + (KW - 1) * DW + 1);
  const taps = Array.from({ length: K }, (_, t) => ({ t, off: Math.floor(t / KW) * DH * WP + (t % KW) * DW }));
  const weights = taps.map(({ t }) => `w${t} = W${i}[wo + ${t}]`).join(", ");
  const sum = taps.map(({ t, off }) => `w${t} * xp[r${off === 0 ? "" : ` + ${off}`}]`).join(" + ");
  return `function ${name}(x, y, batch) {
  const xp = new Float64Array(${HP * WP}); // one channel of x − inputZero, zero-padded to ${HP}×${WP}
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < ${C}; c++) {
      const xo = (n * ${C} + c) * ${H * W}, yo = (n * ${C} + c) * ${OH * OW}, wo = c * ${K};
      for (let ih = 0; ih < ${H}; ih++) {
        for (let iw = 0; iw < ${W}; iw++) xp[(ih + ${PT}) * ${WP} + iw + ${PL}] = ${minusZero(`x[xo + ih * ${W} + iw]`, op.inputZero)};
      }
      const b = B${i}[c], ${weights};
      for (let oh = 0; oh < ${OH}; oh++) {
        for (let ow = 0; ow < ${OW}; ow++) {
          const r = oh * ${SH * WP} + ow * ${SW};
          y[yo + oh * ${OW} + ow] = b + ${sum};
        }
      }
    }
  }
}`;
}
