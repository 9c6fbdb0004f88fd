/**
 * The line-buffered conv stage of `--io stream` (line-buffer-plan.ts): a
 * DATAFLOW process reading its input stream pixel by pixel (channels
 * together, raster order) into a circular buffer of L pixels, computing each
 * output position once its window has arrived and streaming the position's N
 * outputs (pixel-major, as every image stream of the design is). Per output
 * position r:
 *   Fill   read pixels until pixel need(r) is in (C stream reads each, II = 1)
 *   row    layer<i>_row: gather the window's taps from the buffer, pixel q at
 *          slot wp − (got − q) (+ L when negative), x − inputZero, 0 in the
 *          padding; then the MAC of mac-layer.ts (reuse factor R, II = R)
 *   Store  write the N accumulators
 * then Drain reads the pixels no window needs (a stride's leftover rows and
 * columns). The products and sums are the array form's, term by term.
 */
import type { ConvOp } from "../../integer/program.js";
import { cList } from "../c/c-types.js";
import type { HlsDesign } from "./design.js";
import { readInt, writeInt } from "./hls-types.js";
import { lineBufferPlan } from "./line-buffer-plan.js";
import { convGeometry, macParts } from "./mac-layer.js";

/** The stage's helpers (the row function, the constants) and its body, reading x0 and writing each of `outs`. */
export function lineBufferStage(d: HlsDesign, op: ConvOp, i: number, outs: readonly string[]): { helpers: string; body: string } {
  const p = d.program;
  const g = convGeometry(p, op);
  const plan = lineBufferPlan(p, op);
  const L = plan.pixels;
  const xT = d.typeOf.get(op.input)!;
  const m = macParts(d, op, i, `${g.shape}: ${op.weightShape[0]} outputs, line-buffered (${L} pixels of ${g.C} channels)`);
  const helpers = `${m.comment}
${m.consts}
static const int NEED${i}[${m.rows}] = ${cList(plan.need)};
/* One output position r from the line buffer (got pixels read, the newest at slot wp - 1). */
static void layer${i}_row(const ${xT} lb[${L}][${g.C}], int wp, int got, int r, ${m.accT} out[${m.N}]) {
#pragma HLS ARRAY_RESHAPE variable=W${i} block factor=${m.BF} dim=1
${m.open}
    const int oh = r / ${g.OW}, ow = r % ${g.OW};
    Gather: for (int c = 0; c < ${g.C}; c++) {
      for (int kh = 0; kh < ${g.KH}; kh++) {
        for (int kw = 0; kw < ${g.KW}; kw++) {
          const int ih = oh * ${g.SH} - ${g.PT} + kh * ${g.DH}, iw = ow * ${g.SW} - ${g.PL} + kw * ${g.DW};
          const bool inside = ih >= 0 && ih < ${g.H} && iw >= 0 && iw < ${g.W};
          int slot = wp - (got - (ih * ${g.W} + iw));
          if (slot < 0) slot += ${L};
          xz[(c * ${g.KH} + kh) * ${g.KW} + kw] = ${writeInt(m.tapT, `inside ? ${m.minusZ(readInt(`lb[slot][c]`, d.mode))} : 0`, d.mode)};
        }
      }
    }
${m.mac}
    Out: for (int n = 0; n < ${m.N}; n++) out[n] = acc[n];
}`;
  const body = `  ${xT} lb[${L}][${g.C}];
#pragma HLS ARRAY_PARTITION variable=lb complete dim=2
  int got = 0, wp = 0;
  Row: for (int r = 0; r < ${m.rows}; r++) {
    Fill: for (; got <= NEED${i}[r]; got++) {
      Pixel: for (int c = 0; c < ${g.C}; c++) {
#pragma HLS PIPELINE II=1
        lb[wp][c] = x0.read();
      }
      wp = wp + 1 == ${L} ? 0 : wp + 1;
    }
    ${m.accT} acc[${m.N}];
    layer${i}_row(lb, wp, got, r, acc);
    Store: for (int n = 0; n < ${m.N}; n++) {
#pragma HLS PIPELINE II=1
${outs.map((_, k) => `      y${k}.write(acc[n]);`).join("\n")}
    }
  }
  Drain: for (; got < ${g.H * g.W}; got++) {
    for (int c = 0; c < ${g.C}; c++) {
#pragma HLS PIPELINE II=1
      (void)x0.read();
    }
  }`;
  return { helpers, body };
}
