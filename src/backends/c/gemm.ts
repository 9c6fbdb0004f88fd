/**
 * The dot-product kernel of the generated C's conv and dense layers, pasted
 * into model.c when a layer uses it:
 *   y[o·os + p·ps] = bias[o] + Σ_{k < Kp} w[o·Kp + k] · a[p·Kp + k]   for o < O, p < P
 * with int16_t operands, int32_t sums, and rows zero-padded to Kp, a multiple
 * of 16. Blocks of 4 outputs × 2 positions share their loads. Three bodies,
 * chosen by the compiler's target macros (-DFIXQ_PORTABLE forces the C one): AVX2 (`vpmaddwd` on 16 lanes), SSE2
 * (`pmaddwd` on 8), and portable C. They give the same integers: a layer
 * takes this kernel only when every partial sum of every order is below 2^31
 * in magnitude (|bias| + Σ|w|·max|a| < 2^31, checked by the emitter) and no
 * product pair is (−2^15)·(−2^15) twice (w or a never −2^15), so each
 * pair sum pmaddwd forms is exact and no sum wraps.
 */

/** Kp: K rounded up to a multiple of 16. */
export const paddedK = (k: number): number => Math.ceil(k / 16) * 16;

export const GEMM_S16 = `/* y[o*os + p*ps] = bias[o] + sum_{k < Kp} w[o*Kp + k] * a[p*Kp + k]; Kp a multiple of 16; exact int32 sums (see the emitter).
 * Not inlined; and specialised to a layer's constant sizes, gcc warns (-Waggressive-loop-optimizations)
 * about remainder loops that cannot run there, hence the pragma. */
#if defined(__GNUC__)
#define FIXQ_NOINLINE __attribute__((noinline))
#else
#define FIXQ_NOINLINE
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif
#if FIXQ_USE_AVX2
#include <immintrin.h>
static inline int32_t fixq_hsum256(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}
static FIXQ_NOINLINE void fixq_gemm_s16(const int16_t *restrict w, const int32_t *restrict bias, const int16_t *restrict a, int32_t *restrict y, long O, long P, long Kp, long os, long ps) {
  long o = 0;
  for (; o + 4 <= O; o += 4) {
    const int16_t *w0 = w + o * Kp, *w1 = w0 + Kp, *w2 = w1 + Kp, *w3 = w2 + Kp;
    long p = 0;
    for (; p + 2 <= P; p += 2) {
      const int16_t *a0 = a + p * Kp, *a1 = a0 + Kp;
      __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
      for (long k = 0; k < Kp; k += 16) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)(a0 + k)), x1 = _mm256_loadu_si256((const __m256i *)(a1 + k));
        __m256i v = _mm256_loadu_si256((const __m256i *)(w0 + k));
        s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(v, x0)); s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(v, x1));
        v = _mm256_loadu_si256((const __m256i *)(w1 + k));
        s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(v, x0)); s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(v, x1));
        v = _mm256_loadu_si256((const __m256i *)(w2 + k));
        s20 = _mm256_add_epi32(s20, _mm256_madd_epi16(v, x0)); s21 = _mm256_add_epi32(s21, _mm256_madd_epi16(v, x1));
        v = _mm256_loadu_si256((const __m256i *)(w3 + k));
        s30 = _mm256_add_epi32(s30, _mm256_madd_epi16(v, x0)); s31 = _mm256_add_epi32(s31, _mm256_madd_epi16(v, x1));
      }
      y[o * os + p * ps] = bias[o] + fixq_hsum256(s00); y[o * os + (p + 1) * ps] = bias[o] + fixq_hsum256(s01);
      y[(o + 1) * os + p * ps] = bias[o + 1] + fixq_hsum256(s10); y[(o + 1) * os + (p + 1) * ps] = bias[o + 1] + fixq_hsum256(s11);
      y[(o + 2) * os + p * ps] = bias[o + 2] + fixq_hsum256(s20); y[(o + 2) * os + (p + 1) * ps] = bias[o + 2] + fixq_hsum256(s21);
      y[(o + 3) * os + p * ps] = bias[o + 3] + fixq_hsum256(s30); y[(o + 3) * os + (p + 1) * ps] = bias[o + 3] + fixq_hsum256(s31);
    }
    for (; p < P; p++) {
      const int16_t *a0 = a + p * Kp;
      __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
      for (long k = 0; k < Kp; k += 16) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)(a0 + k));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w0 + k)), x0));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w1 + k)), x0));
        s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w2 + k)), x0));
        s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w3 + k)), x0));
      }
      y[o * os + p * ps] = bias[o] + fixq_hsum256(s0);
      y[(o + 1) * os + p * ps] = bias[o + 1] + fixq_hsum256(s1);
      y[(o + 2) * os + p * ps] = bias[o + 2] + fixq_hsum256(s2);
      y[(o + 3) * os + p * ps] = bias[o + 3] + fixq_hsum256(s3);
    }
  }
  for (; o < O; o++) {
    for (long p = 0; p < P; p++) {
      __m256i s = _mm256_setzero_si256();
      for (long k = 0; k < Kp; k += 16) s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(w + o * Kp + k)), _mm256_loadu_si256((const __m256i *)(a + p * Kp + k))));
      y[o * os + p * ps] = bias[o] + fixq_hsum256(s);
    }
  }
}
#elif defined(__SSE2__) && !defined(FIXQ_PORTABLE)
#include <emmintrin.h>
static inline int32_t fixq_hsum128(__m128i s) {
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}
static FIXQ_NOINLINE void fixq_gemm_s16(const int16_t *restrict w, const int32_t *restrict bias, const int16_t *restrict a, int32_t *restrict y, long O, long P, long Kp, long os, long ps) {
  long o = 0;
  for (; o + 4 <= O; o += 4) {
    const int16_t *w0 = w + o * Kp, *w1 = w0 + Kp, *w2 = w1 + Kp, *w3 = w2 + Kp;
    for (long p = 0; p < P; p++) {
      const int16_t *a0 = a + p * Kp;
      __m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
      for (long k = 0; k < Kp; k += 8) {
        const __m128i x0 = _mm_loadu_si128((const __m128i *)(a0 + k));
        s0 = _mm_add_epi32(s0, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(w0 + k)), x0));
        s1 = _mm_add_epi32(s1, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(w1 + k)), x0));
        s2 = _mm_add_epi32(s2, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(w2 + k)), x0));
        s3 = _mm_add_epi32(s3, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(w3 + k)), x0));
      }
      y[o * os + p * ps] = bias[o] + fixq_hsum128(s0);
      y[(o + 1) * os + p * ps] = bias[o + 1] + fixq_hsum128(s1);
      y[(o + 2) * os + p * ps] = bias[o + 2] + fixq_hsum128(s2);
      y[(o + 3) * os + p * ps] = bias[o + 3] + fixq_hsum128(s3);
    }
  }
  for (; o < O; o++) {
    for (long p = 0; p < P; p++) {
      __m128i s = _mm_setzero_si128();
      for (long k = 0; k < Kp; k += 8) s = _mm_add_epi32(s, _mm_madd_epi16(_mm_loadu_si128((const __m128i *)(w + o * Kp + k)), _mm_loadu_si128((const __m128i *)(a + p * Kp + k))));
      y[o * os + p * ps] = bias[o] + fixq_hsum128(s);
    }
  }
}
#else
static FIXQ_NOINLINE void fixq_gemm_s16(const int16_t *restrict w, const int32_t *restrict bias, const int16_t *restrict a, int32_t *restrict y, long O, long P, long Kp, long os, long ps) {
  for (long o = 0; o < O; o++) {
    for (long p = 0; p < P; p++) {
      int32_t s = bias[o];
      for (long k = 0; k < Kp; k++) s += (int32_t)w[o * Kp + k] * (int32_t)a[p * Kp + k];
      y[o * os + p * ps] = s;
    }
  }
}
#endif`;
