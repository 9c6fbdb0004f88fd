/**
 * Conv and dense layers of the HLS design, in hls4ml's resource style. One
 * row (a conv output position; a dense input row) is a block of N outputs
 * over K taps each (conv: K = inC/group · kh · kw; dense: K = inFeatures):
 *   acc[n] = bias[n] + Σ_k xz[g(n)·K + k] · w[n·K + k],   g(n) = ⌊n / (N/group)⌋
 * with xz the row's input taps x − inputZero (0 in a conv's padding). At
 * reuse factor R (resources.ts) the W = N·K products run as R reuse steps of
 * BF = W / R products each, product t = ir + R·im of step ir (hls4ml's
 * w_index), so the weights partitioned into BF blocks (`ARRAY_RESHAPE block
 * factor=BF`) give each step one weight per bank; the row loop is pipelined
 * at II = R with BF multipliers (`ALLOCATION … mul limit=BF`); the taps and
 * accumulators are partitioned completely. Accumulators are `layer<i>_acc_t`
 * (design.ts: the certified width), so the sum is exact. Weights and biases
 * are stored as plain integer ROMs (the stdint type of the weight type;
 * int32_t) and each product reads its weight as `layer<i>_weight_t`: g++
 * builds a class-typed initializer list of 10^5 elements in minutes and
 * gigabytes, a plain one in a second.
 */
import { type ConvOp, type DenseOp, weightTypeOf } from "../../integer/program.js";
import { cList } from "../c/c-types.js";
import { cComment } from "../shared/print-c.js";
import type { HlsDesign } from "./design.js";
import { intTypeName, readInt, writeInt } from "./hls-types.js";
import { macShape } from "./resources.js";

/** The code a conv/dense layer's row shares in every form (macLayer here, the line-buffered stream stage in line-buffer.ts). */
export interface MacParts {
  /** The weight and bias ROMs. */
  readonly consts: string;
  /** The row loop's pragmas and the row's locals (taps xz, accumulators acc), then acc = bias. */
  readonly open: string;
  /** The R reuse steps of BF products each, into acc. */
  readonly mac: string;
  readonly R: number;
  readonly BF: number;
  readonly N: number;
  readonly K: number;
  readonly rows: number;
  readonly tapT: string;
  readonly accT: string;
  /** x − inputZero of an int64 expression. */
  readonly minusZ: (e: string) => string;
  readonly comment: string;
}

export function macParts(d: HlsDesign, op: ConvOp | DenseOp, i: number, shape: string): MacParts {
  const p = d.program;
  const plan = d.layers.get(op.source);
  if (!plan) throw new Error(`${op.source}: no reuse plan`);
  const R = plan.reuseFactor;
  const W = op.weight.length;
  const BF = W / R;
  const { n: N, k: K, taps, rows } = macShape(p, op);
  const og = op.kind === "conv" ? N / op.group : N;
  const accT = `layer${i}_acc_t`;
  const tapT = `layer${i}_x_t`;
  const z = op.inputZero;
  const minusZ = (e: string) => (z === 0 ? e : `${e} - ${z}`);
  const tap = `xz[(t / ${K} / ${og}) * ${K} + t % ${K}]`;
  const product = d.mode === "ap" ? `${tap} * layer${i}_weight_t(W${i}[t])` : `(${accT})${tap} * (${accT})W${i}[t]`;
  return {
    consts: `static const ${intTypeName(weightTypeOf(op), "stdint")} W${i}[${W}] = ${cList(op.weight)};
static const int32_t B${i}[${N}] = ${cList(op.bias ?? new Int32Array(N))};`,
    open: `#pragma HLS PIPELINE II=${R}
#pragma HLS ALLOCATION operation instances=mul limit=${BF}
    ${tapT} xz[${taps}];
#pragma HLS ARRAY_PARTITION variable=xz complete dim=1
    ${accT} acc[${N}];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    Init: for (int n = 0; n < ${N}; n++) acc[n] = ${writeInt(accT, `B${i}[n]`, d.mode)};`,
    mac: `    Reuse: for (int ir = 0; ir < ${R}; ir++) {
      Mac: for (int im = 0; im < ${BF}; im++) {
#pragma HLS UNROLL
        const int t = ir + ${R} * im;
        acc[t / ${K}] += ${product};
      }
    }`,
    R,
    BF,
    N,
    K,
    rows,
    tapT,
    accT,
    minusZ,
    comment: `/* layer ${i}: ${cComment(op.source)}, ${shape}
 * acc[n] = bias[n] + sum_k (x - ${z}) * w[n, k] in ${accT}; reuse factor ${R}: ${R} step(s) of ${BF} products
 * (product t = ir + ${R} * im), ${BF} multipliers, one row every ${R} cycle(s). */`,
  };
}

/** A conv's geometry: input C×H×W, kernel, strides, pads (top, left), dilations, output width. */
export function convGeometry(p: HlsDesign["program"], op: ConvOp) {
  const [C, H, Wd] = p.values.get(op.input)!.shape as [number, number, number];
  const [, , KH, KW] = op.weightShape;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  const OW = p.values.get(op.output)!.shape[2]!;
  const shape = `conv ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}], dilations ${DH}x${DW}, group ${op.group}`;
  return { C, H, W: Wd, KH, KW, SH, SW, PT, PL, DH, DW, OW, shape };
}

/** The layer's constants and its function `static int layer<i>(const in_t *x, layer<i>_acc_t *y)`. */
export function macLayer(d: HlsDesign, op: ConvOp | DenseOp, i: number): string {
  const p = d.program;
  const xT = d.typeOf.get(op.input)!;
  const { n: N, k: K, rows } = macShape(p, op);
  const g = op.kind === "conv" ? convGeometry(p, op) : undefined;
  const m = macParts(d, op, i, g ? `${g.shape}: ${N} outputs x ${K} taps, ${rows} positions` : `dense K = ${K}, N = ${N}, ${rows} row(s)`);
  const gather = !g
    ? `    Gather: for (int k = 0; k < ${K}; k++) xz[k] = ${writeInt(m.tapT, m.minusZ(readInt(`x[r * ${K} + k]`, d.mode)), d.mode)};`
    : `    const int oh = r / ${g.OW}, ow = r % ${g.OW};
    Gather: for (int c = 0; c < ${g.C}; c++) {
      for (int kh = 0; kh < ${g.KH}; kh++) {
        for (int kw = 0; kw < ${g.KW}; kw++) {
          const int ih = oh * ${g.SH} - ${g.PT} + kh * ${g.DH}, iw = ow * ${g.SW} - ${g.PL} + kw * ${g.DW};
          const bool inside = ih >= 0 && ih < ${g.H} && iw >= 0 && iw < ${g.W};
          xz[(c * ${g.KH} + kh) * ${g.KW} + kw] = ${writeInt(m.tapT, `inside ? ${m.minusZ(readInt(`x[(c * ${g.H} + ih) * ${g.W} + iw]`, d.mode))} : 0`, d.mode)};
        }
      }
    }`;
  const store = g ? `    Store: for (int n = 0; n < ${N}; n++) y[n * ${rows} + r] = acc[n];` : `    Store: for (int n = 0; n < ${N}; n++) y[r * ${N} + n] = acc[n];`;
  const inSize = p.values.get(op.input)!.shape.reduce((a, b) => a * b, 1);
  const outSize = p.values.get(op.output)!.shape.reduce((a, b) => a * b, 1);
  return `${m.comment}
${m.consts}
static int layer${i}(const ${xT} x[${inSize}], ${m.accT} y[${outSize}]) {
#pragma HLS ARRAY_RESHAPE variable=W${i} block factor=${m.BF} dim=1
  Row: for (int r = 0; r < ${rows}; r++) {
${m.open}
${gather}
${m.mac}
${store}
  }
  return 0;
}`;
}
