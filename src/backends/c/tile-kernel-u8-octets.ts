/**
 * Octets for the AVX2 u8 × s8 kernel (tile-kernel-u8.ts): two quads' int16
 * pair sums added before one `vpmaddwd`, so 64 products take 3 multiply
 * instructions (2 `vpmaddubsw`, 1 `vpmaddwd`) instead of 4.
 *
 * For a block of 4 rows (the kernel's register block) and an octet t (quads
 * 2t and 2t+1, taps 8t … 8t + 7), the kernel forms per sample and pair
 * position p ∈ {0, 1}, in one int16 lane,
 *   (u[8t+2p]·w[8t+2p] + u[8t+2p+1]·w[8t+2p+1]) + (u[8t+4+2p]·w[8t+4+2p] + u[8t+5+2p]·w[8t+5+2p])
 * each bracket the exact `vpmaddubsw` pair sum (pairsFitInt16 holds for the
 * layer), the sum by `vpaddw`, modulo 2^16. Over u ∈ [0, U]^4 the sum lies in
 *   [−U·Σ w⁻, U·Σ w⁺]   (the four weights; w⁺ = max(w, 0), w⁻ = max(−w, 0)),
 * so it never wraps, and `vpmaddwd` by ones then adds the two positions'
 * lanes into int32 exactly, iff U·Σ w⁺ ≤ 32767 and U·Σ w⁻ ≤ 32768 for both
 * positions of every row of the block (octetFits). octetSchedule lists, per
 * block, the octets that fit, then the quads left over (taken one at a time as
 * before); the sum is the same modulo 2^32 in any order. With U = 255 an octet
 * fits when its positive (and negative) weights add up to at most 128 per
 * position, e.g. most octets of 7-bit weights (MLP fc1: 1% of (row, octet,
 * position) groups fail, so 91% of its (block, octet) pairs fit).
 *
 * The other bodies (SSE2, portable, VNNI, whose `vpdpbusd` needs no pairing)
 * take fixq_tile_dot_u8 and ignore the schedule.
 */

/** Whether octet t of rows o … o + 3 (int8 weights, rows Kw apart) keeps both positions' int16 sums exact for u ≤ U. */
export function octetFits(wq: ArrayLike<number>, o: number, t: number, Kw: number, U: number): boolean {
  for (let r = o; r < o + 4; r++)
    for (let p = 0; p < 2; p++) {
      let pos = 0;
      let neg = 0;
      for (const k of [8 * t + 2 * p, 8 * t + 2 * p + 1, 8 * t + 4 + 2 * p, 8 * t + 5 + 2 * p]) {
        const w = wq[r * Kw + k]!;
        if (w > 0) pos += w;
        else neg -= w;
      }
      if (U * pos > 32767 || U * neg > 32768) return false;
    }
  return true;
}

/**
 * The schedule of fixq_tile_dot_u8s for O rows of Kq taps (a multiple of 4; rows Kw apart): per block of 4 rows,
 * [np, ns, the np octets t that fit, the ns quads j not in one]; rows past the last block need no entry.
 * Undefined where no octet fits (the plain kernel is as fast).
 */
export function octetSchedule(wq: ArrayLike<number>, O: number, Kw: number, Kq: number, U: number): Int32Array | undefined {
  const out: number[] = [];
  let any = false;
  for (let o = 0; o + 4 <= O; o += 4) {
    const octets: number[] = [];
    const quads: number[] = [];
    for (let t = 0; t < Math.floor(Kq / 8); t++) {
      if (octetFits(wq, o, t, Kw, U)) octets.push(t);
      else quads.push(2 * t, 2 * t + 1);
    }
    if (Kq % 8 !== 0) quads.push(Kq / 4 - 1);
    any ||= octets.length > 0;
    out.push(octets.length, quads.length, ...octets, ...quads);
  }
  return any ? Int32Array.from(out) : undefined;
}

/** The kernel, printed after TILE_DOT_U8 (its helpers and macros). */
export const TILE_DOT_U8S = `/* fixq_tile_dot_u8's sums (quads contiguous), rows in blocks of 4 as sched lists them (tile-kernel-u8-octets.ts): per
 * block np, ns, np octets t (quads 2t, 2t+1: their int16 pair sums added by vpaddw, exact by the schedule's bound,
 * before one vpmaddwd), ns single quads j; the rows past the last block of 4 go to fixq_tile_dot_u8. */
#if FIXQ_USE_AVX2 && !(defined(__AVX512VNNI__) && defined(__AVX512VL__)) && !defined(__AVXVNNI__)
#if defined(__GNUC__)
#define FIXQ_U8S_ATTR __attribute__((noinline, unused)) /* unused where no layer has an octet */
#else
#define FIXQ_U8S_ATTR
#endif
static inline __m256i fixq_dot8(__m256i s, __m256i xa, __m256i xb, __m256i wa, __m256i wb, __m256i ones) {
  __m256i r = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(xa, wa), _mm256_maddubs_epi16(xb, wb)), ones));
  FIXQ_PIN(r);
  return r;
}
#define FIXQ_OCTET(wr, a, b) do { const __m256i v_ = fixq_wquad((wr) + k), u_ = fixq_wquad((wr) + k + 4); \\
    a = fixq_dot8(a, x0, x2, v_, u_, ones); b = fixq_dot8(b, x1, x3, v_, u_, ones); } while (0)
static FIXQ_U8S_ATTR void fixq_tile_dot_u8s(const int8_t *restrict w, const int32_t *restrict bias, const uint8_t *restrict xq, const int32_t *restrict sched, int32_t *restrict acc, long O, long Kw, long Kq, long ys) {
  const __m256i ones = _mm256_set1_epi16(1);
  long o = 0;
  for (; o + 4 <= O; o += 4) {
    const int8_t *w0 = w + o * Kw, *w1 = w0 + Kw, *w2 = w1 + Kw, *w3 = w2 + Kw;
    const long np = sched[0], ns = sched[1];
    const int32_t *ts = sched + 2, *js = ts + np;
    __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    sched = js + ns;
    for (long i = 0; i < np; i++) {
      const long k = 8L * ts[i];
      const uint8_t *xk = xq + k * 16;
      const __m256i x0 = _mm256_loadu_si256((const __m256i *)xk), x1 = _mm256_loadu_si256((const __m256i *)(xk + 32));
      const __m256i x2 = _mm256_loadu_si256((const __m256i *)(xk + 64)), x3 = _mm256_loadu_si256((const __m256i *)(xk + 96));
      FIXQ_OCTET(w0, s00, s01); FIXQ_OCTET(w1, s10, s11); FIXQ_OCTET(w2, s20, s21); FIXQ_OCTET(w3, s30, s31);
    }
    for (long i = 0; i < ns; i++) FIXQ_U8_STEP(xq + 64L * js[i], 4L * js[i]);
    FIXQ_TILE_STORE_U8(o, s00, s01); FIXQ_TILE_STORE_U8(o + 1, s10, s11); FIXQ_TILE_STORE_U8(o + 2, s20, s21); FIXQ_TILE_STORE_U8(o + 3, s30, s31);
  }
  if (o < O) fixq_tile_dot_u8(w + o * Kw, bias + o, xq, NULL, acc + o * ys, O - o, Kw, Kq, ys);
}
#else
static inline void fixq_tile_dot_u8s(const int8_t *restrict w, const int32_t *restrict bias, const uint8_t *restrict xq, const int32_t *restrict sched, int32_t *restrict acc, long O, long Kw, long Kq, long ys) {
  (void)sched;
  fixq_tile_dot_u8(w, bias, xq, NULL, acc, O, Kw, Kq, ys);
}
#endif`;
