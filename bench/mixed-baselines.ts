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
 */
import { evaluate, type Budget, type Group, withinBudgets } from "../src/quant/mixed/problem.js";
import type { Rng } from "../src/util/random.js";

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

/** Differences below half the printed resolution (0.005 points) count as tied. */
const TIED = 0.005;

/** "above, 1.2 SE" | "tied" | "below, -0.4 SE". */
export function verdict(diff: number, se: number): string {
  const sigma = se > 0 ? `, ${(diff / se).toFixed(1)} SE` : "";
  return Math.abs(diff) < TIED ? "tied" : diff > 0 ? `above${sigma}` : `below${sigma}`;
}

/** Counts of rows above / tied / below a baseline, and beyond one SE either way. */
export class Tally {
  above = 0;
  tied = 0;
  below = 0;
  aboveSe = 0;
  belowSe = 0;
  add(diff: number, se: number): void {
    if (Math.abs(diff) < TIED) this.tied++;
    else if (diff > 0) this.above++;
    else this.below++;
    if (se > 0 && diff > se) this.aboveSe++;
    if (se > 0 && diff < -se) this.belowSe++;
  }
  toString(): string {
    return `above ${this.above}, tied ${this.tied}, below ${this.below} (beyond 1 SE: ${this.aboveSe} above, ${this.belowSe} below)`;
  }
}
