/**
 * Streaming accuracy and error metrics. Each accumulator takes one batch at a
 * time and keeps only running sums, so an evaluation never holds more than one
 * batch of outputs. Sums are float64 (JS numbers) whatever the output type.
 */
import { argmaxRows } from "./classify.js";

/** Position of the row's `label` entry when the row is sorted descending, ties going to the lower index (as arg-max does). */
export function labelRank(row: ArrayLike<number>, offset: number, length: number, label: number): number {
  const v = row[offset + label]!;
  let rank = 0;
  for (let c = 0; c < length; c++) {
    const x = row[offset + c]!;
    if (x > v || (c < label && x === v)) rank++;
  }
  // A NaN score is never "in" the top k.
  return Number.isNaN(v) ? length : rank;
}

/** Top-1 and top-5 accuracy of [rows, classes] scores against integer labels. */
export class TopKAccuracy {
  count = 0;
  top1 = 0;
  top5 = 0;

  constructor(readonly classes: number) {}

  /** `labels[labelOffset + r]` is the label of row r. */
  update(scores: ArrayLike<number>, rows: number, labels: ArrayLike<number>, labelOffset: number): void {
    const k = this.classes;
    for (let r = 0; r < rows; r++) {
      const rank = labelRank(scores, r * k, k, labels[labelOffset + r]!);
      if (rank < 1) this.top1++;
      if (rank < 5) this.top5++;
    }
    this.count += rows;
  }

  result(): Accuracy {
    const n = this.count;
    return {
      count: n,
      correct1: this.top1,
      top1: n ? this.top1 / n : 0,
      // With five classes or fewer, top-5 is always 100% and says nothing.
      correct5: this.classes > 5 ? this.top5 : null,
      top5: this.classes > 5 ? (n ? this.top5 / n : 0) : null,
    };
  }
}

export interface Accuracy {
  readonly count: number;
  readonly correct1: number;
  readonly top1: number;
  readonly correct5: number | null;
  readonly top5: number | null;
}

function asFloat32(a: ArrayLike<number>): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/**
 * The rows whose arg-max `Agreement` compares, for an output of `dims` from a
 * batch of `count` samples; undefined when it has none.
 *   rank 3 ([N, S, V] token logits, seq-first [S, N, V]): one row per position,
 *     arg-max over the last axis, rows = N·S (the whole output over V);
 *   else [N, …] with at least two values per sample: one row per sample, the
 *     arg-max over all its values (C for [N, C] scores), rows = N.
 */
export function agreementRows(dims: readonly number[], count: number): number | undefined {
  const size = dims.reduce((a, b) => a * b, 1);
  if (dims.length === 3 && dims[2]! >= 2) return size / dims[2]!;
  return dims[0] === count && size / count >= 2 ? count : undefined;
}

/** Rate at which the arg-max of each candidate row equals the arg-max of the reference row. */
export class Agreement {
  count = 0;
  agree = 0;
  private refTop = new Int32Array(0);
  private candTop = new Int32Array(0);

  update(ref: ArrayLike<number>, cand: ArrayLike<number>, rows: number): void {
    if (this.refTop.length < rows) {
      this.refTop = new Int32Array(rows);
      this.candTop = new Int32Array(rows);
    }
    argmaxRows(asFloat32(ref), rows, this.refTop, 0);
    argmaxRows(asFloat32(cand), rows, this.candTop, 0);
    for (let r = 0; r < rows; r++) if (this.refTop[r] === this.candTop[r]) this.agree++;
    this.count += rows;
  }

  rate(): number {
    return this.count ? this.agree / this.count : 0;
  }
}

/** Element-wise error of a candidate against a reference: SQNR, cosine similarity, max |error|. */
export class ErrorStats {
  count = 0;
  sumRef2 = 0;
  sumCand2 = 0;
  sumDot = 0;
  sumErr2 = 0;
  maxAbs = 0;

  update(ref: ArrayLike<number>, cand: ArrayLike<number>): void {
    if (ref.length !== cand.length) throw new RangeError(`reference has ${ref.length} values, candidate ${cand.length}`);
    let r2 = 0;
    let c2 = 0;
    let dot = 0;
    let e2 = 0;
    let max = this.maxAbs;
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i]!;
      const c = cand[i]!;
      const e = r - c;
      r2 += r * r;
      c2 += c * c;
      dot += r * c;
      e2 += e * e;
      const a = Math.abs(e);
      // NaN sticks: a NaN anywhere makes the maximum NaN.
      if (a > max || Number.isNaN(a)) max = a;
    }
    this.sumRef2 += r2;
    this.sumCand2 += c2;
    this.sumDot += dot;
    this.sumErr2 += e2;
    this.maxAbs = max;
    this.count += ref.length;
  }

  /** 10·log10(Σref² / Σ(ref−cand)²); +Infinity when the outputs are identical (zero error). */
  sqnrDb(): number {
    if (this.sumErr2 === 0) return Number.POSITIVE_INFINITY;
    return 10 * Math.log10(this.sumRef2 / this.sumErr2);
  }

  /** Σref·cand / √(Σref²·Σcand²), clamped to [-1, 1]; 1 when both are all zero, 0 when only one is. */
  cosine(): number {
    const denom = Math.sqrt(this.sumRef2 * this.sumCand2);
    if (denom === 0) return this.sumRef2 === this.sumCand2 ? 1 : 0;
    const c = this.sumDot / denom;
    return Number.isNaN(c) ? c : Math.min(1, Math.max(-1, c));
  }
}
