/**
 * Convs (group 1) in the batch functions as a GEMM read in place, without a
 * per-position gather (im2col), over 16 samples:
 *   acc[o, oh, ow, b] = bias[o] + Σ_{c, kh, kw} w[o, c, kh, kw] · x2[c, oh·SH + kh·DH, ow·SW + kw·DW, b]
 * 1. Once per call, the input becomes x2: x − z as int16_t, zero-padded
 *    (0 = a padding tap's x − z), its channels taken in pairs (2p, 2p+1) and
 *    the 16 samples' pairs side by side: x2[((p·HP + h)·WP + w)·32 + 2b + e] =
 *    x[2p + e, h − PT, w − PL, b] − z (0 outside the input and past the last
 *    channel). HP × WP covers exactly the rows and columns the windows read.
 * 2. Per output position, fixq_tile_dot (tile-kernel.ts) forms the 16 samples'
 *    sums of every output channel, reading tap pair j = (p, kh, kw) at
 *    x2 + ((oh·SH)·WP + ow·SW)·32 + OFF[j], OFF[j] = ((p·HP + kh·DH)·WP + kw·DW)·32,
 *    against the weights reordered to the same pairs (WT, zero past the last channel).
 *    A pointwise conv is the case KH = KW = 1: one pass over the activations, then a GEMM.
 * 3. The requant fused after the conv (if any) runs on blocks of PB positions'
 *    sums while they are in L1 (O·PB·16 int32 ≤ 32 KB, PB dividing the positions; channel o's block is
 *    contiguous in y, so one loop with the channel's constants loaded once
 *    covers it; tile-epilogue.ts), storing the 8-bit results: the int32
 *    tensor never exists. Otherwise the sums go straight to y.
 * Exact as the kernel's contract requires (operands(): int16 operands, every
 * partial sum below 2^31 in any order, no −2^15 operand pair), so the order of
 * the taps does not change a bit.
 */
import type { ConvOp, RequantOp } from "../../integer/program.js";
import { cList, minusZero } from "./c-types.js";
import type { CEmitCtx, COpCode } from "./op-code.js";
import { opComment, opName, storage } from "./op-code.js";
import { chw, operands } from "./ops-accumulate.js";
import { runEpilogue } from "./tile-epilogue.js";
import { TILE } from "./tile-kernel.js";

const L = TILE;

interface Geometry {
  C: number;
  H: number;
  W: number;
  O: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PT: number;
  PL: number;
  DH: number;
  DW: number;
  /** Channel pairs, and the padded rows and columns the windows read. */
  CP: number;
  HP: number;
  WP: number;
}

function geometry(op: ConvOp, ctx: CEmitCtx): Geometry {
  const [C, H, W] = chw(ctx.value(op.input), `conv ${op.source}`);
  const [O, OH, OW] = chw(ctx.value(op.output), `conv ${op.source}`);
  const [, , KH, KW] = op.weightShape;
  const [SH, SW] = op.strides;
  const [DH, DW] = op.dilations;
  return { C, H, W, O, OH, OW, KH, KW, SH, SW, PT: op.pads[0], PL: op.pads[1], DH, DW, CP: Math.ceil(C / 2), HP: (OH - 1) * SH + (KH - 1) * DH + 1, WP: (OW - 1) * SW + (KW - 1) * DW + 1 };
}

/** Whether `op` takes this path: group 1 and int16 operands whose sums fit the kernel's contract. */
export function takesTileConv(op: ConvOp, ctx: CEmitCtx): boolean {
  return op.group === 1 && operands(ctx.index, op.weight, op.weightShape[0], op.bias, ctx.value(op.input), op.inputZero, true).gemm;
}

/** The conv `op` (and the requant `rq` fused after it) over 16 samples; call only where takesTileConv. */
export function emitTileConv(op: ConvOp, ctx: CEmitCtx, rq?: RequantOp): COpCode {
  const i = ctx.index;
  const name = `${opName(i, op, L)}${rq ? "_requant" : ""}`;
  const g = geometry(op, ctx);
  const { C, H, W, O, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, CP, HP, WP } = g;
  const z = op.inputZero;
  const xT = storage(ctx, op.input);
  const yT = rq ? storage(ctx, rq.output) : "int32_t";
  const pairs = CP * KH * KW;
  const Ke = 2 * pairs;
  // tap pair j = (p, kh, kw): its offset in x2 and its two weights per output channel
  const off: number[] = [];
  const wt = new Int32Array(O * Ke);
  for (let p = 0; p < CP; p++)
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++) {
        const j = off.length;
        off.push(((p * HP + kh * DH) * WP + kw * DW) * 2 * L);
        for (let o = 0; o < O; o++)
          for (let e = 0; e < 2; e++) if (2 * p + e < C) wt[o * Ke + 2 * j + e] = op.weight[((o * C + 2 * p + e) * KH + kh) * KW + kw]!;
      }
  const plane = H * W * L;
  /** The lines filling one x2 cell from channel rows s0 (and s1, or 0 past the last channel). */
  const cell = (second: boolean) =>
    `        for (int b = 0; b < ${L}; b++) {\n          d[2 * b] = (int16_t)(${minusZero("s0[at + b]", z)});\n          d[2 * b + 1] = ${second ? `(int16_t)(${minusZero("s1[at + b]", z)})` : "0"};\n        }`;
  const fill = (p0: string, p1: string, second: boolean) => `  for (int p = ${p0}; p < ${p1}; p++) {
    const ${xT} *s0 = x + 2 * p * ${plane};${second ? `\n    const ${xT} *s1 = s0 + ${plane};` : ""}
    int16_t *d = x2 + p * ${HP * WP * 2 * L};
    for (int h = 0; h < ${HP}; h++) {
      const int ih = h - ${PT};
      for (int w = 0; w < ${WP}; w++, d += ${2 * L}) {
        const int iw = w - ${PL};
        if (ih < 0 || ih >= ${H} || iw < 0 || iw >= ${W}) {
          for (int q = 0; q < ${2 * L}; q++) d[q] = 0;
          continue;
        }
        const int at = (ih * ${W} + iw) * ${L};
${cell(second)}
      }
    }
  }`;
  // positions per block: the block's sums, O x PB x 16 int32, stay within 32 KB (L1)
  const P = OH * OW;
  // and divide P, so every block's epilogue loop has a constant count
  const limit = Math.max(1, Math.min(P, Math.floor(512 / O)));
  let PB = limit;
  while (P % PB !== 0) PB--;
  const dot = (acc: string, ys: number) => `fixq_tile_dot(WT${i}, B${i}, x2 + (pos / ${OW} * ${SH * WP} + pos % ${OW} * ${SW}) * ${2 * L}, OFF${i}, ${acc}, ${O}, ${Ke}, ${Ke}, ${ys});`;
  const positions = rq
    ? `  for (int pos0 = 0; pos0 < ${P}; pos0 += ${PB}) {
    for (int q = 0; q < ${PB}; q++) {
      const int pos = pos0 + q;
      ${dot(`acc + q * ${L}`, PB * L)}
    }
    for (int o = 0; o < ${O}; o++) {
${runEpilogue(ctx, rq, "o", `acc + o * ${PB * L}`, `y + (o * ${P} + pos0) * ${L}`, PB * L, "      ")}
    }
  }`
    : `  /* the sums go straight to y: channel rows ${P * L} elements apart */
  for (int pos = 0; pos < ${P}; pos++) ${dot(`y + pos * ${L}`, P * L)}`;
  const what = `kernel ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}], dilations ${DH}x${DW}, input zero ${z}, ${L} samples, read in place from the padded channel-pair copy x2 (${CP} pairs x ${HP} x ${WP})`;
  const text = `static const int32_t OFF${i}[${pairs}] = ${cList(off)};
static const int16_t WT${i}[${wt.length}] = ${cList(wt)};
${opComment(op, ctx, `${what}: acc = bias + sum (x - ${z}) * w${rq ? `; then requant '${rq.output}' on each position's sums` : ""}`)}
static int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {
  int16_t *restrict x2 = fixq_tilex2_int16_t;${rq ? `\n  int32_t *restrict acc = fixq_tileacc_int32_t; /* ${O} channels x ${PB} positions x ${L} samples */` : ""}
${fill("0", String(Math.floor(C / 2)), true)}
${C % 2 === 1 ? fill(String(Math.floor(C / 2)), String(CP), false) : ""}
${positions}
  return 0;
}`;
  return { name, text, scratch: { "tilex2:int16_t": CP * HP * WP * 2 * L, ...(rq ? { "tileacc:int32_t": O * PB * L } : {}) }, uses: ["tile_dot"] };
}
