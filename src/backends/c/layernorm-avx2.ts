/**
 * The AVX2 element loop of a layernorm in the batch functions (the lanes
 * form of shared/transformer-c.ts, whose row statistics it reads): for each
 * row and each group of 4 lanes, per element i,
 *   c = C·x − s,  n = c·g_i + b_i·D + D·2^(F−1)   (vpmuldq: c, b_i, D fit int32; c·g_i as
 *                                                  c·gh·2^16 + c·gl, gh = ⌊g_i / 2^16⌋, gl = g_i − gh·2^16, |g_i| < 2^46)
 *   y = z + clamp(⌊n / den⌋, qlo, qhi)           (den = D·2^F, qlo = lo − z, qhi = hi − z)
 * the quotient without a division: n < qlo·den gives qlo and n ≥ (qhi + 1)·den
 * gives qhi; else t = n − qlo·den < W·den (W = qhi − qlo + 1 < 2^wb), the
 * estimate q = ((t >> sh2)·rec2) >> (62 − wb) with sh2 = max(0, bitlength(den)
 * + wb − 32) and rec2 = ⌊2^(62−wb) / (den >> sh2)⌋ (so t >> sh2 and rec2 are
 * below 2^32: vpmuludq, and q ≤ W), then one correction each way on
 * rem = t − q·den. A lane whose rem is still outside [0, den) takes the
 * scalar fixq_div_clamp, so every output is ⌊n / den⌋ clamped, whatever the
 * estimate. Rows where some den < 2^(31−wb) (rec2 would pass 2^32) take the
 * scalar loop. Printed only where every bound above holds for the op's
 * operands (layerNormRowAvx2 says why not otherwise, by returning nothing).
 */
import type { LayerNormOp } from "../../integer/program.js";
import { intMax, intMin } from "../../numerics/int.js";
import { cInt } from "../shared/print-c.js";
import { divClampFits, layerNormDenMax } from "../shared/transformer-runtime.js";
import type { CEmitCtx } from "./op-code.js";
import { storage } from "./op-code.js";

const WIDEN: Readonly<Record<string, { bytes: number; load: (p: string) => string }>> = {
  uint8_t: { bytes: 4, load: (w) => `_mm256_cvtepu8_epi64(_mm_cvtsi32_si128(${w}))` },
  int8_t: { bytes: 4, load: (w) => `_mm256_cvtepi8_epi64(_mm_cvtsi32_si128(${w}))` },
  int16_t: { bytes: 8, load: (w) => `_mm256_cvtepi16_epi64(_mm_cvtsi64_si128(${w}))` },
};

const fitsInt32 = (xs: ArrayLike<number>) => Array.from(xs).every((v) => v >= -(2 ** 31) && v < 2 ** 31);

/** The row text (16 lanes, FIXQ_USE_AVX2 only), or "" where the op's operands leave a bound unproven. */
export function layerNormRowAvx2(op: LayerNormOp, ctx: CEmitCtx, lanes: number, reciprocal: boolean): string {
  const xv = ctx.value(op.input);
  const xT = storage(ctx, op.input);
  const w = WIDEN[xT];
  const C = xv.shape[xv.shape.length - 1]!;
  const lo = intMin(xv.type);
  const hi = intMax(xv.type);
  const cMax = op.rmsZero === undefined ? (C - 1) * (hi - lo) : C * Math.max(Math.abs(lo - op.rmsZero), Math.abs(hi - op.rmsZero));
  const denMax = layerNormDenMax(op, C, { lo, hi });
  const dMax = denMax / 2n ** BigInt(op.fracBits);
  const [qlo, qhi] = [op.clampLo - op.outZero, op.clampHi - op.outZero];
  const wb = Math.ceil(Math.log2(qhi - qlo + 1)) || 1;
  const ok =
    w !== undefined &&
    reciprocal &&
    lanes % 4 === 0 &&
    divClampFits(denMax, op) &&
    wb <= 16 &&
    cMax < 2 ** 31 &&
    C * Math.max(Math.abs(lo), Math.abs(hi)) < 2 ** 31 &&
    dMax < 2n ** 31n &&
    op.fracBits >= 1 &&
    op.fracBits <= 32 &&
    Array.from(op.gamma).every((g) => Math.abs(g) < 2 ** 46) &&
    fitsInt32(op.beta);
  if (!ok) return "";
  const i = ctx.index;
  const yT = storage(ctx, op.output);
  const L = lanes;
  const K2 = 62 - wb;
  const v = (name: string) => `_mm256_loadu_si256((const __m256i *)(${name} + g))`;
  return `#if FIXQ_USE_AVX2
    { /* 4 lanes at a time without a division (layernorm-avx2.ts) */
      int64_t lo[${L}], hi1[${L}], sh2[${L}], rec2[${L}], dlo[${L}], dhi[${L}];
      int fits = 1;
      for (int l = 0; l < ${L}; l++) {
        const int e = fixq_bitlen64((uint64_t)den[l]);
        fits &= den[l] >= ${cInt(2 ** (31 - wb))};
        sh2[l] = e + ${wb} > 32 ? e + ${wb} - 32 : 0;
        rec2[l] = fits ? (int64_t)(((uint64_t)1 << ${K2}) / ((uint64_t)den[l] >> sh2[l])) : 0;
        lo[l] = ${cInt(qlo)} * den[l];
        hi1[l] = ${cInt(qhi + 1)} * den[l] - 1;
        dlo[l] = den[l] & 0xffffffff;
        dhi[l] = den[l] >> 32;
      }
      if (fits) {
        const __m256i zero = _mm256_setzero_si256(), cv = _mm256_set1_epi64x(${C}), qlov = _mm256_set1_epi64x(${cInt(qlo)}), qhiv = _mm256_set1_epi64x(${cInt(qhi)}), zv = _mm256_set1_epi64x(${cInt(op.outZero)});
        for (int g = 0; g < ${L}; g += 4) {
          const __m256i s4 = ${v("s")}, d4 = ${v("D")}, den4 = ${v("den")}, lo4 = ${v("lo")}, hi4 = ${v("hi1")};
          const __m256i sh4 = ${v("sh2")}, rec4 = ${v("rec2")}, dlo4 = ${v("dlo")}, dhi4 = ${v("dhi")};
          const __m256i dm1 = _mm256_sub_epi64(den4, _mm256_set1_epi64x(1)), dh4 = _mm256_slli_epi64(d4, ${op.fracBits - 1});
          for (int i = 0; i < ${C}; i++) {
            ${w.bytes === 4 ? "int32_t" : "int64_t"} raw;
            int64_t r[4];
            memcpy(&raw, x + (o + i) * ${L} + g, ${w.bytes});
            {
              const __m256i c = _mm256_sub_epi64(_mm256_mul_epi32(${w.load("raw")}, cv), s4);
              const int64_t gi = (int64_t)GAMMA${i}[i], gh = fixq_shr(gi, 16), gl = gi - gh * 65536; /* g = gh·2^16 + gl, both within int32 */
              const __m256i cg = _mm256_add_epi64(_mm256_slli_epi64(_mm256_mul_epi32(c, _mm256_set1_epi64x(gh)), 16), _mm256_mul_epi32(c, _mm256_set1_epi64x(gl)));
              const __m256i n = _mm256_add_epi64(_mm256_add_epi64(cg, _mm256_mul_epi32(d4, _mm256_set1_epi64x((int64_t)BETA${i}[i]))), dh4);
              const __m256i below = _mm256_cmpgt_epi64(lo4, n), above = _mm256_cmpgt_epi64(n, hi4), out = _mm256_or_si256(below, above);
              const __m256i t = _mm256_andnot_si256(out, _mm256_sub_epi64(n, lo4));
              __m256i q = _mm256_srli_epi64(_mm256_mul_epu32(_mm256_srlv_epi64(t, sh4), rec4), ${K2});
              __m256i rem = _mm256_sub_epi64(t, _mm256_add_epi64(_mm256_mul_epu32(q, dlo4), _mm256_slli_epi64(_mm256_mul_epu32(q, dhi4), 32)));
              __m256i m = _mm256_cmpgt_epi64(zero, rem);
              q = _mm256_add_epi64(q, m);
              rem = _mm256_add_epi64(rem, _mm256_and_si256(m, den4));
              m = _mm256_cmpgt_epi64(rem, dm1);
              q = _mm256_sub_epi64(q, m);
              rem = _mm256_sub_epi64(rem, _mm256_and_si256(m, den4));
              q = _mm256_blendv_epi8(_mm256_blendv_epi8(_mm256_add_epi64(q, qlov), qlov, below), qhiv, above);
              _mm256_storeu_si256((__m256i *)r, _mm256_add_epi64(q, zv));
              if (_mm256_movemask_epi8(_mm256_andnot_si256(out, _mm256_or_si256(_mm256_cmpgt_epi64(zero, rem), _mm256_cmpgt_epi64(rem, dm1)))) != 0) {
                int64_t nn[4];
                _mm256_storeu_si256((__m256i *)nn, n);
                for (int k = 0; k < 4; k++) r[k] = ${cInt(op.outZero)} + fixq_div_clamp(nn[k], R[g + k], ${cInt(qlo)}, ${cInt(qhi)});
              }
            }
            ${storeText(yT, L)}
          }
        }
        continue;
      }
    }
#endif`;
}

/** Stores the 4 outputs r[0..3] (z + q, within the output type) as 4 elements of y: packed in SSE registers (no saturation: in range). */
function storeText(yT: string, L: number): string {
  const at = `y + (o + i) * ${L} + g`;
  const v = "_mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)r), _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)))";
  switch (yT) {
    case "uint8_t":
    case "int8_t": {
      const p = yT === "uint8_t" ? "_mm_packus_epi16" : "_mm_packs_epi16";
      return `{ const __m128i h = _mm_packs_epi32(${v}, _mm_setzero_si128()); const int32_t b4 = _mm_cvtsi128_si32(${p}(h, h)); memcpy(${at}, &b4, 4); }`;
    }
    case "int16_t":
      return `{ const __m128i h = ${v}; _mm_storel_epi64((__m128i *)(void *)(${at}), _mm_packs_epi32(h, h)); }`;
    default:
      return `for (int k = 0; k < 4; k++) ${at}[k] = (${yT})r[k];`;
  }
}
