/**
 * Calibration over a multi-input signature: a scalar fed whole to every run
 * counts once in the data hash (so the hash does not depend on the batch
 * size), a fixed batch runs B samples at a time, and states batched along
 * axis 1 reach the model sliced.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StreamingExtremes } from "../../src/calib/extremes.js";
import { writeNpz } from "../../src/io/npz.js";
import { DataType } from "../../src/ir/dtype.js";
import { calibrate } from "../../src/quant/calibrate.js";
import { npzFileSource } from "../../src/quant/feeds.js";
import { parseInputValues, resolveInputValues } from "../../src/quant/input-values.js";
import { graph, model, node, value } from "../ir/builders.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-calib-sig-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** hn = h + 1 and y = input + input, with an int64 scalar sr passed through. */
const m = model(
  graph(
    [node("Add", ["h", "one"], ["hn"]), node("Add", ["input", "input"], ["y"]), node("Identity", ["sr"], ["s"])],
    [value("input", 1, ["batch", 4]), value("sr", DataType.INT64, []), value("h", 1, [2, "batch", 3])],
    [value("y", 1, ["batch", 4]), value("hn", 1, [2, "batch", 3]), value("s", DataType.INT64, [])],
    [{ name: "one", dtype: 1, dims: [], raw: new Uint8Array(Float32Array.from([1]).buffer) }],
  ),
  13,
);

describe("calibrate over a multi-input signature", () => {
  const N = 10;
  const input = Float32Array.from({ length: N * 4 }, (_, i) => i - 7);
  const h = Float32Array.from({ length: 2 * N * 3 }, (_, i) => (i % 7) * 0.5 - (i > 40 ? 20 : 0));
  const path = join(tmp, "d.npz");
  writeNpz(path, { input: { dtype: "f4", shape: [N, 4], data: input }, h: { dtype: "f4", shape: [2, N, 3], data: h } });
  const values = resolveInputValues(m.graph!, parseInputValues(["sr=16000"]));

  it("gives the same ranges and hash at every batch size, with h's range over all its samples", async () => {
    const runs = [];
    for (const batchSize of [1, 3, 10]) {
      const source = npzFileSource(m.graph!, path, undefined, values);
      expect(source.sampleAxes).toEqual(new Map<string, number | null>([["input", 0], ["sr", null], ["h", 1]]));
      try {
        runs.push(await calibrate(m, source, ["y", "hn"], { batchSize, threads: 1, statistics: "extremes" }));
      } finally {
        source.close();
      }
    }
    for (const r of runs) {
      expect(r.samples).toBe(N);
      expect(r.sha256).toBe(runs[0]!.sha256);
      const hn = r.histograms.get("hn") as StreamingExtremes;
      const y = r.histograms.get("y") as StreamingExtremes;
      // hn = h + 1 over every element: h spans [-20, 3] (i > 40 shifted by −20), so hn spans [-19, 4]; y = 2·input spans [-14, 64].
      expect([hn.min, hn.max, hn.count]).toEqual([Math.min(...h) + 1, Math.max(...h) + 1, 2 * N * 3]);
      expect([y.min, y.max]).toEqual([-14, 64]);
    }
  });
});
