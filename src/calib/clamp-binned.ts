/**
 * The histogram of clamp(x, A, B) from the histogram of x: the mass of every
 * bin wholly below A goes into the bin holding A, the mass wholly above B
 * into the bin holding B, and the extremes clamp, min' = max(min, A),
 * max' = min(max, B). The mass moved stays inside its new bin, which the
 * range search (range.ts) reads as uniform over the bin's part inside
 * [min', max']: a point mass at A read as spread over at most one bin width.
 *
 * Used where a tensor's readers cannot tell values beyond [A, B] from A or B
 * (quant/reader-bounds.ts): the range is then chosen for the values the
 * readers see.
 */
import type { Binned } from "./histogram.js";

export function clampBinned(b: Binned, lo: number, hi: number): Binned {
  if (!(b.width > 0) || (lo <= b.min && hi >= b.max)) return b;
  const min = Math.min(Math.max(b.min, lo), hi);
  const max = Math.max(Math.min(b.max, hi), lo);
  const n = b.counts.length;
  const bin = (x: number) => Math.min(n - 1, Math.max(0, Math.floor((x - b.lo) / b.width)));
  const first = bin(min);
  const last = bin(max);
  const counts = new Float64Array(n);
  for (let j = 0; j < n; j++) counts[Math.min(last, Math.max(first, j))]! += b.counts[j]!;
  return { lo: b.lo, width: b.width, counts, total: b.total, min, max };
}
