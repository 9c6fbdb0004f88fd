/**
 * `fixq quantize --mixed … --measure-latency FILE` on the bundled CNN: the
 * table ORT's profiler gives has every mixed layer under every candidate
 * with a positive time, is written whole (no temp file left beside it), is
 * the one the latency budget is solved with, and cannot overwrite an input.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixq } from "../helpers/fixq-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-latency-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const base = ["quantize", "models/cnn.onnx", "--mixed", "int4,int8", "--mixed-search", "0", "--sensitivity-samples", "16", "--sensitivity-cache", join(tmp, "cache"), "--latency-samples", "4", "--latency-runs", "2"];

interface MixedJson {
  layers: { node: string; costs: Record<string, { latency?: number }>; chosen: string }[];
  budgets: Record<string, { limit: number; used: number }>;
}

describe("fixq quantize --measure-latency", () => {
  it("times every layer under every candidate, writes the table atomically and solves a latency budget with it", () => {
    const table = join(tmp, "latency.json");
    const out = join(tmp, "m.onnx");
    const r = fixq(...base, "-o", out, "--measure-latency", table, "--budget", "latency=70%", "--json");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const t = JSON.parse(readFileSync(table, "utf8")) as { unit: string; layers: Record<string, Record<string, number>>; cpu: { summary: string } };
    const mixed = (JSON.parse(r.stdout) as { mixed: MixedJson }).mixed;
    expect(t.unit).toBe("ms");
    expect(t.cpu.summary).toContain(`(${arch()};`); // the machine the times belong to
    // The five layers of the CNN, each with both candidates timed > 0.
    expect(Object.keys(t.layers).sort()).toEqual(mixed.layers.map((l) => l.node).sort());
    expect(mixed.layers).toHaveLength(5);
    for (const row of Object.values(t.layers)) {
      expect(Object.keys(row).sort()).toEqual(["int4", "int8"]);
      for (const ms of Object.values(row)) expect(ms).toBeGreaterThan(0);
    }
    // The solve used the measured table: its latency costs are the file's, and the budget holds.
    for (const l of mixed.layers) for (const c of ["int4", "int8"]) expect(l.costs[c]!.latency).toBe(t.layers[l.node]![c]);
    const used = mixed.layers.reduce((s, l) => s + t.layers[l.node]![l.chosen]!, 0);
    const highest = mixed.layers.reduce((s, l) => s + Math.max(...Object.values(t.layers[l.node]!)), 0);
    expect(mixed.budgets["latency"]!.used).toBeCloseTo(used, 9);
    expect(mixed.budgets["latency"]!.limit).toBeCloseTo(0.7 * highest, 9);
    expect(used).toBeLessThanOrEqual(mixed.budgets["latency"]!.limit + 1e-12);
    expect(statSync(out).size).toBeGreaterThan(0);
    expect(readdirSync(tmp).sort()).toEqual(["cache", "latency.json", "m.onnx"]);
  });

  it("refuses an input path, and --latency-table together with it, in one line with exit 2", () => {
    const before = readFileSync("models/cnn.onnx");
    const onInput = fixq(...base, "-o", join(tmp, "x.onnx"), "--measure-latency", "models/cnn.onnx", "--budget", "latency=70%");
    expect([onInput.status, onInput.stderr.trim().split("\n").length]).toEqual([2, 1]);
    expect(onInput.stderr).toMatch(/--measure-latency models\/cnn\.onnx would overwrite the input/);
    expect(readFileSync("models/cnn.onnx").equals(before)).toBe(true);
    const recipe = join(tmp, "r.json");
    writeFileSync(recipe, JSON.stringify({ measureLatency: "models/cnn.onnx" }));
    const viaRecipe = fixq(...base, "-o", join(tmp, "x.onnx"), "--recipe", recipe, "--budget", "latency=70%");
    expect([viaRecipe.status, viaRecipe.stderr.trim()]).toEqual([2, "error: --measure-latency models/cnn.onnx would overwrite the input: it is the same file as the model models/cnn.onnx; choose another path"]);
    rmSync(recipe);
    const both = fixq(...base, "-o", join(tmp, "x.onnx"), "--measure-latency", join(tmp, "t.json"), "--latency-table", join(tmp, "t2.json"), "--budget", "latency=70%");
    expect([both.status, both.stderr.trim()]).toEqual([2, "error: give --latency-table FILE or --measure-latency FILE, not both"]);
    expect(fixq(...base, "-o", join(tmp, "x.onnx"), "--latency-runs", "0", "--measure-latency", join(tmp, "t.json"), "--budget", "size=70%").stderr.trim()).toBe("error: --latency-runs must be a positive integer, got '0'");
  });

  it("refuses -o onto the --latency-table it reads, before any work, and leaves the table as it was", () => {
    const table = join(tmp, "hand.json");
    writeFileSync(table, JSON.stringify({ unit: "ms", layers: {} }));
    const before = readFileSync(table);
    const r = fixq(...base.slice(0, -4), "-o", table, "--latency-table", table, "--budget", "latency=70%");
    expect([r.status, r.stderr.trim()]).toEqual([2, `error: -o ${table} would overwrite the input: it is the same file as --latency-table ${table}; choose another path`]);
    expect(readFileSync(table).equals(before)).toBe(true);
  });
});
