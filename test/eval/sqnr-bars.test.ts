/** The terminal bar view of `eval --per-layer`: graph order, proportional bars, width-aware, worst marked. */
import chalk from "chalk";
import { afterEach, describe, expect, it } from "vitest";
import type { LayerError, PerLayerResult } from "../../src/eval/per-layer.js";
import { bar, sqnrBars } from "../../src/eval/sqnr-bars.js";

const layer = (tensor: string, sqnrDb: number, graphIndex: number, node: LayerError["node"] = { opType: "Relu", name: tensor }): LayerError => ({
  tensor,
  candidateTensor: tensor,
  node,
  elements: 1,
  sqnrDb,
  cosine: 1,
  maxAbsError: 0,
  localSqnrDb: sqnrDb,
  graphIndex,
});
const result = (activations: LayerError[]): PerLayerResult => ({ samples: 1, batchSize: 1, activations, weights: [], unmapped: [], referencePasses: [] });
const level = chalk.level;
afterEach(() => {
  chalk.level = level;
});

describe("sqnrBars", () => {
  it("draws eighth-cell bars", () => {
    expect(bar(0)).toBe("");
    expect(bar(2.5)).toBe("██▌");
    expect(bar(1 / 8)).toBe("▏");
  });

  it("lists layers in graph order, bars proportional to SQNR against the best computed tensor, the worst marked", () => {
    chalk.level = 0;
    const acts = [layer("c", 10, 2), layer("a", 40, 0, null), layer("b", 20, 1), layer("d", 20, 3)];
    const lines = sqnrBars(result(acts), 80); // 80 columns: 30-cell bars
    expect(lines[0]).toContain("full bar = 20.0 dB");
    expect(lines.slice(1).map((l) => l.trim().split(" ").pop())).toEqual(["a", "b", "c", "d"]);
    const cells = (l: string) => (l.match(/█/g) ?? []).length;
    expect(cells(lines[1]!)).toBe(30); // the graph input, 40 dB, is cut at full width
    expect(cells(lines[2]!)).toBe(30);
    expect(cells(lines[3]!)).toBe(15);
    expect(lines[3]).toContain("◀");
    expect(lines.slice(1).filter((l) => l.includes("◀"))).toHaveLength(1); // a quarter of 4 layers
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines.join("")).not.toMatch(/\u001b\[/);
  });

  it("fits narrow and wide terminals, shortening long names from the left", () => {
    chalk.level = 0;
    const long = `/${"very/".repeat(20)}deep/Relu_output_0`;
    for (const columns of [60, 120, 200]) {
      const lines = sqnrBars(result([layer(long, 30, 0), layer("x", 15, 1)]), columns);
      for (const l of lines.slice(1)) expect(l.length, `${columns}`).toBeLessThanOrEqual(Math.max(columns, 70));
      expect(lines[1]).toContain("deep/Relu_output_0");
    }
  });

  it("colours the worst bar only when colour is on", () => {
    chalk.level = 1;
    const lines = sqnrBars(result([layer("a", 30, 0), layer("b", 5, 1)]), 80);
    expect(lines[2]).toMatch(/\u001b\[31m/);
    expect(lines[1]).not.toMatch(/\u001b\[/);
  });
});
