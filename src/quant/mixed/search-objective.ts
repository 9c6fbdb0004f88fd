/**
 * What the local search (search.ts) minimises over whole assignments, on
 * the N scored samples, y_n the float model's logits, ŷ_n the quantized
 * model's, t_n the sample's class label when the user gives labels:
 *
 *   kl        D  = (1/N) Σ_n KL(softmax(y_n) ‖ softmax(ŷ_n))    (label-free;
 *                  relative MSE for non-classifiers, output-change.ts)
 *   xent      CE = (1/N) Σ_n −log softmax(ŷ_n)[t_n]             (labels)
 *   kl+xent   D + CE                                              (labels)
 *
 * CE is the quantized model's cross-entropy of the true label: a smooth
 * stand-in for top-1 (it moves with every image's margin, not only the few
 * whose arg-max flips), so it ranks assignments by how well they classify,
 * which D (closeness to the float model, errors included) does not.
 */
import { FixqError } from "../../ir/errors.js";
import type { HostTensor } from "../../runtime/ort-session.js";
import { isClassifierOutput, logSoftmaxRow, OutputChange } from "./output-change.js";

export const SEARCH_OBJECTIVES = ["kl", "xent", "kl+xent"] as const;
export type SearchObjective = (typeof SEARCH_OBJECTIVES)[number];

export const needsLabels = (o: SearchObjective) => o !== "kl";

/** Refuses a labelled objective without labels. */
export function requireLabels(o: SearchObjective, labels: ArrayLike<number> | undefined): void {
  if (needsLabels(o) && !labels) throw new FixqError("usage", `the search objective ${o} needs class labels of the scored samples`);
}

/** What the report calls the objective: the metric D is (kl-softmax or relative-mse), cross-entropy, or both summed. */
export function objectiveName(o: SearchObjective, metric: string): string {
  return o === "kl" ? metric : o === "xent" ? "cross-entropy" : `${metric}+cross-entropy`;
}

/** Σ over the rows of −log softmax(q_r)[labels[first + r]]. */
export function crossEntropySum(q: ArrayLike<number>, labels: ArrayLike<number>, first: number, rows: number, cols: number): number {
  const lq = new Float64Array(cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const t = labels[first + r]!;
    if (!(t >= 0 && t < cols)) throw new FixqError("data", `label ${t} of sample ${first + r} is not a class of the model's ${cols}-class output`);
    logSoftmaxRow(q, r * cols, cols, lq);
    total -= lq[t]!;
  }
  return total;
}

/**
 * The objective accumulated batch by batch: `add(reference, quantized, first)`
 * for each batch (`first`: the batch's first sample, indexing `labels`), then
 * `value()`.
 */
export class ObjectiveSum {
  private readonly change = new OutputChange(1);
  private ce = 0;
  private rows = 0;
  constructor(
    private readonly objective: SearchObjective,
    private readonly labels?: ArrayLike<number>,
  ) {
    requireLabels(objective, labels);
  }
  add(ref: HostTensor, q: Float32Array, first: number): void {
    if (this.objective !== "xent") {
      this.change.reference(ref);
      this.change.add(0, q);
    }
    if (this.objective === "kl") return;
    if (!isClassifierOutput(ref)) throw new FixqError("usage", `the search objective ${this.objective} needs a classifier (first output [N, C]); this model's first output is [${ref.dims.join(", ")}]`);
    const cols = ref.dims[1]!;
    const rows = q.length / cols;
    this.ce += crossEntropySum(q, this.labels!, first, rows, cols);
    this.rows += rows;
  }
  value(): number {
    const ce = this.rows > 0 ? this.ce / this.rows : 0;
    return this.objective === "xent" ? ce : this.objective === "kl" ? this.change.value(0) : this.change.value(0) + ce;
  }
}
