/**
 * The AVX2 loop nest of a depthwise conv in the batch functions
 * (tile-depthwise.ts; x86 with AVX2, unless FIXQ_PORTABLE), where the sums are
 * exact int32 (operands()), the input 8-bit and the weights int16. Per channel
 * the weight pairs are broadcast once; per output position, the 16 samples' sums
 *   acc[b] = bias + Σ_j (x[tap 2j, b] − z)·w[2j] + (x[tap 2j+1, b] − z)·w[2j+1]
 * take one vpmaddwd per pair and half: each pair's x − z (int16) interleaved
 * (vpunpcklwd / vpunpckhwd) give the samples in the order [0–3, 8–11] and
 * [4–7, 12–15], put back in order by vperm2i128. Interior positions (every tap
 * inside the input) read their taps at constant offsets from the window's
 * corner; border positions through a table of tap pointers, padding taps
 * aimed at a row of 16 z (x − z = 0). An odd last tap pairs with zeros.
 * A channel's sums fill a plane (OH·OW positions × 16 samples) that the fused
 * requant then runs over (runEpilogue: on AVX2 numerics' lane form,
 * requant-avx2.ts) into y, or go straight to y as int32 where no requant is
 * fused. Measured on mobilenetv2's depthwise layers (CPU time, min of 7):
 * requantizing each position's two registers in place, or each row, was 5–6%
 * slower than the plane: the constants of both stages spill the 16 ymm registers.
 */
import type { ConvOp, RequantOp } from "../../integer/program.js";
import { cInt } from "../shared/print-c.js";
import { cList } from "./c-types.js";
import type { CEmitCtx } from "./op-code.js";
import { storage } from "./op-code.js";
import type { operands } from "./ops-accumulate.js";
import { runEpilogue } from "./tile-epilogue.js";
import { TILE } from "./tile-kernel.js";

const L = TILE;

export type DepthwiseGeometry = Record<"C" | "H" | "W" | "KH" | "KW" | "SH" | "SW" | "PT" | "PL" | "DH" | "DW" | "OH" | "OW" | "OH0" | "OH1" | "OW0" | "OW1", number>;

/** Whether the AVX2 nest applies: exact int32 sums, int16 weights, 8-bit input. */
export function takesAvx2Depthwise(op: ConvOp, ctx: CEmitCtx, d: ReturnType<typeof operands>): boolean {
  const xT = storage(ctx, op.input);
  return d.acc === "int32_t" && d.wt === "int16_t" && (xT === "uint8_t" || xT === "int8_t");
}

/** The nest's constants: the weight pairs as 32-bit lanes (low half the first tap, as vpmaddwd pairs them) and the row of z. */
export function avx2DepthwiseDecls(op: ConvOp, ctx: CEmitCtx): string {
  const i = ctx.index;
  const [C, , KH, KW] = op.weightShape;
  const T = KH! * KW!;
  const NP = Math.ceil(T / 2);
  const wp: number[] = [];
  for (let ch = 0; ch < C!; ch++)
    for (let j = 0; j < NP; j++) {
      const lo = op.weight[ch * T + 2 * j]!;
      const hi = 2 * j + 1 < T ? op.weight[ch * T + 2 * j + 1]! : 0;
      wp.push(((hi << 16) | (lo & 0xffff)) | 0);
    }
  return `#if FIXQ_AVX2_DATA
static const int32_t WP${i}[${wp.length}] = ${cList(wp, cInt)};
static const ${storage(ctx, op.input)} PADZ${i}[${L}] = {${new Array(L).fill(op.inputZero).join(", ")}};
#endif`;
}

/** The statements of the AVX2 nest (the function's body but its return). */
export function avx2DepthwiseNest(op: ConvOp, ctx: CEmitCtx, g: DepthwiseGeometry, rq: RequantOp | undefined): string {
  const i = ctx.index;
  const xT = storage(ctx, op.input);
  const { C, H, W, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, OH0, OH1, OW0, OW1 } = g;
  const T = KH * KW;
  const NP = Math.ceil(T / 2);
  const z = op.inputZero;
  const row = rq !== undefined;
  const load = (t: string) => {
    const v = `_mm256_cvt${xT === "uint8_t" ? "epu8" : "epi8"}_epi16(_mm_loadu_si128((const __m128i *)(${t})))`;
    return z === 0 ? v : `_mm256_sub_epi16(${v}, zz)`;
  };
  const pairs = (tap: (k: number) => string | undefined, pad: string) =>
    Array.from({ length: NP }, (_, j) => {
      const q = tap(2 * j + 1);
      return `${pad}{ const __m256i p = ${load(tap(2 * j)!)}, q = ${q ? load(q) : "_mm256_setzero_si256()"};\n${pad}  a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_unpacklo_epi16(p, q), w${j})); c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_unpackhi_epi16(p, q), w${j})); }`;
    }).join("\n");
  const offset = (k: number) => (Math.floor(k / KW) * DH * W + (k % KW) * DW) * L;
  const at = `yo + (oh * ${OW} + ow) * ${L}`;
  return `${row ? `  int32_t *restrict yo = fixq_tileacc_int32_t; /* one channel's sums: ${OH * OW} positions x ${L} samples */\n` : ""}${z !== 0 ? `  const __m256i zz = _mm256_set1_epi16(${z});\n` : ""}  for (int ch = 0; ch < ${C}; ch++) {
    const ${xT} *xc = x + ch * ${H * W * L};
    const int32_t *wp = WP${i} + ch * ${NP};
    const __m256i ${Array.from({ length: NP }, (_, j) => `w${j} = _mm256_set1_epi32(wp[${j}])`).join(", ")};
    const __m256i bo = _mm256_set1_epi32(B${i}[ch]);
${row ? "" : `    int32_t *yo = y + ch * ${OH * OW * L};\n`}    for (int oh = 0; oh < ${OH}; oh++) {
      for (int ow = 0; ow < ${OW}; ow++) {
        __m256i a = _mm256_setzero_si256(), c = a;
        if (oh >= ${OH0} && oh < ${OH1} && ow >= ${OW0} && ow < ${OW1}) {
          /* every tap inside: constant offsets from the window's corner */
          const ${xT} *r0 = xc + ((oh * ${SH} - ${PT}) * ${W} + ow * ${SW} - ${PL}) * ${L};
${pairs((k) => (k < T ? `r0 + ${offset(k)}` : undefined), "          ")}
        } else {
          const ${xT} *tp[${T}];
          for (int kh = 0; kh < ${KH}; kh++) {
            const int ih = oh * ${SH} - ${PT} + kh * ${DH};
            for (int kw = 0; kw < ${KW}; kw++) {
              const int iw = ow * ${SW} - ${PL} + kw * ${DW};
              tp[kh * ${KW} + kw] = ih >= 0 && ih < ${H} && iw >= 0 && iw < ${W} ? xc + (ih * ${W} + iw) * ${L} : PADZ${i};
            }
          }
${pairs((k) => (k < T ? `tp[${k}]` : undefined), "          ")}
        }
        {
          const __m256i v0 = _mm256_add_epi32(_mm256_permute2x128_si256(a, c, 0x20), bo), v1 = _mm256_add_epi32(_mm256_permute2x128_si256(a, c, 0x31), bo);
          _mm256_storeu_si256((__m256i *)(${at}), v0);
          _mm256_storeu_si256((__m256i *)(${at} + 8), v1);
        }
      }
    }${row ? `\n${runEpilogue(ctx, rq, "ch", "yo", `y + ch * ${OH * OW * L}`, OH * OW * L, "    ")}` : ""}
  }`;
}
