/**
 * Paired accuracy difference of two classifiers on the same n images: with
 * b = images the reference gets right and the candidate wrong, c = the
 * reverse, drop = (b − c)/n and its standard error √(b + c − (b − c)²/n)/n
 * (both as fractions). Far smaller than two independent binomial errors,
 * because most images are right or wrong in both.
 */
export function pairedDrop(ref: Int32Array, cand: Int32Array, labels: ArrayLike<number>): { drop: number; se: number } {
  const n = labels.length;
  let b = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const r = ref[i] === labels[i];
    const q = cand[i] === labels[i];
    if (r && !q) b++;
    else if (q && !r) c++;
  }
  return { drop: (b - c) / n, se: Math.sqrt(Math.max(0, b + c - (b - c) ** 2 / n)) / n };
}
