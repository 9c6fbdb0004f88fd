/**
 * The random baselines of `npm run bench:mixed`'s accuracy part, and their
 * comparisons with mixed on the test set.
 *
 * A random fill: random choices, lowered until every budget holds, then
 * raised at random while every budget holds. K fills per row give three
 * baselines:
 *   - best by test top-1 (the wording; picked with the test labels,
 *     so biased upward: the maximum of K noisy draws);
 *   - best by the calibration metric D (the same information mixed uses);
 *   - the expected top-1 of a random fill, mean over the K draws.
 * Against one fill, mixed − fill ± the paired SE (paired.ts). Against the
 * mean, per image d_i = [mixed right] − (1/K) Σ_k [fill k right], the
 * difference is mean(d) with SE √(var(d)/n + s²/K), s the spread of the K
 * fills' top-1 (the test set's noise and the draw's, added).
 *
 * The best-by-top-1 baseline without its selection bias, by 2-fold
 * cross-fitting: the test images split once into halves A and B (a fixed
 * seeded shuffle); the fill of best top-1 on A is scored on B and the one
 * best on B is scored on A, so no image both picks a fill and scores it.
 * Per image d_i = [mixed right] − [fill picked on the other half right],
 * the difference is mean(d) over all n images with the paired SE sd(d)/√n
 * (picks held fixed, as cross-fitting does).
 */
import { evaluate, type Budget, type Group, withinBudgets } from "../src/quant/mixed/problem.js";
import { Rng } from "../src/util/random.js";

/** A random assignment filling the budgets (see the header). */
export function randomFill(groups: readonly Group[], budgets: readonly Budget[], rng: Rng): number[] {
  const n = groups[0]!.sensitivity.length;
  const choice = groups.map(() => rng.int(n));
  const order = groups.map((_, i) => i).sort(() => rng.float() - 0.5);
  const dearest = (g: Group) => g.cost.size.indexOf(Math.max(...g.cost.size));
  const cheapest = (g: Group) => g.cost.size.indexOf(Math.min(...g.cost.size));
  for (const i of order) {
    if (withinBudgets(evaluate(groups, choice, budgets), budgets)) break;
    choice[i] = cheapest(groups[i]!);
  }
  for (const i of order) {
    const before = choice[i]!;
    choice[i] = dearest(groups[i]!);
    if (!withinBudgets(evaluate(groups, choice, budgets), budgets)) choice[i] = before;
  }
  return choice;
}

/** Mixed against the mean random fill, in points: the difference and its SE (header). */
export function versusMean(mixed: Int32Array, fills: readonly Int32Array[], labels: ArrayLike<number>): { diff: number; se: number; mean: number; drawSe: number } {
  const n = labels.length;
  const k = fills.length;
  const d = new Float64Array(n);
  const top1 = fills.map(() => 0);
  for (let i = 0; i < n; i++) {
    let right = 0;
    fills.forEach((f, j) => {
      if (f[i] === labels[i]) {
        right++;
        top1[j]!++;
      }
    });
    d[i] = (mixed[i] === labels[i] ? 1 : 0) - right / k;
  }
  const meanD = d.reduce((s, v) => s + v, 0) / n;
  const varD = d.reduce((s, v) => s + (v - meanD) ** 2, 0) / (n - 1);
  const acc = top1.map((t) => t / n);
  const mean = acc.reduce((s, v) => s + v, 0) / k;
  const spread = k > 1 ? acc.reduce((s, v) => s + (v - mean) ** 2, 0) / (k - 1) : 0;
  return { diff: meanD * 100, se: Math.sqrt(varD / n + spread / k) * 100, mean: mean * 100, drawSe: Math.sqrt(spread / k) * 100 };
}

/** A fixed split of n items into two halves of ⌊n/2⌋ and ⌈n/2⌉ (a seeded Fisher–Yates shuffle): fold[i] is 0 or 1. */
export function halves(n: number, seed: number): Uint8Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const fold = new Uint8Array(n);
  for (let k = Math.floor(n / 2); k < n; k++) fold[idx[k]!] = 1;
  return fold;
}

/** Mixed against the best fill picked on the other half (header), in points: `picks[f]` is the fill scored on fold f, `top1` the picked fills' top-1 on the halves they score. */
export function crossFitted(mixed: Int32Array, fills: readonly Int32Array[], labels: ArrayLike<number>, fold: Uint8Array): { diff: number; se: number; top1: number; picks: [number, number] } {
  const n = labels.length;
  const right = fills.map(() => [0, 0]);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < fills.length; k++) if (fills[k]![i] === labels[i]) right[k]![fold[i]!]!++;
  }
  // The fill scored on fold f is the first of most right answers on fold 1 − f.
  const pick = (f: number) => right.reduce((b, r, k) => (r[1 - f]! > right[b]![1 - f]! ? k : b), 0);
  const picks: [number, number] = [pick(0), pick(1)];
  const d = new Float64Array(n);
  let base = 0;
  for (let i = 0; i < n; i++) {
    const r = fills[picks[fold[i]!]]![i] === labels[i] ? 1 : 0;
    base += r;
    d[i] = (mixed[i] === labels[i] ? 1 : 0) - r;
  }
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const v = d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, n - 1);
  return { diff: mean * 100, se: Math.sqrt(v / n) * 100, top1: (base / n) * 100, picks };
}

/** Differences below half the printed resolution (0.005 points) count as tied. */
const TIED = 0.005;

/** "above, 1.2 SE" | "tied" | "below, -0.4 SE". */
export function verdict(diff: number, se: number): string {
  const sigma = se > 0 ? `, ${(diff / se).toFixed(1)} SE` : "";
  return Math.abs(diff) < TIED ? "tied" : diff > 0 ? `above${sigma}` : `below${sigma}`;
}

/**
 * Counts of rows above / tied / below a baseline (tied: the same top-1 to
 * the printed hundredth, i.e. the same number of test images right), beyond
 * one SE either way, and of rows where the baseline is mixed's very
 * assignment (then the difference is 0 by construction).
 */
export class Tally {
  above = 0;
  tied = 0;
  below = 0;
  aboveSe = 0;
  belowSe = 0;
  identical = 0;
  add(diff: number, se: number, identical = false): void {
    if (identical) this.identical++;
    if (Math.abs(diff) < TIED) this.tied++;
    else if (diff > 0) this.above++;
    else this.below++;
    if (se > 0 && diff > se) this.aboveSe++;
    if (se > 0 && diff < -se) this.belowSe++;
  }
  toString(): string {
    return `above ${this.above}, tied ${this.tied}, below ${this.below} (beyond 1 SE: ${this.aboveSe} above, ${this.belowSe} below; the same assignment as mixed in ${this.identical})`;
  }
}
