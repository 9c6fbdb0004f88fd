/**
 * Stacked AdaRound (layers reading one input, one Loop run): the stacked
 * rows take the steps they take alone (same codes as separate runs), and a
 * problem with another H is not stacked with them.
 */
import { describe, expect, it } from "vitest";
import { ADAROUND_DEFAULTS, adaroundInOrt } from "../../../src/quant/rounding/adaround.js";
import { AdaroundLoop } from "../../../src/quant/rounding/adaround-loop.js";
import type { GroupProblem } from "../../../src/quant/rounding/problem.js";
import { adaroundStacked, stackProblems } from "../../../src/quant/rounding/stacked-layers.js";
import { randomProblem } from "./problems.js";

describe("stacked AdaRound", () => {
  it("gives each layer sharing H the codes of its own run, and runs a layer with another H alone", async () => {
    const loop = await AdaroundLoop.create(1);
    try {
      const a = randomProblem(21, 8, 24, 96);
      // Other weights (and grids) on a's H: what q, k and v see.
      const shared = (seed: number, rows: number): GroupProblem => ({ ...randomProblem(seed, rows, 24, 96), h: a.h, columns: a.columns });
      const parts = [a, shared(22, 5), randomProblem(23, 6, 24, 96), shared(24, 7)];
      const o = { ...ADAROUND_DEFAULTS, iters: 200 };
      // Loop runs: one for the three sharing H, one for the fourth.
      const run = loop.run.bind(loop);
      let runs = 0;
      loop.run = (...args) => {
        runs++;
        return run(...args);
      };
      const together = await adaroundStacked(parts, loop, o);
      expect(runs).toBe(2);
      for (const [k, p] of parts.entries()) expect(Array.from(together[k]!)).toEqual(Array.from(await adaroundInOrt(p, loop, o)));
      // The stack holds every row of the three sharing H, in order, with each part's grid.
      const s = stackProblems([parts[0]!, parts[1]!, parts[3]!]);
      expect(s.rows).toBe(8 + 5 + 7);
      expect(s.w[8 * 24]).toBe(parts[1]!.w[0]);
      expect(s.grid.value(8 * 24 + 3, 2)).toBe(parts[1]!.grid.value(parts[1]!.index[3]!, 2));
    } finally {
      await loop.release();
    }
  });
});
