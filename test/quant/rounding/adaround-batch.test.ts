/**
 * Minibatch AdaRound: with the whole pool as the batch it takes the Gram
 * form's steps (same codes); a smaller batch still reconstructs better than
 * nearest; the post-activation loss ends at or below nearest's
 * post-activation loss on a small layer followed by a ReLU; the ONNX Runtime
 * Loop takes the same steps on the same picks as JS (pre and post).
 */
import { describe, expect, it } from "vitest";
import { ADAROUND_DEFAULTS, adaround, adaroundInOrt } from "../../../src/quant/rounding/adaround.js";
import { adaroundBatch, adaroundBatchInOrt, batchPicks, type PoolColumns, poolLoss } from "../../../src/quant/rounding/adaround-batch.js";
import { AdaroundLoop } from "../../../src/quant/rounding/adaround-loop.js";
import { ColumnPool } from "../../../src/quant/rounding/column-pool.js";
import type { GroupProblem } from "../../../src/quant/rounding/problem.js";
import { reconstructionLoss } from "../../../src/quant/rounding/problem.js";
import { seededRandom } from "../../../src/util/random.js";
import { nearestOf, randomProblem } from "./problems.js";

/** p with H replaced by the Gram matrix of `n` random post-ReLU-like columns, which are returned as a pool. */
function withColumns(p: GroupProblem, n: number, seed: number): { p: GroupProblem; pool: PoolColumns } {
  const rnd = seededRandom(seed);
  const K = p.cols;
  const x = new Float32Array(n * K);
  for (let j = 0; j < n; j++) {
    const c = rnd() * 2;
    for (let k = 0; k < K; k++) x[j * K + k] = Math.max(0, rnd() * 2 - 1 + c);
  }
  const h = new Float64Array(K * K);
  for (let j = 0; j < n; j++) for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) h[a * K + b] += x[j * K + a]! * x[j * K + b]!;
  return { p: { ...p, h, columns: n }, pool: { x, n } };
}

const opts = { ...ADAROUND_DEFAULTS, iters: 300 };

describe("minibatch AdaRound", () => {
  it("takes the Gram form's steps when the batch is the whole pool (same codes, seeds 1–3)", () => {
    for (let seed = 1; seed <= 3; seed++) {
      const { p, pool } = withColumns(randomProblem(seed, 4, 12, 1), 96, seed + 100);
      const gram = adaround(p, opts);
      const batch = adaroundBatch(p, pool, 96, opts, 7);
      expect(Array.from(batch)).toEqual(Array.from(gram));
      // The pool's pre-activation loss is the Gram form's loss.
      expect(poolLoss(p, pool, gram)).toBeCloseTo(reconstructionLoss(p, gram), 9);
    }
  });

  it("reconstructs better than nearest from batches of 32 of 128 columns (more steps: the gradient is noisy), and is deterministic", () => {
    const { p, pool } = withColumns(randomProblem(4, 6, 10, 1), 128, 204);
    const o = { ...opts, iters: 1500 };
    const a = adaroundBatch(p, pool, 32, o, 3);
    expect(reconstructionLoss(p, a)).toBeLessThan(reconstructionLoss(p, nearestOf(p)));
    expect(Array.from(adaroundBatch(p, pool, 32, o, 3))).toEqual(Array.from(a));
  });

  it("post-activation loss (ReLU, with bias) below nearest's and below the pre-loss codes' post-activation loss (seeds 1, 3)", () => {
    for (const seed of [1, 3]) {
      const { p, pool } = withColumns(randomProblem(seed, 6, 10, 1), 128, seed + 200);
      const act = { lo: 0, hi: Number.POSITIVE_INFINITY, bias: Float64Array.from({ length: 6 }, (_, r) => (r % 3) - 1) };
      const codes = adaroundBatch(p, pool, 128, opts, 3, act);
      const post = poolLoss(p, pool, codes, act);
      expect(post).toBeLessThan(poolLoss(p, pool, nearestOf(p), act));
      expect(post).toBeLessThan(poolLoss(p, pool, adaroundBatch(p, pool, 128, opts, 3), act));
      // A clip that never passes anything has nothing to reconstruct: the post loss of any codes is 0.
      const dead = { lo: 0, hi: 1, bias: new Float64Array(6).fill(-1e6) };
      expect(poolLoss(p, pool, codes, dead)).toBe(0);
    }
  });
});

describe("minibatch AdaRound in the ONNX Runtime Loop", () => {
  it("picks b distinct pool columns per step, reproducibly; the whole pool in order when b ≥ n", () => {
    const a = batchPicks(50, 8, 20, 4);
    expect(a.length).toBe(160);
    for (let t = 0; t < 20; t++) expect(new Set(a.subarray(t * 8, t * 8 + 8)).size).toBe(8);
    expect(Array.from(batchPicks(50, 8, 20, 4))).toEqual(Array.from(a));
    expect(new Set(a).size).toBeGreaterThan(40);
    expect(Array.from(batchPicks(5, 9, 2, 4))).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  });

  it("takes the JS steps (same picks) in float32: same codes, pre and post (ReLU with bias)", async () => {
    const loop = await AdaroundLoop.create(1);
    try {
      const { p, pool } = withColumns(randomProblem(6, 8, 16, 1), 160, 206);
      const act = { lo: 0, hi: Number.POSITIVE_INFINITY, bias: Float64Array.from({ length: 8 }, (_, r) => (r % 3) - 1) };
      for (const a of [undefined, act]) {
        const js = adaroundBatch(p, pool, 32, opts, 9, a);
        const inOrt = await adaroundBatchInOrt(p, pool, 32, opts, 9, loop, a);
        let same = 0;
        for (let k = 0; k < js.length; k++) if (js[k] === inOrt[k]) same++;
        expect(same / js.length).toBeGreaterThan(0.97);
        // And not the codes of other picks.
        expect(Array.from(adaroundBatch(p, pool, 32, opts, 10, a))).not.toEqual(Array.from(js));
      }
    } finally {
      await loop.release();
    }
  });
});

describe("minibatch steps with an exact tail (adaroundExactTail)", () => {
  it("a tail of every step is the Gram form: same codes as adaround, in JS and in the Loop; a 30% tail moves codes against no tail and stays below nearest's loss", async () => {
    const loop = await AdaroundLoop.create(1);
    try {
      const { p, pool } = withColumns(randomProblem(8, 8, 16, 1), 160, 208);
      const all = { ...opts, exactTail: 1 };
      expect(Array.from(adaroundBatch(p, pool, 32, all, 9))).toEqual(Array.from(adaround(p, opts)));
      expect(Array.from(await adaroundBatchInOrt(p, pool, 32, all, 9, loop))).toEqual(Array.from(await adaroundInOrt(p, loop, opts)));
      // Two Loop phases (minibatch, then H) carry V and Adam's moments: the same steps as JS on the same picks.
      const tail = { ...opts, exactTail: 0.3 };
      const js = adaroundBatch(p, pool, 32, tail, 9);
      const inOrt = await adaroundBatchInOrt(p, pool, 32, tail, 9, loop);
      let same = 0;
      for (let k = 0; k < js.length; k++) if (js[k] === inOrt[k]) same++;
      expect(same / js.length).toBeGreaterThan(0.97);
      expect(Array.from(js)).not.toEqual(Array.from(adaroundBatch(p, pool, 32, opts, 9)));
      expect(reconstructionLoss(p, js)).toBeLessThan(reconstructionLoss(p, nearestOf(p)));
    } finally {
      await loop.release();
    }
  });
});

describe("column pool", () => {
  it("keeps every column while it has room, then a uniform reservoir of the stream", () => {
    const pool = new ColumnPool(2, 3, 4, 1);
    // Two groups, K = 3, a feature-major block of 6 columns (stride 6): column c of group g holds 10g + c in every feature.
    const blocks = [0, 1].map((g) => Float32Array.from({ length: 18 }, (_, at) => 10 * g + (at % 6)));
    pool.offer(blocks, 6, 3);
    expect(pool.size).toBe(3);
    expect(Array.from(pool.x[1]!.subarray(0, 9))).toEqual([10, 10, 10, 11, 11, 11, 12, 12, 12]);
    // Many columns later, each slot holds a column seen, the same one in both groups.
    for (let r = 0; r < 50; r++) pool.offer(blocks, 6, 6);
    expect(pool.size).toBe(4);
    for (let s = 0; s < 4; s++) expect(pool.x[1]![s * 3]! - pool.x[0]![s * 3]!).toBe(10);
    // Uniform: over 2000 streams of 100 columns into 10 slots, column 0 is kept with probability 0.1.
    let kept = 0;
    for (let seed = 0; seed < 2000; seed++) {
      const p = new ColumnPool(1, 1, 10, seed);
      p.offer([Float32Array.from({ length: 100 }, (_, c) => c)], 100, 100);
      if (p.x[0]!.includes(0)) kept++;
    }
    expect(kept / 2000).toBeGreaterThan(0.08);
    expect(kept / 2000).toBeLessThan(0.12);
  });
});
