/**
 * The chunks of stochastic-Gram AdaRound: ⌈S/M⌉ samples per chunk, the last
 * one open-ended; the step schedule visits every chunk once per epoch in a
 * seeded order that differs between epochs and seeds, and ends on the whole
 * H/N.
 */
import { describe, expect, it } from "vitest";
import { ChunkGrams, chunkSchedule } from "../../../src/quant/rounding/chunk-grams.js";

describe("chunk Grams", () => {
  it("cuts S samples into M chunks of ⌈S/M⌉ (the last takes any extra sample)", () => {
    const c = new ChunkGrams(16, 512, 1, 2);
    expect(c.perChunk).toBe(32);
    expect([0, 31, 32, 511, 600].map((s) => c.chunkOf(s))).toEqual([0, 0, 1, 15, 15]);
    expect([c.endOf(0), c.endOf(14), c.endOf(15)]).toEqual([32, 480, Number.POSITIVE_INFINITY]);
    const odd = new ChunkGrams(3, 10, 1, 2);
    expect(Array.from({ length: 10 }, (_, s) => odd.chunkOf(s))).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
  });

  it("schedules each chunk once per epoch, reshuffled, reproducibly from the seed", () => {
    const a = chunkSchedule(5, 23, 7);
    expect(a.length).toBe(23);
    for (let e = 0; e + 5 <= 23; e += 5) expect([...a.subarray(e, e + 5)].sort()).toEqual([0, 1, 2, 3, 4]);
    for (const t of a.subarray(20)) expect(t).toBeLessThan(5);
    expect(Array.from(chunkSchedule(5, 23, 7))).toEqual(Array.from(a));
    expect(Array.from(chunkSchedule(5, 23, 8))).not.toEqual(Array.from(a));
    const epochs = new Set(Array.from({ length: 4 }, (_, e) => a.subarray(e * 5, e * 5 + 5).join(",")));
    expect(epochs.size).toBeGreaterThan(1);
    // From step 18 on: index 5, the whole H/N; before it the same chunks as without the tail.
    const tail = chunkSchedule(5, 23, 7, 18);
    expect(Array.from(tail.subarray(18))).toEqual([5, 5, 5, 5, 5]);
    expect(Array.from(tail.subarray(0, 18))).toEqual(Array.from(a.subarray(0, 18)));
  });
});
