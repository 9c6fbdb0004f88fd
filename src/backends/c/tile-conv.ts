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
 * Where the input is 8-bit and every weight pair passes pairsFitInt16, the
 * copy holds channel quads of bytes x − min(T) instead (padding: z − min(T)),
 * x2[((q·HP + h)·WP + w)·64 + 4b + e], and fixq_tile_dot_u8
 * (tile-kernel-u8.ts, `vpmaddubsw`) takes the quads, with the bias corrected
 * for the offset (biasU8); elsewhere the int16 pairs and fixq_tile_dot.
 * Exact as the kernel's contract requires (operands(): int16 operands, every
 * partial sum below 2^31 in any order, no −2^15 operand pair), so the order of
 * the taps does not change a bit.
 */
import type { ConvOp, RequantOp } from "../../integer/program.js";
import { cInt } from "../shared/print-c.js";
import { cList, minusZero } from "./c-types.js";
import type { CEmitCtx, COpCode } from "./op-code.js";
import { opComment, opName, storage } from "./op-code.js";
import { chw, operands } from "./ops-accumulate.js";
import { runEpilogue } from "./tile-epilogue.js";
import { TILE } from "./tile-kernel.js";
import { biasU8, pairsFitInt16, u8Operand } from "./tile-kernel-u8.js";

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
  /** The padded rows and columns the windows read. */
  HP: number;
  WP: number;
}

function geometry(op: ConvOp, ctx: CEmitCtx): Geometry {
  const [C, H, W] = chw(ctx.value(op.input), `conv ${op.source}`);
  const [O, OH, OW] = chw(ctx.value(op.output), `conv ${op.source}`);
  const [, , KH, KW] = op.weightShape;
  const [SH, SW] = op.strides;
  const [DH, DW] = op.dilations;
  return { C, H, W, O, OH, OW, KH, KW, SH, SW, PT: op.pads[0], PL: op.pads[1], DH, DW, HP: (OH - 1) * SH + (KH - 1) * DH + 1, WP: (OW - 1) * SW + (KW - 1) * DW + 1 };
}

/** Whether `op` takes this path: group 1 and int16 operands whose sums fit the kernel's contract. */
export function takesTileConv(op: ConvOp, ctx: CEmitCtx): boolean {
  return op.group === 1 && operands(ctx.index, op.weight, op.weightShape[0], op.bias, ctx.value(op.input), op.inputZero, true).gemm;
}

/**
 * Tap group j = (p, kh, kw) of G channels (G = 2: int16 pairs; G = 4: u8 quads): its offset in the
 * padded copy and its G weights per output channel (0 past the last channel).
 */
function packTaps(op: ConvOp, g: Geometry, G: number): { off: number[]; wt: Int32Array } {
  const { C, O, KH, KW, DH, DW, HP, WP } = g;
  const CG = Math.ceil(C / G);
  const Ke = G * CG * KH * KW;
  const off: number[] = [];
  const wt = new Int32Array(O * Ke);
  for (let p = 0; p < CG; p++)
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++) {
        const j = off.length;
        off.push(((p * HP + kh * DH) * WP + kw * DW) * G * L);
        for (let o = 0; o < O; o++)
          for (let e = 0; e < G; e++) if (G * p + e < C) wt[o * Ke + G * j + e] = op.weight[((o * C + G * p + e) * KH + kh) * KW + kw]!;
      }
  return { off, wt };
}

/** The conv `op` (and the requant `rq` fused after it) over 16 samples; call only where takesTileConv. */
export function emitTileConv(op: ConvOp, ctx: CEmitCtx, rq?: RequantOp): COpCode {
  const i = ctx.index;
  const name = `${opName(i, op, L)}${rq ? "_requant" : ""}`;
  const g = geometry(op, ctx);
  const { C, H, W, O, OH, OW, KH, KW, SH, SW, DH, DW, HP, WP } = g;
  const z = op.inputZero;
  const xT = storage(ctx, op.input);
  const yT = rq ? storage(ctx, rq.output) : "int32_t";
  // u8 quads where the input is 8-bit and every weight pair keeps vpmaddubsw exact (tile-kernel-u8.ts), else int16 pairs
  const u8 = u8Operand(ctx.value(op.input), z);
  const quads = u8 ? packTaps(op, g, 4) : undefined;
  const useU8 = u8 !== undefined && quads !== undefined && pairsFitInt16(quads.wt, u8.U);
  const G = useU8 ? 4 : 2;
  const { off, wt } = useU8 ? quads! : packTaps(op, g, 2);
  const CG = Math.ceil(C / G);
  const Ke = G * CG * KH * KW;
  const eT = useU8 ? "uint8_t" : "int16_t";
  const plane = H * W * L;
  const lo = u8?.lo ?? 0;
  /** A cell's element e from channel row s (x − z, or the byte x − min(T)), and a padding cell's value. */
  const val = (s: string) => (useU8 ? `(uint8_t)(${minusZero(s, lo)})` : `(int16_t)(${minusZero(s, z)})`);
  const padVal = useU8 ? u8!.padByte : 0;
  /** The lines filling the cells of groups p0 ≤ p < p1 from their first n channel rows (the others 0). */
  const fill = (p0: string, p1: string, n: number) => `  for (int p = ${p0}; p < ${p1}; p++) {
    const ${xT} *s0 = x + ${G} * p * ${plane};${Array.from({ length: n - 1 }, (_, e) => `\n    const ${xT} *s${e + 1} = s${e} + ${plane};`).join("")}
    ${eT} *d = x2 + p * ${HP * WP * G * L};
    for (int h = 0; h < ${HP}; h++) {
      const int ih = h - ${g.PT};
      for (int w = 0; w < ${WP}; w++, d += ${G * L}) {
        const int iw = w - ${g.PL};
        if (ih < 0 || ih >= ${H} || iw < 0 || iw >= ${W}) {
          for (int q = 0; q < ${G * L}; q++) d[q] = ${padVal};
          continue;
        }
        const int at = (ih * ${W} + iw) * ${L};
        for (int b = 0; b < ${L}; b++) {
${Array.from({ length: G }, (_, e) => `          d[${G} * b + ${e}] = ${e < n ? val(`s${e}[at + b]`) : "0"};`).join("\n")}
        }
      }
    }
  }`;
  // positions per block: the block's sums, O x PB x 16 int32, stay within 32 KB (L1)
  const P = OH * OW;
  // and divide P, so every block's epilogue loop has a constant count
  const limit = Math.max(1, Math.min(P, Math.floor(512 / O)));
  let PB = limit;
  while (P % PB !== 0) PB--;
  const kernel = useU8 ? "fixq_tile_dot_u8" : "fixq_tile_dot";
  const dot = (acc: string, ys: number) => `${kernel}(WT${i}, ${useU8 ? "BQ" : "B"}${i}, x2 + (pos / ${OW} * ${SH * WP} + pos % ${OW} * ${SW}) * ${G * L}, OFF${i}, ${acc}, ${O}, ${Ke}, ${Ke}, ${ys});`;
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
  const layout = useU8 ? `u8 channel-quad copy x2 (x - ${lo} as bytes; ${CG} quads x ${HP} x ${WP})` : `channel-pair copy x2 (${CG} pairs x ${HP} x ${WP})`;
  const what = `kernel ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}], dilations ${DH}x${DW}, input zero ${z}, ${L} samples, read in place from the padded ${layout}`;
  const decls = `static const int32_t OFF${i}[${off.length}] = ${cList(off)};
static const ${useU8 ? "int8_t" : "int16_t"} WT${i}[${wt.length}] = ${cList(wt)};${useU8 ? `\nstatic const int32_t BQ${i}[${O}] = ${cList(biasU8(op.weight, O, op.bias, u8!.padByte), cInt)};` : ""}`;
  const text = `${opComment(op, ctx, `${what}: acc = bias + sum (x - ${z}) * w${rq ? `; then requant '${rq.output}' on each position's sums` : ""}`)}
static int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {
  ${eT} *restrict x2 = fixq_tilex2_${eT};${rq ? `\n  int32_t *restrict acc = fixq_tileacc_int32_t; /* ${O} channels x ${PB} positions x ${L} samples */` : ""}
${fill("0", String(Math.floor(C / G)), G)}
${C % G !== 0 ? fill(String(Math.floor(C / G)), String(CG), C % G) : ""}
${positions}
  return 0;
}`;
  return { name, decls, text, scratch: { [`tilex2:${eT}`]: CG * HP * WP * G * L, ...(rq ? { "tileacc:int32_t": O * PB * L } : {}) }, uses: [useU8 ? "tile_dot_u8" : "tile_dot"] };
}
