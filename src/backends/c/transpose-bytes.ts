/**
 * A 16 × 16 byte transpose for the batch functions' input quantize
 * (batch-tile.ts): 16 samples' rows of bytes (sample b's element i at
 * q[b·n + i]) into the batch layout (element i of sample b at y[i·16 + b]),
 * 16 elements at a time:
 *   y[(i0 + i)·16 + b] = q[b·n + i0 + i],  b, i < 16
 * with SSE2 unpacks in four rounds (bytes, then 16-, 32- and 64-bit units):
 * each round pairs two registers holding the same elements for two adjacent
 * groups of samples, and interleaves their units, so a unit doubles its
 * samples and a register halves its elements; after four rounds each register
 * holds one element's 16 samples. The printed code is straight-line, its
 * register names and element order worked out here. It moves bytes only, so
 * any 8-bit type goes through it unchanged. Elsewhere (no SSE2, or
 * FIXQ_PORTABLE) the caller's scalar loop does the same copy.
 *
 * Also the u8 kernel's quads (tile-kernel-u8.ts) from four rows of the batch
 * layout, as the dense layers' gather forms them:
 *   d[4b + e] = s_e[b] ^ flip,  b < 16, e < 4
 * (flip = 0x80 gives x − min(T) = x + 128 for int8, 0 the byte itself for
 * uint8): two rounds of unpacks, 8 per 64 bytes.
 */

interface Reg {
  readonly name: string;
  /** The first sample of the register's units. */
  readonly first: number;
  /** The elements its units hold, in order. */
  readonly elements: readonly number[];
}

/** The unpack rounds, as C statements: 16 loads, 64 unpacks, 16 stores. */
function transposeLines(): string[] {
  const all = Array.from({ length: 16 }, (_, i) => i);
  let regs: Reg[] = all.map((b) => ({ name: `r${b}`, first: b, elements: all }));
  const lines = regs.map((r) => `const __m128i ${r.name} = _mm_loadu_si128((const __m128i *)(q + ${r.first} * n));`);
  [8, 16, 32, 64].forEach((bits, round) => {
    const groups = new Map<string, Reg[]>();
    for (const r of regs) {
      const key = r.elements.join(",");
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const next: Reg[] = [];
    for (const g of groups.values()) {
      g.sort((a, b) => a.first - b.first);
      for (let j = 0; j < g.length; j += 2) {
        const [p, q] = [g[j]!, g[j + 1]!];
        const half = p.elements.length / 2;
        for (const [side, elements] of [
          ["lo", p.elements.slice(0, half)],
          ["hi", p.elements.slice(half)],
        ] as const) {
          const name = `t${round}_${next.length}`;
          lines.push(`const __m128i ${name} = _mm_unpack${side}_epi${bits}(${p.name}, ${q.name});`);
          next.push({ name, first: p.first, elements });
        }
      }
    }
    regs = next;
  });
  for (const r of regs) lines.push(`_mm_storeu_si128((__m128i *)(y + ${r.elements[0]! * 16}), ${r.name});`);
  return lines;
}

/** The kernel text (kernels.ts lists its function). */
export const TRANSPOSE16 = `#if defined(__SSE2__) && !defined(FIXQ_PORTABLE)
#include <emmintrin.h>
#define FIXQ_HAVE_T16 1
/* y[i*16 + b] = q[b*n + i] for b, i < 16: the 16 samples' rows of bytes into the batch layout */
static inline void fixq_t16(const uint8_t *q, long n, uint8_t *y) {
${transposeLines()
  .map((l) => `  ${l}`)
  .join("\n")}
}
/* d[4b + e] = s_e[b] ^ flip for b < 16, e < 4: four rows of 16 bytes into the u8 kernel's 16 quads */
static inline void fixq_quads16(const uint8_t *s0, const uint8_t *s1, const uint8_t *s2, const uint8_t *s3, int flip, uint8_t *d) {
  const __m128i f = _mm_set1_epi8((char)flip);
  const __m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)s0), f), b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)s1), f);
  const __m128i c = _mm_xor_si128(_mm_loadu_si128((const __m128i *)s2), f), e = _mm_xor_si128(_mm_loadu_si128((const __m128i *)s3), f);
  const __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b), ce0 = _mm_unpacklo_epi8(c, e), ce1 = _mm_unpackhi_epi8(c, e);
  _mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi16(ab0, ce0));
  _mm_storeu_si128((__m128i *)(d + 16), _mm_unpackhi_epi16(ab0, ce0));
  _mm_storeu_si128((__m128i *)(d + 32), _mm_unpacklo_epi16(ab1, ce1));
  _mm_storeu_si128((__m128i *)(d + 48), _mm_unpackhi_epi16(ab1, ce1));
}
#else
#define FIXQ_HAVE_T16 0
#endif`;
