/**
 * The dot-product kernel of the batch functions (batch-tile.ts), pasted into
 * model.c when a layer uses it. For one output position of TILE = 16 samples:
 *   y[o·ys + b] = bias[o] + Σ_{k < Ke} w[o·Kw + k] · xp[off[k/2] + 2b + (k mod 2)]   for o < O, b < 16
 * with int16_t weights (rows of stride Kw) and, at xp + off[j] for each pair j
 * of taps (2j, 2j+1), the 16 samples' pairs side by side (off: a table of the
 * layer, so the pairs can be read in place from a padded copy of the whole
 * input, tile-conv.ts; or NULL for a gathered patch, pair j at 32·j): one 256-bit load
 * is 8 samples' pairs, and one broadcast weight pair multiplies them all
 * (`vpmaddwd`), so each weight is read once for 16 samples and each patch load
 * serves 4 output channels (a 4 × 16 register block of int32 sums).
 * Bodies, chosen by the compiler's target macros (-DFIXQ_PORTABLE forces the C one):
 *   AVX512-VNNI + VL: `vpdpwssd` (pair products added into the sums in one instruction; compile-checked only
 *                     where the CPU lacks it);  AVX2: `vpmaddwd` + `vpaddd`;  SSE2: `pmaddwd` + `paddd`;  portable C.
 * They give the same integers: a layer takes this kernel only when every partial sum of every order is
 * below 2^31 in magnitude (|bias| + Σ|w|·max|x − z| < 2^31, checked by the emitter as for the one-sample
 * kernel, gemm.ts) and w or x − z is never −2^15 (so no pair sum is 2^31), hence no sum wraps in any order.
 */

/** Samples per batch tile: every batch function works on 16 samples at once. */
export const TILE = 16;

/** Ke: K rounded up to an even count (the kernel consumes taps in pairs). */
export const evenK = (k: number): number => k + (k % 2);

export const TILE_DOT = `/* acc[o*ys + b] = bias[o] + sum_{k < Ke} w[o*Kw + k] * xp[off[k/2] + 2b + k%2], o < O, b < 16; Ke even; exact int32 sums (see the emitter). */
/* Tap pair k/2: at its offset, or contiguous where off is NULL (a gathered patch). */
#define FIXQ_PAIR(k) (off ? xp + off[(k) / 2] : xp + (k) * 16)
#if defined(__GNUC__)
#define FIXQ_TILE_NOINLINE __attribute__((noinline))
#else
#define FIXQ_TILE_NOINLINE
#endif
#if FIXQ_USE_AVX2 || (defined(__AVX512VNNI__) && defined(__AVX512VL__) && !defined(FIXQ_PORTABLE))
#include <immintrin.h>
/* Each sum's update pinned by an empty asm (as in the u8 kernel): else gcc 12 hoists the products of a block
 * and keeps accumulators on the stack. */
#if defined(__GNUC__)
#define FIXQ_PIN2(r) __asm__("" : "+x"(r))
#else
#define FIXQ_PIN2(r) (void)0
#endif
static inline __m256i fixq_dot2(__m256i s, __m256i w, __m256i x) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  __m256i r = _mm256_dpwssd_epi32(s, w, x);
#else
  __m256i r = _mm256_add_epi32(s, _mm256_madd_epi16(w, x));
#endif
  FIXQ_PIN2(r);
  return r;
}
#define FIXQ_DOT2(s, w, x) fixq_dot2(s, w, x)
/* Row o of the result: bias[o] + the sums of samples 0..7 (lo) and 8..15 (hi). */
#define FIXQ_TILE_STORE(o, lo, hi) do { const __m256i bo_ = _mm256_set1_epi32(bias[o]); \
    _mm256_storeu_si256((__m256i *)(acc + (o) * ys), _mm256_add_epi32(lo, bo_)); _mm256_storeu_si256((__m256i *)(acc + (o) * ys + 8), _mm256_add_epi32(hi, bo_)); } while (0)
/* Two adjacent int16 weights as one 32-bit lane (x86 is little-endian: the first is the low half, as vpmaddwd pairs them). */
static inline __m256i fixq_wpair(const int16_t *w) { int32_t v; memcpy(&v, w, 4); return _mm256_set1_epi32(v); }
static FIXQ_TILE_NOINLINE void fixq_tile_dot(const int16_t *restrict w, const int32_t *restrict bias, const int16_t *restrict xp, const int32_t *restrict off, int32_t *restrict acc, long O, long Kw, long Ke, long ys) {
  long o = 0;
  for (; off && o + 6 <= O; o += 6) { /* 6-channel blocks: taken by the in-place convs, measured faster there, slower on the gathered dense patches */
    const int16_t *w0 = w + o * Kw, *w1 = w0 + Kw, *w2 = w1 + Kw, *w3 = w2 + Kw, *w4 = w3 + Kw, *w5 = w4 + Kw;
    __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00, s40 = s00, s41 = s00, s50 = s00, s51 = s00;
    for (long k = 0; k < Ke; k += 2) {
      const int16_t *xk = xp + off[k / 2];
      const __m256i x0 = _mm256_loadu_si256((const __m256i *)xk), x1 = _mm256_loadu_si256((const __m256i *)(xk + 16));
      __m256i v = fixq_wpair(w0 + k);
      s00 = FIXQ_DOT2(s00, v, x0); s01 = FIXQ_DOT2(s01, v, x1);
      v = fixq_wpair(w1 + k);
      s10 = FIXQ_DOT2(s10, v, x0); s11 = FIXQ_DOT2(s11, v, x1);
      v = fixq_wpair(w2 + k);
      s20 = FIXQ_DOT2(s20, v, x0); s21 = FIXQ_DOT2(s21, v, x1);
      v = fixq_wpair(w3 + k);
      s30 = FIXQ_DOT2(s30, v, x0); s31 = FIXQ_DOT2(s31, v, x1);
      v = fixq_wpair(w4 + k);
      s40 = FIXQ_DOT2(s40, v, x0); s41 = FIXQ_DOT2(s41, v, x1);
      v = fixq_wpair(w5 + k);
      s50 = FIXQ_DOT2(s50, v, x0); s51 = FIXQ_DOT2(s51, v, x1);
    }
    FIXQ_TILE_STORE(o, s00, s01); FIXQ_TILE_STORE(o + 1, s10, s11); FIXQ_TILE_STORE(o + 2, s20, s21);
    FIXQ_TILE_STORE(o + 3, s30, s31); FIXQ_TILE_STORE(o + 4, s40, s41); FIXQ_TILE_STORE(o + 5, s50, s51);
  }
  for (; o + 4 <= O; o += 4) {
    const int16_t *w0 = w + o * Kw, *w1 = w0 + Kw, *w2 = w1 + Kw, *w3 = w2 + Kw;
    __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    for (long k = 0; k < Ke; k += 2) {
      const int16_t *xk = FIXQ_PAIR(k);
      const __m256i x0 = _mm256_loadu_si256((const __m256i *)xk), x1 = _mm256_loadu_si256((const __m256i *)(xk + 16));
      __m256i v = fixq_wpair(w0 + k);
      s00 = FIXQ_DOT2(s00, v, x0); s01 = FIXQ_DOT2(s01, v, x1);
      v = fixq_wpair(w1 + k);
      s10 = FIXQ_DOT2(s10, v, x0); s11 = FIXQ_DOT2(s11, v, x1);
      v = fixq_wpair(w2 + k);
      s20 = FIXQ_DOT2(s20, v, x0); s21 = FIXQ_DOT2(s21, v, x1);
      v = fixq_wpair(w3 + k);
      s30 = FIXQ_DOT2(s30, v, x0); s31 = FIXQ_DOT2(s31, v, x1);
    }
    FIXQ_TILE_STORE(o, s00, s01); FIXQ_TILE_STORE(o + 1, s10, s11); FIXQ_TILE_STORE(o + 2, s20, s21); FIXQ_TILE_STORE(o + 3, s30, s31);
  }
  for (; o < O; o++) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    for (long k = 0; k < Ke; k += 2) {
      const __m256i v = fixq_wpair(w + o * Kw + k);
      const int16_t *xk = FIXQ_PAIR(k);
      s0 = FIXQ_DOT2(s0, v, _mm256_loadu_si256((const __m256i *)xk));
      s1 = FIXQ_DOT2(s1, v, _mm256_loadu_si256((const __m256i *)(xk + 16)));
    }
    FIXQ_TILE_STORE(o, s0, s1);
  }
}
#elif defined(__SSE2__) && !defined(FIXQ_PORTABLE)
#include <emmintrin.h>
static inline __m128i fixq_wpair128(const int16_t *w) { int32_t v; memcpy(&v, w, 4); return _mm_set1_epi32(v); }
static FIXQ_TILE_NOINLINE void fixq_tile_dot(const int16_t *restrict w, const int32_t *restrict bias, const int16_t *restrict xp, const int32_t *restrict off, int32_t *restrict acc, long O, long Kw, long Ke, long ys) {
  for (long o = 0; o < O; o++) {
    __m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
    for (long k = 0; k < Ke; k += 2) {
      const __m128i v = fixq_wpair128(w + o * Kw + k);
      const int16_t *x = FIXQ_PAIR(k);
      s0 = _mm_add_epi32(s0, _mm_madd_epi16(v, _mm_loadu_si128((const __m128i *)x)));
      s1 = _mm_add_epi32(s1, _mm_madd_epi16(v, _mm_loadu_si128((const __m128i *)(x + 8))));
      s2 = _mm_add_epi32(s2, _mm_madd_epi16(v, _mm_loadu_si128((const __m128i *)(x + 16))));
      s3 = _mm_add_epi32(s3, _mm_madd_epi16(v, _mm_loadu_si128((const __m128i *)(x + 24))));
    }
    const __m128i bo = _mm_set1_epi32(bias[o]);
    _mm_storeu_si128((__m128i *)(acc + o * ys), _mm_add_epi32(s0, bo)); _mm_storeu_si128((__m128i *)(acc + o * ys + 4), _mm_add_epi32(s1, bo));
    _mm_storeu_si128((__m128i *)(acc + o * ys + 8), _mm_add_epi32(s2, bo)); _mm_storeu_si128((__m128i *)(acc + o * ys + 12), _mm_add_epi32(s3, bo));
  }
}
#else
static FIXQ_TILE_NOINLINE void fixq_tile_dot(const int16_t *restrict w, const int32_t *restrict bias, const int16_t *restrict xp, const int32_t *restrict off, int32_t *restrict acc, long O, long Kw, long Ke, long ys) {
  for (long o = 0; o < O; o++) {
    int32_t s[16];
    for (int b = 0; b < 16; b++) s[b] = bias[o];
    for (long k = 0; k < Ke; k += 2) {
      const int32_t w0 = w[o * Kw + k], w1 = w[o * Kw + k + 1];
      const int16_t *x = FIXQ_PAIR(k);
      for (int b = 0; b < 16; b++) s[b] += w0 * x[2 * b] + w1 * x[2 * b + 1];
    }
    for (int b = 0; b < 16; b++) acc[o * ys + b] = s[b];
  }
}
#endif`;
