/**
 * AdaRound on the layers of one wave that read the same input (the ViT's q,
 * k and v projections): they have the same Gram matrix H (the same captured
 * columns through the same kernel, checked), and AdaRound's rows are
 * independent problems (the loss tr(E·H·Eᵀ)/N is a sum over rows of E;
 * Adam, the relaxation and the regularizer are elementwise). Their groups
 * therefore stack into one problem of R₁ + R₂ + … rows on that H, optimised
 * by one ONNX Runtime Loop run instead of one per layer: on small layers a
 * Loop step costs about the same for 64 rows as for 192 (its ~30 nodes'
 * dispatch, not their arithmetic, dominates), so three runs become the time
 * of about one. Each row's step reads only its own row of E, so the rows
 * take the steps they take alone (tested: same codes as separate runs).
 */
import { type AdaroundOptions, adaroundInOrt } from "./adaround.js";
import type { AdaroundLoop } from "./adaround-loop.js";
import type { GroupProblem } from "./problem.js";
import type { WeightGrid } from "./weight-grid.js";

/** Whether two Gram matrices are the same numbers. */
function sameGram(a: GroupProblem, b: GroupProblem): boolean {
  if (a.cols !== b.cols || a.columns !== b.columns || a.h.length !== b.h.length) return false;
  for (let i = 0; i < a.h.length; i++) if (a.h[i] !== b.h[i]) return false;
  return true;
}

/** The problems stacked row-wise: element i of the stack is element at[i] of part which[i]. */
export function stackProblems(parts: readonly GroupProblem[]): GroupProblem {
  const first = parts[0]!;
  const n = parts.reduce((s, p) => s + p.rows * p.cols, 0);
  const which = new Int32Array(n);
  const at = new Int32Array(n);
  const w = new Float64Array(n);
  let o = 0;
  parts.forEach((p, k) => {
    for (let i = 0; i < p.rows * p.cols; i++, o++) {
      which[o] = k;
      at[o] = p.index[i]!;
      w[o] = p.w[i]!;
    }
  });
  const grid: WeightGrid = {
    nearest: (i, v) => parts[which[i]!]!.grid.nearest(at[i]!, v),
    below: (i, v) => parts[which[i]!]!.grid.below(at[i]!, v),
    above: (i, v) => parts[which[i]!]!.grid.above(at[i]!, v),
    value: (i, c) => parts[which[i]!]!.grid.value(at[i]!, c),
  };
  const index = Int32Array.from({ length: n }, (_, i) => i);
  return { rows: parts.reduce((s, p) => s + p.rows, 0), cols: first.cols, w, h: first.h, columns: first.columns, grid, index };
}

/**
 * AdaRound codes of every problem in `parts`, the ones sharing one H (in
 * runs of the same H, in order) from one Loop run each; a problem alone in
 * its H takes its own run.
 */
export async function adaroundStacked(parts: readonly GroupProblem[], loop: AdaroundLoop, opts: AdaroundOptions): Promise<Int32Array[]> {
  const out: Int32Array[] = new Array(parts.length);
  const done = new Array<boolean>(parts.length).fill(false);
  for (let i = 0; i < parts.length; i++) {
    if (done[i]) continue;
    const members = [i];
    for (let j = i + 1; j < parts.length; j++) if (!done[j] && sameGram(parts[i]!, parts[j]!)) members.push(j);
    const codes = await adaroundInOrt(members.length > 1 ? stackProblems(members.map((k) => parts[k]!)) : parts[i]!, loop, opts);
    let o = 0;
    for (const k of members) {
      const size = parts[k]!.rows * parts[k]!.cols;
      out[k] = codes.slice(o, o + size);
      o += size;
      done[k] = true;
    }
  }
  return out;
}
