/**
 * loss-pair.ts: nearest's and the learned codes' reconstruction losses from
 * one product with H, against problem.ts's direct tr(E·H·Eᵀ)/N of each, on
 * the JS path (small groups) and on ONNX Runtime's float64 MatMul (R·K² at or
 * above ORT_LOSS_MIN).
 */
import { afterAll, describe, expect, it } from "vitest";
import { LossKernel, ORT_LOSS_MIN } from "../../../src/quant/rounding/loss-pair.js";
import { type GroupProblem, reconstructionLoss } from "../../../src/quant/rounding/problem.js";
import { seededRandom } from "../../../src/util/random.js";
import { nearestOf, randomProblem } from "./problems.js";

/** Nearest's codes with a share of them moved one step up or down (within the grid). */
function moved(p: GroupProblem, share: number, seed: number): Int32Array {
  const rnd = seededRandom(seed);
  return Int32Array.from(nearestOf(p), (c, k) => {
    if (rnd() >= share) return c;
    const step = rnd() < 0.5 ? -1 : 1;
    const lo = p.grid.below(p.index[k]!, -Infinity);
    const hi = p.grid.above(p.index[k]!, Infinity);
    return Math.min(hi, Math.max(lo, c + step));
  });
}

describe("LossKernel.pair", () => {
  const kernel = LossKernel.create(1);
  afterAll(() => kernel.release());

  it.each([
    ["JS product", 6, 20, 0.1],
    ["JS product, every weight moved", 6, 20, 1],
    ["ORT float64 product", 32, 190, 0.1],
    ["ORT float64 product, half the weights moved", 32, 190, 0.5],
  ])("%s: both losses equal the direct ones to rounding", async (_, rows, cols, share) => {
    const p = randomProblem(7 + rows, rows, cols, 3 * cols);
    if (cols === 190) expect(rows * cols * cols).toBeGreaterThanOrEqual(ORT_LOSS_MIN);
    else expect(rows * cols * cols).toBeLessThan(ORT_LOSS_MIN);
    const near = nearestOf(p);
    const learned = moved(p, share, rows + cols);
    const got = await kernel.pair(p, near, learned);
    const want = { near: reconstructionLoss(p, near), learned: reconstructionLoss(p, learned) };
    expect(want.learned).not.toBe(want.near);
    expect(Math.abs(got.near - want.near)).toBeLessThanOrEqual(1e-12 * want.near);
    expect(Math.abs(got.learned - want.learned)).toBeLessThanOrEqual(1e-12 * want.near);
  });

  it("the same codes give the same loss twice; no learned codes give +∞", async () => {
    const p = randomProblem(3, 8, 24, 60);
    const near = nearestOf(p);
    const same = await kernel.pair(p, near, Int32Array.from(near));
    expect(same.learned).toBe(same.near);
    expect(same.near).toBe(reconstructionLoss(p, near));
    expect((await kernel.pair(p, near, undefined)).learned).toBe(Number.POSITIVE_INFINITY);
  });
});
