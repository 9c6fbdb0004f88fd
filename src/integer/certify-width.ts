/**
 * Minimal integer widths for certified ranges.
 *
 *   signed:   the least w ≥ 1 with −2^(w−1) ≤ lo and hi ≤ 2^(w−1) − 1
 *   unsigned: the least w ≥ 1 with 0 ≤ lo and hi ≤ 2^w − 1
 *   bitLength(n) = the least w ≥ 0 with 0 ≤ n < 2^w, for n ≥ 0
 *
 * Exact for every integer a double holds (powers of two are exact doubles).
 */

/** Least w ≥ 0 with n < 2^w, for an integer n ≥ 0. */
export function bitLength(n: number): number {
  if (!(n >= 0) || !Number.isInteger(n)) throw new RangeError(`bitLength: ${n} is not a non-negative integer`);
  let w = n === 0 ? 0 : Math.floor(Math.log2(n)) + 1; // a guess: log2 may be off by one near powers of two
  while (w > 0 && n < 2 ** (w - 1)) w--;
  while (n >= 2 ** w) w++;
  return w;
}

/** Least signed width holding every integer of [lo, hi]. */
export function signedWidth(lo: number, hi: number): number {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo > hi) throw new RangeError(`signedWidth: bad range [${lo}, ${hi}]`);
  // v ≥ 0 needs bitLength(v) + 1 bits; v < 0 needs bitLength(−v − 1) + 1 bits
  const neg = lo < 0 ? bitLength(-lo - 1) + 1 : 1;
  const pos = hi >= 0 ? bitLength(hi) + 1 : 1;
  return Math.max(neg, pos);
}

/** Least unsigned width holding every integer of [lo, hi], lo ≥ 0. */
export function unsignedWidth(lo: number, hi: number): number {
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo > hi || lo < 0) throw new RangeError(`unsignedWidth: bad range [${lo}, ${hi}]`);
  return Math.max(1, bitLength(hi));
}
