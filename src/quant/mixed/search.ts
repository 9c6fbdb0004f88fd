/**
 * A local search on the real metric around the ILP optimum. The ILP
 * minimises Σ S[g, c], an additive model of the output error; the real error
 * of an assignment x, D(x) (the same metric as the sensitivities, measured
 * on calibration data with the whole model quantized as x asks), is not
 * additive: layers interact, and activation formats add error the
 * per-layer measurement sees only in part. So, a small beam search:
 *
 *   x* = ILP optimum; scored = {x*: D(x*)}; beam = [x*]
 *   repeat: pool = the neighbours (moves.ts: pinned re-solves, swaps repaired
 *           by marginal cost ratio, 2-opt pairs) of every beam member that
 *           were not scored yet, by increasing predicted objective Σ S;
 *           score the first `round` of them;
 *           beam = the `beam` scored assignments of least D
 *   until `evaluations` scores were spent or the pool is empty.
 *
 * Only calibration data is scored. The result is the scored assignment of
 * least D (ties: the first scored), so it never scores worse than the ILP
 * optimum on the data scored (D is measured, not predicted); every neighbour
 * holds every budget; no step is random.
 */
import { type Budget, evaluate, type Group } from "./problem.js";
import { DEFAULT_MAX_PINS, type MoveKind, type Neighbour, neighbourhood } from "./moves.js";

export interface SearchStep {
  readonly choice: readonly number[];
  readonly predicted: number;
  readonly measured: number;
  /** How the step was reached: the start, or a move of moves.ts. */
  readonly move: "start" | MoveKind;
}

export interface SearchResult {
  readonly best: SearchStep;
  readonly start: SearchStep;
  /** Every assignment scored, in order (the start first); all distinct. */
  readonly scored: readonly SearchStep[];
  /** Times a newly scored assignment beat the best so far. */
  readonly moves: number;
}

export interface SearchShape {
  /** Assignments kept between rounds (default 2). */
  readonly beam?: number;
  /** Assignments scored per round (default 4). */
  readonly round?: number;
  /** See moves.ts. */
  readonly maxPins?: number;
}

/** The beam search of the header; `score` measures D of an assignment. */
export async function searchAround(groups: readonly Group[], budgets: readonly Budget[], start: readonly number[], score: (choice: readonly number[]) => Promise<number>, evaluations: number, shape: SearchShape = {}): Promise<SearchResult> {
  const width = shape.beam ?? 2;
  const round = shape.round ?? 4;
  const key = (c: readonly number[]) => c.join(",");
  const step = async (choice: readonly number[], move: SearchStep["move"]): Promise<SearchStep> => ({ choice, move, predicted: evaluate(groups, choice, budgets).objective, measured: await score(choice) });
  const first = await step(start, "start");
  const scored: SearchStep[] = [first];
  const done = new Set([key(start)]);
  const around = new Map<string, Neighbour[]>();
  const neighboursOf = async (c: readonly number[]) => {
    const known = around.get(key(c));
    if (known) return known;
    const nb = await neighbourhood(groups, c, budgets, shape.maxPins ?? DEFAULT_MAX_PINS);
    around.set(key(c), nb);
    return nb;
  };
  let best = first;
  let moves = 0;
  let beam: SearchStep[] = [first];
  while (scored.length < evaluations) {
    const pool = new Map<string, Neighbour>();
    for (const b of beam) for (const nb of await neighboursOf(b.choice)) if (!done.has(key(nb.choice)) && !pool.has(key(nb.choice))) pool.set(key(nb.choice), nb);
    if (pool.size === 0) break;
    const next = [...pool.values()].sort((p, q) => p.objective - q.objective || (key(p.choice) < key(q.choice) ? -1 : 1)).slice(0, Math.min(round, evaluations - scored.length));
    for (const nb of next) {
      done.add(key(nb.choice));
      const s = await step(nb.choice, nb.move);
      scored.push(s);
      if (s.measured < best.measured) {
        best = s;
        moves++;
      }
    }
    beam = [...scored].sort((p, q) => p.measured - q.measured || scored.indexOf(p) - scored.indexOf(q)).slice(0, width);
  }
  return { best, start: first, scored, moves };
}
