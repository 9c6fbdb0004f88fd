/**
 * The u8 × s8 dot-product kernel of the batch functions: the same sums as
 * fixq_tile_dot (tile-kernel.ts) with 8-bit operands in quads, so one 256-bit
 * instruction pair multiplies 32 operand pairs instead of 16. For one output
 * position of TILE = 16 samples:
 *   acc[o·ys + b] = bias'[o] + Σ_{k < Kq} w[o·Kw + k] · u[quad k/4, sample b, tap k mod 4]   (mod 2^32)
 * where tap quad j of the 16 samples lies at xq + off[j] (or xq + 64·j where
 * off is NULL): sample b's 4 bytes at 4b … 4b + 3.
 *
 * Operands. x of an 8-bit type T (int8, uint8, int4 …) becomes the byte
 * u = x − min(T) ∈ [0, U], U = max(T) − min(T) ≤ 255, and since
 *   Σ w·(x − z) = Σ w·u − (z − min(T))·Σ w,
 * the layer's bias becomes bias'[o] = bias[o] − (z − min(T))·Σ_k w[o, k]
 * (biasU8), and a padding tap (x − z = 0) holds the byte z − min(T). Taps
 * added to round K up to 4 have weight 0.
 *
 * Exactness. AVX2's `vpmaddubsw` forms, for each pair of taps (2i, 2i+1) of a
 * quad, u0·w0 + u1·w1 saturated to int16. Over u ∈ [0, U]² that sum lies in
 *   [−U·(w0⁻ + w1⁻), U·(w0⁺ + w1⁺)]   (w⁺ = max(w, 0), w⁻ = max(−w, 0)),
 * so it is exact for every input iff U·(w0⁺ + w1⁺) ≤ 32767 and
 * U·(w0⁻ + w1⁻) ≤ 32768 for every pair of every row (pairsFitInt16, checked
 * by the emitter on the packed weights; with U = 255 it holds whenever
 * |w| ≤ 64, e.g. the default recipe's 7-bit weights, and for any pair of
 * opposite signs). `vpmaddwd` by ones then adds the two pair sums of a quad
 * into int32 exactly, and `vpaddd` accumulates modulo 2^32. The result is
 * Σ w·(x − z) + bias modulo 2^32, which is that sum itself because the
 * emitter takes this kernel only where every partial sum of the original
 * order fits int32 (operands(): |bias| + Σ|w|·max|x − z| < 2^31).
 * AVX512-VNNI (+VL) and AVX-VNNI `vpdpbusd` add the four u8 × s8 products of a
 * quad into the int32 lane without intermediate saturation (Intel SDM:
 * "VPDPBUSD", the non-saturating form), so the same bound is more than they
 * need; compile-checked only where the CPU lacks them. SSE2 (no pmaddubsw)
 * widens the bytes to int16 and forms the same pair sums with `pmaddwd`
 * (exact: |w·u| ≤ 128·255), adding each sample's two halves at the end,
 * modulo 2^32 as the other bodies. The portable body sums
 * in uint32_t (modulo 2^32) and converts back with fixq_u32_to_i32.
 */
import { intMax, intMin } from "../../numerics/int.js";
import type { ProgramValue } from "../../integer/program.js";

/** Kq: K rounded up to a multiple of 4 (the kernel consumes taps in quads). */
export const quadK = (k: number): number => Math.ceil(k / 4) * 4;

/**
 * The byte encoding of a layer's input x, if it has one: u = x − lo, lo = min(T), every u ≤ U,
 * and the zero point's byte z − lo (a padding tap). Undefined where x is wider than 8 bits or z lies outside T.
 */
export function u8Operand(xv: ProgramValue, z: number): { lo: number; U: number; padByte: number } | undefined {
  if (xv.type.bits > 8) return undefined;
  const lo = intMin(xv.type);
  const U = intMax(xv.type) - lo;
  if (z < lo || z - lo > U) return undefined;
  return { lo, U, padByte: z - lo };
}

/** Rows of K weights, each zero-padded to Kw (int8 values as the u8 kernel reads them). */
export function packRows(weight: ArrayLike<number>, rows: number, K: number, Kw: number): Int32Array {
  const out = new Int32Array(rows * Kw);
  for (let o = 0; o < rows; o++) for (let k = 0; k < K; k++) out[o * Kw + k] = weight[o * K + k]!;
  return out;
}

/** Whether every adjacent pair (2i, 2i+1) of the packed int8 weights keeps u0·w0 + u1·w1 within int16 for u ≤ U. */
export function pairsFitInt16(w: ArrayLike<number>, U: number): boolean {
  for (let k = 0; k + 1 < w.length; k += 2) {
    const a = w[k]!;
    const b = w[k + 1]!;
    if (a < -128 || a > 127 || b < -128 || b > 127) return false;
    if (U * (Math.max(a, 0) + Math.max(b, 0)) > 32767 || U * (Math.max(-a, 0) + Math.max(-b, 0)) > 32768) return false;
  }
  return true;
}

/** bias'[o] = bias[o] − padByte·Σ_k w[o, k], as int32 (modulo 2^32), for `rows` rows of the weight. */
export function biasU8(weight: ArrayLike<number>, rows: number, bias: ArrayLike<number> | undefined, padByte: number): Int32Array {
  const K = weight.length / rows;
  const out = new Int32Array(rows);
  for (let o = 0; o < rows; o++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += weight[o * K + k]!;
    out[o] = (bias?.[o] ?? 0) - padByte * s; // |…| < 2^53: exact, then wrapped by the Int32Array
  }
  return out;
}

export const TILE_DOT_U8 = `/* acc[o*ys + b] = bias[o] + sum_{k < Kq} w[o*Kw + k] * xq[quad k/4: 4b + k%4] (mod 2^32), o < O, b < 16; Kq a multiple of 4;
 * every pair sum of a quad fits int16 (see the emitter), so vpmaddubsw never saturates. */
#define FIXQ_QUAD(k) (off ? xq + off[(k) / 4] : xq + (k) * 16)
#if defined(__GNUC__)
#define FIXQ_TILE_NOINLINE_U8 __attribute__((noinline))
#else
#define FIXQ_TILE_NOINLINE_U8
#endif
#if FIXQ_USE_AVX2
#include <immintrin.h>
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define FIXQ_DOT4(s, x, w) _mm256_dpbusd_epi32(s, x, w)
#elif defined(__AVXVNNI__)
#define FIXQ_DOT4(s, x, w) _mm256_dpbusd_avx_epi32(s, x, w)
#else
/* An empty asm that pins each sum's update in place: without it gcc 12 hoists all the vpmaddubsw of a block,
 * runs out of the 16 ymm registers and keeps accumulators on the stack (a store-to-load chain per step). */
#if defined(__GNUC__)
#define FIXQ_PIN(r) __asm__("" : "+x"(r))
#else
#define FIXQ_PIN(r) (void)0
#endif
static inline __m256i fixq_dot4(__m256i s, __m256i x, __m256i w, __m256i ones) {
  __m256i r = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), ones));
  FIXQ_PIN(r);
  return r;
}
#define FIXQ_DOT4(s, x, w) fixq_dot4(s, x, w, ones)
#endif
#define FIXQ_TILE_STORE_U8(o, lo, hi) do { const __m256i bo_ = _mm256_set1_epi32(bias[o]); \\
    _mm256_storeu_si256((__m256i *)(acc + (o) * ys), _mm256_add_epi32(lo, bo_)); _mm256_storeu_si256((__m256i *)(acc + (o) * ys + 8), _mm256_add_epi32(hi, bo_)); } while (0)
/* Quad k of rows w0 … w3 (the 16 samples' bytes at xk) into the sums s00 … s31 (samples 0–7, 8–15 of each row). */
#define FIXQ_U8_STEP(xk, k) do { const uint8_t *xk_ = (xk); \
    const __m256i x0 = _mm256_loadu_si256((const __m256i *)xk_), x1 = _mm256_loadu_si256((const __m256i *)(xk_ + 32)); \
    __m256i v = fixq_wquad(w0 + (k)); s00 = FIXQ_DOT4(s00, x0, v); s01 = FIXQ_DOT4(s01, x1, v); \
    v = fixq_wquad(w1 + (k)); s10 = FIXQ_DOT4(s10, x0, v); s11 = FIXQ_DOT4(s11, x1, v); \
    v = fixq_wquad(w2 + (k)); s20 = FIXQ_DOT4(s20, x0, v); s21 = FIXQ_DOT4(s21, x1, v); \
    v = fixq_wquad(w3 + (k)); s30 = FIXQ_DOT4(s30, x0, v); s31 = FIXQ_DOT4(s31, x1, v); } while (0)
/* Four adjacent int8 weights as one 32-bit lane, broadcast (the first is the low byte, as vpmaddubsw pairs them). */
static inline __m256i fixq_wquad(const int8_t *w) { int32_t v; memcpy(&v, w, 4); return _mm256_set1_epi32(v); }
static FIXQ_TILE_NOINLINE_U8 void fixq_tile_dot_u8(const int8_t *restrict w, const int32_t *restrict bias, const uint8_t *restrict xq, const int32_t *restrict off, int32_t *restrict acc, long O, long Kw, long Kq, long ys) {
  const __m256i ones = _mm256_set1_epi16(1);
  long o = 0;
  (void)ones;
  for (; o + 4 <= O; o += 4) {
    const int8_t *w0 = w + o * Kw, *w1 = w0 + Kw, *w2 = w1 + Kw, *w3 = w2 + Kw;
    __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    for (long k = 0; k < Kq; k += 4) FIXQ_U8_STEP(FIXQ_QUAD(k), k);
    FIXQ_TILE_STORE_U8(o, s00, s01); FIXQ_TILE_STORE_U8(o + 1, s10, s11); FIXQ_TILE_STORE_U8(o + 2, s20, s21); FIXQ_TILE_STORE_U8(o + 3, s30, s31);
  }
  for (; o < O; o++) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    for (long k = 0; k < Kq; k += 4) {
      const __m256i v = fixq_wquad(w + o * Kw + k);
      const uint8_t *xk = FIXQ_QUAD(k);
      s0 = FIXQ_DOT4(s0, _mm256_loadu_si256((const __m256i *)xk), v);
      s1 = FIXQ_DOT4(s1, _mm256_loadu_si256((const __m256i *)(xk + 32)), v);
    }
    FIXQ_TILE_STORE_U8(o, s0, s1);
  }
}
#elif defined(__SSE2__) && !defined(FIXQ_PORTABLE)
#include <emmintrin.h>
/* The 4 int8 weights of a quad as int16, twice: (w0, w1, w2, w3, w0, w1, w2, w3). */
static inline __m128i fixq_wquad16(const int8_t *w) {
  int32_t v;
  memcpy(&v, w, 4);
  const __m128i b = _mm_cvtsi32_si128(v);
  const __m128i h = _mm_srai_epi16(_mm_unpacklo_epi8(b, b), 8);
  return _mm_unpacklo_epi64(h, h);
}
/* (a0 + a1, a2 + a3, b0 + b1, b2 + b3): the pair sums of two samples each (shufps moves bits only). */
static inline __m128i fixq_pairsum(__m128i a, __m128i b) {
  const __m128 fa = _mm_castsi128_ps(a), fb = _mm_castsi128_ps(b);
  return _mm_add_epi32(_mm_castps_si128(_mm_shuffle_ps(fa, fb, 0x88)), _mm_castps_si128(_mm_shuffle_ps(fa, fb, 0xdd)));
}
/* SSE2 has no pmaddubsw: the bytes are widened to int16 (pmaddwd by (w0, w1, w2, w3) gives each sample's two
 * pair sums), and each sample's two int32 halves are added once, at the end. */
static FIXQ_TILE_NOINLINE_U8 void fixq_tile_dot_u8(const int8_t *restrict w, const int32_t *restrict bias, const uint8_t *restrict xq, const int32_t *restrict off, int32_t *restrict acc, long O, long Kw, long Kq, long ys) {
  const __m128i zero = _mm_setzero_si128();
  for (long o = 0; o < O; o++) {
    __m128i a[8];
    for (int j = 0; j < 8; j++) a[j] = zero;
    for (long k = 0; k < Kq; k += 4) {
      const __m128i v = fixq_wquad16(w + o * Kw + k);
      const uint8_t *x = FIXQ_QUAD(k);
      for (int j = 0; j < 4; j++) {
        const __m128i xj = _mm_loadu_si128((const __m128i *)(x + 16 * j));
        a[2 * j] = _mm_add_epi32(a[2 * j], _mm_madd_epi16(_mm_unpacklo_epi8(xj, zero), v));
        a[2 * j + 1] = _mm_add_epi32(a[2 * j + 1], _mm_madd_epi16(_mm_unpackhi_epi8(xj, zero), v));
      }
    }
    const __m128i bo = _mm_set1_epi32(bias[o]);
    for (int j = 0; j < 4; j++) _mm_storeu_si128((__m128i *)(acc + o * ys + 4 * j), _mm_add_epi32(fixq_pairsum(a[2 * j], a[2 * j + 1]), bo));
  }
}
#else
static FIXQ_TILE_NOINLINE_U8 void fixq_tile_dot_u8(const int8_t *restrict w, const int32_t *restrict bias, const uint8_t *restrict xq, const int32_t *restrict off, int32_t *restrict acc, long O, long Kw, long Kq, long ys) {
  for (long o = 0; o < O; o++) {
    uint32_t s[16];
    for (int b = 0; b < 16; b++) s[b] = (uint32_t)bias[o];
    for (long k = 0; k < Kq; k += 4) {
      const int32_t w0 = w[o * Kw + k], w1 = w[o * Kw + k + 1], w2 = w[o * Kw + k + 2], w3 = w[o * Kw + k + 3];
      const uint8_t *x = FIXQ_QUAD(k);
      /* each product within ±128 * 255: the four fit int32 */
      for (int b = 0; b < 16; b++) s[b] += (uint32_t)(w0 * x[4 * b] + w1 * x[4 * b + 1] + w2 * x[4 * b + 2] + w3 * x[4 * b + 3]);
    }
    for (int b = 0; b < 16; b++) acc[o * ys + b] = fixq_u32_to_i32(s[b]);
  }
}
#endif`;
