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
#else
#define FIXQ_HAVE_T16 0
#endif`;
