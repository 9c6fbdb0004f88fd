/**
 * Depthwise convs (group = channels = outputs) in the batch functions, over
 * 16 samples (element i of sample b at i·16 + b):
 *   acc[ch, oh, ow, b] = bias[ch] + Σ_{kh, kw} w[ch, kh, kw] · (x[ch, oh·SH − PT + kh·DH, ow·SW − PL + kw·DW, b] − z)
 * Padding taps add 0 and are skipped. Positions whose whole window lies inside
 * the input (the interior: rows [OH0, OH1), columns [OW0, OW1)) take a loop
 * whose tap counts and offsets are constants, so the compiler unrolls the taps
 * and vectorizes the 16 samples; border positions read their tap range
 * [K0, K1) from small tables. A channel's sums fill an L1-sized plane (or
 * go straight to y, int32, where no requant follows), and the requant fused
 * after the conv runs over the whole plane with the channel's constants loaded
 * once (tile-epilogue.ts). The activations stay in the batch layout (channel-major, 16 samples
 * innermost): the samples are the vector lanes, so no channel-blocked layout
 * is needed between layers.
 * Sums as ops-accumulate.ts's operands(): int32_t where no partial sum can
 * pass 2^31, else uint32_t modulo 2^32 (exact after the final conversion).
 */
import type { ConvOp, RequantOp } from "../../integer/program.js";
import { cList, minusZero } from "./c-types.js";
import { cInt } from "../shared/print-c.js";
import type { CEmitCtx, COpCode } from "./op-code.js";
import { opComment, opName, storage } from "./op-code.js";
import { chw, operands } from "./ops-accumulate.js";
import { runEpilogue } from "./tile-epilogue.js";
import { TILE } from "./tile-kernel.js";

const L = TILE;

/** Whether `op` is a depthwise conv (one input channel per group, one output per group). */
export function isDepthwise(op: ConvOp, ctx: CEmitCtx): boolean {
  const [C] = chw(ctx.value(op.input), `conv ${op.source}`);
  const [O] = chw(ctx.value(op.output), `conv ${op.source}`);
  return op.weightShape[1] === 1 && O === op.group && C === op.group;
}

/** Per output index o < n: the window taps inside the input, [k0, k1) (empty where none is). */
function tapRange(what: string, n: number, S: number, P0: number, D: number, K: number, In: number): [number[], number[]] {
  const k0: number[] = [];
  const k1: number[] = [];
  for (let o = 0; o < n; o++) {
    const inside = Array.from({ length: K }, (_, k) => o * S - P0 + k * D).map((q) => q >= 0 && q < In);
    const first = inside.indexOf(true);
    k0.push(first < 0 ? 0 : first);
    k1.push(first < 0 ? 0 : inside.lastIndexOf(true) + 1);
    if (first >= 0 && inside.slice(first, k1[o]).includes(false)) throw new Error(`${what}: window taps inside the input are not contiguous`);
  }
  return [k0, k1];
}

/** The interior [lo, hi): outputs whose K taps all lie inside the input (lo = hi when none does). */
function interior(n: number, S: number, P0: number, D: number, K: number, In: number): [number, number] {
  const inside = (o: number) => o * S - P0 >= 0 && o * S - P0 + (K - 1) * D < In;
  let lo = 0;
  while (lo < n && !inside(lo)) lo++;
  let hi = lo;
  while (hi < n && inside(hi)) hi++;
  return [lo, hi];
}

/**
 * The AVX2 body of one position (x86 with AVX2, unless FIXQ_PORTABLE), where
 * the sums are exact int32 (operands()), the input 8-bit and the weights int16:
 * taps are taken in pairs (2j, 2j+1), tap pointers aimed at a row of 16 z
 * (x − z = 0) where the tap is padding; each pair's x − z (int16) are
 * interleaved (vpunpcklwd / vpunpckhwd) and multiplied by the pair's two weights
 * in one vpmaddwd, giving the samples in the order [0–3, 8–11] and [4–7, 12–15],
 * put back in order (vperm2i128) when stored with the bias. Undefined elsewhere.
 */
function vectorBody(op: ConvOp, ctx: CEmitCtx, d: ReturnType<typeof operands>, g: Record<"H" | "W" | "KH" | "KW" | "SH" | "SW" | "PT" | "PL" | "DH" | "DW" | "OW", number>): string | undefined {
  const xT = storage(ctx, op.input);
  if (d.acc !== "int32_t" || d.wt !== "int16_t" || (xT !== "uint8_t" && xT !== "int8_t")) return undefined;
  const i = ctx.index;
  const { H, W, KH, KW, SH, SW, PT, PL, DH, DW, OW } = g;
  const T = KH * KW;
  const NP = Math.ceil(T / 2);
  const load = (t: string) => `_mm256_sub_epi16(_mm256_cvt${xT === "uint8_t" ? "epu8" : "epi8"}_epi16(_mm_loadu_si128((const __m128i *)${t})), zz)`;
  const pairs = Array.from({ length: NP }, (_, j) =>
    [
      `          { const __m256i p = ${load(`tp[${2 * j}]`)}, q = ${load(`tp[${2 * j + 1}]`)}, wv = _mm256_set1_epi32(wp[${j}]);`,
      "            a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_unpacklo_epi16(p, q), wv)); c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_unpackhi_epi16(p, q), wv)); }",
    ].join("\n"),
  );
  return `        {
          const ${xT} *tp[${2 * NP}];
          const int32_t *wp = WP${i} + ch * ${NP};
          const __m256i zz = _mm256_set1_epi16(${op.inputZero});
          __m256i a = _mm256_setzero_si256(), c = a;
          for (int kh = 0; kh < ${KH}; kh++) {
            const int ih = oh * ${SH} - ${PT} + kh * ${DH};
            for (int kw = 0; kw < ${KW}; kw++) {
              const int iw = ow * ${SW} - ${PL} + kw * ${DW};
              tp[kh * ${KW} + kw] = ih >= 0 && ih < ${H} && iw >= 0 && iw < ${W} ? xc + (ih * ${W} + iw) * ${L} : PADZ${i};
            }
          }${T % 2 === 1 ? `\n          tp[${T}] = PADZ${i};` : ""}
${pairs.join("\n")}
          {
            const __m256i bo = _mm256_set1_epi32(B${i}[ch]);
            int32_t *ps = pl + (oh * ${OW} + ow) * ${L};
            _mm256_storeu_si256((__m256i *)ps, _mm256_add_epi32(_mm256_permute2x128_si256(a, c, 0x20), bo));
            _mm256_storeu_si256((__m256i *)(ps + 8), _mm256_add_epi32(_mm256_permute2x128_si256(a, c, 0x31), bo));
          }
        }`;
}

/** The vector body's constants: the weight pairs as 32-bit lanes (low half the first tap, as vpmaddwd pairs them) and the row of z. */
function vectorDecls(op: ConvOp, ctx: CEmitCtx): string {
  const i = ctx.index;
  const [, , KH, KW] = op.weightShape;
  const T = KH * KW;
  const NP = Math.ceil(T / 2);
  const C = op.weightShape[0];
  const wp: number[] = [];
  for (let ch = 0; ch < C; ch++)
    for (let j = 0; j < NP; j++) {
      const lo = op.weight[ch * T + 2 * j]!;
      const hi = 2 * j + 1 < T ? op.weight[ch * T + 2 * j + 1]! : 0;
      wp.push(((hi << 16) | (lo & 0xffff)) | 0);
    }
  return `#if defined(__AVX2__) && !defined(FIXQ_PORTABLE)
#include <immintrin.h>
static const int32_t WP${i}[${wp.length}] = ${cList(wp, cInt)};
static const ${storage(ctx, op.input)} PADZ${i}[${L}] = {${new Array(L).fill(op.inputZero).join(", ")}};
#endif`;
}

/** The depthwise conv `op` (and the requant `rq` fused after it) over 16 samples. */
export function emitTileDepthwise(op: ConvOp, ctx: CEmitCtx, rq?: RequantOp): COpCode {
  const i = ctx.index;
  const name = `${opName(i, op, L)}${rq ? "_requant" : ""}`;
  const xv = ctx.value(op.input);
  const [C, H, W] = chw(xv, `conv ${op.source}`);
  const [, OH, OW] = chw(ctx.value(op.output), `conv ${op.source}`);
  const [, , KH, KW] = op.weightShape;
  const [SH, SW] = op.strides;
  const [PT, PL] = op.pads;
  const [DH, DW] = op.dilations;
  const z = op.inputZero;
  const xT = storage(ctx, op.input);
  const yT = rq ? storage(ctx, rq.output) : "int32_t";
  const d = operands(i, op.weight, C, op.bias, xv, z, false);
  const what = `depthwise, kernel ${KH}x${KW}, strides ${SH}x${SW}, pads [${op.pads.join(", ")}], input zero ${z}, ${L} samples`;
  const [kh0, kh1] = tapRange(`conv ${op.source}`, OH, SH, PT, DH, KH, H);
  const [kw0, kw1] = tapRange(`conv ${op.source}`, OW, SW, PL, DW, KW, W);
  const [OH0, OH1] = interior(OH, SH, PT, DH, KH, H);
  const [OW0, OW1] = interior(OW, SW, PL, DW, KW, W);
  const tables = [`static const unsigned char KH0_${i}[${OH}] = {${kh0.join(", ")}};`, `static const unsigned char KH1_${i}[${OH}] = {${kh1.join(", ")}};`, `static const unsigned char KW0_${i}[${OW}] = {${kw0.join(", ")}};`, `static const unsigned char KW1_${i}[${OW}] = {${kw1.join(", ")}};`].join("\n");
  const tap = (r: string) => `for (int b = 0; b < ${L}; b++) s[b] += ${d.term("wv", `(${d.xt})(${minusZero(`${r}[b]`, z)})`)};`;
  const vec = vectorBody(op, ctx, d, { H, W, KH, KW, SH, SW, PT, PL, DH, DW, OW });
  const text = `${vec ? `${vectorDecls(op, ctx)}\n#if !defined(__AVX2__) || defined(FIXQ_PORTABLE)\n${tables}\n#endif` : tables}
${opComment(op, ctx, `${what}: acc = bias + sum (x - ${z}) * w${rq ? `; then requant '${rq.output}' on each position's sums` : ""}; interior rows [${OH0}, ${OH1}), columns [${OW0}, ${OW1})`)}
static int ${name}(const ${xT} *restrict x, ${yT} *restrict y) {${rq ? `\n  int32_t *restrict plane = fixq_tileacc_int32_t; /* one channel's sums: ${OH * OW} positions x ${L} samples */` : ""}
  for (int ch = 0; ch < ${C}; ch++) {
    const ${xT} *xc = x + ch * ${H * W * L};
    int32_t *pl = ${rq ? "plane" : `y + ch * ${OH * OW * L}`};
    for (int oh = 0; oh < ${OH}; oh++) {
      for (int ow = 0; ow < ${OW}; ow++) {
${vec ? `#if defined(__AVX2__) && !defined(FIXQ_PORTABLE)
${vec}
#else
` : ""}        const ${d.wt} *wc = W${i} + ch * ${KH * KW};
        ${d.acc} s[${L}];
        for (int b = 0; b < ${L}; b++) s[b] = ${d.start("ch")};
        if (oh >= ${OH0} && oh < ${OH1} && ow >= ${OW0} && ow < ${OW1}) {
          /* every tap inside: constant counts and offsets */
          const ${xT} *r0 = xc + ((oh * ${SH} - ${PT}) * ${W} + ow * ${SW} - ${PL}) * ${L};
          for (int kh = 0; kh < ${KH}; kh++) {
            for (int kw = 0; kw < ${KW}; kw++) {
              const ${d.wt} wv = wc[kh * ${KW} + kw];
              const ${xT} *r = r0 + (kh * ${DH * W} + kw * ${DW}) * ${L};
              ${tap("r")}
            }
          }
        } else {
          for (int kh = KH0_${i}[oh]; kh < KH1_${i}[oh]; kh++) {
            const int ih = oh * ${SH} - ${PT} + kh * ${DH};
            for (int kw = KW0_${i}[ow]; kw < KW1_${i}[ow]; kw++) {
              const int iw = ow * ${SW} - ${PL} + kw * ${DW};
              const ${xT} *r = xc + (ih * ${W} + iw) * ${L};
              const ${d.wt} wv = wc[kh * ${KW} + kw];
              ${tap("r")}
            }
          }
        }
        for (int b = 0; b < ${L}; b++) pl[(oh * ${OW} + ow) * ${L} + b] = ${d.result("s[b]")};${vec ? "\n#endif" : ""}
      }
    }
${rq ? runEpilogue(ctx, rq, "ch", "plane", `y + ch * ${OH * OW * L}`, OH * OW * L, "    ") : ""}
  }
  return 0;
}`;
  return { name, text, ...(rq ? { scratch: { "tileacc:int32_t": OH * OW * L } } : {}) };
}
