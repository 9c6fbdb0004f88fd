/**
 * A uniform sample of a layer's input columns for minibatch AdaRound
 * (adaround-batch.ts), kept in a fixed-size reservoir (Vitter's algorithm R):
 * the i-th column seen (0-based) is stored while i < capacity, else it
 * replaces slot j = rng.int(i + 1) when j < capacity. Every column of the
 * stream is then held with probability capacity / seen, whatever the number
 * of samples; memory is G·capacity·K float32 (one row per kept column, by
 * group). The decisions come from a seeded RNG and are shared by the groups
 * (they see the same positions), so a run is reproducible.
 */
import { Rng } from "../../util/random.js";

export class ColumnPool {
  /** Kept columns, by group: row-major [capacity, K] float32. */
  readonly x: Float32Array[];
  /** Columns offered so far. */
  seen = 0;
  private readonly rng: Rng;

  constructor(
    readonly groups: number,
    readonly cols: number,
    readonly capacity: number,
    seed: number,
  ) {
    this.x = Array.from({ length: groups }, () => new Float32Array(capacity * cols));
    this.rng = new Rng(seed);
  }

  /** Columns held (≤ capacity). */
  get size(): number {
    return Math.min(this.seen, this.capacity);
  }

  /** Offers b columns of every group, each block feature-major [K, stride] (column c at offset c of each row). */
  offer(blocks: readonly Float32Array[], stride: number, b: number): void {
    const k = this.cols;
    for (let c = 0; c < b; c++) {
      const i = this.seen++;
      const slot = i < this.capacity ? i : this.rng.int(i + 1);
      if (slot >= this.capacity) continue;
      for (let g = 0; g < this.groups; g++) {
        const src = blocks[g]!;
        const dst = this.x[g]!;
        for (let f = 0; f < k; f++) dst[slot * k + f] = src[f * stride + c]!;
      }
    }
  }
}
