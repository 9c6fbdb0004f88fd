/**
 * `fixq quantize --mixed … --budget …` as a user runs it: the `mixed` object
 * of the JSON summary (re-checked here by recomputing objective and budget
 * use from its own numbers), the cache on a re-run, a shard run that writes
 * no model, and mistakes as one line with exit 2.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { fixq } from "../helpers/fixq-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-mixed-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cache = join(tmp, "cache");
const CNN_CALIB = "models/data/calib.npy";
const base = ["quantize", "models/cnn.onnx", "--sensitivity-samples", "32", "--sensitivity-cache", cache];

interface Cost {
  sensitivity: number;
  sizeBits: number;
  bops: number;
}
interface MixedJson {
  candidates: string[];
  sensitivityMethod: string;
  layers: { node: string; group: string; costs: Record<string, Cost>; chosen: string }[];
  budgets: Record<string, { limit: number; used: number }>;
  objective: number;
  solver: { name: string; status: string; gap: number; ms: number };
  cache: { measured: number; reused: number };
  search?: { evaluations: number; ilp: { measured: number; choice: Record<string, string> }; kept: { measured: number; choice: Record<string, string> } };
}

describe("fixq quantize --mixed", () => {
  it("writes a model with the chosen formats and a mixed object anyone can re-check; a re-run measures nothing", () => {
    const out = join(tmp, "m.onnx");
    const r = fixq(...base, "-o", out, "--mixed", "int4,int8", "--budget", "size=80%", "--budget", "bops=90%", "--mixed-search", "6", "--json");
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout).mixed as MixedJson;
    expect(m.candidates).toEqual(["int4", "int8"]);
    expect(m.sensitivityMethod).toBe("measured");
    expect(m.solver).toMatchObject({ status: "Optimal", gap: 0 });
    expect(m.layers).toHaveLength(5);
    for (const kind of ["size", "bops"] as const) {
      const used = m.layers.reduce((s, l) => s + l.costs[l.chosen]![kind === "size" ? "sizeBits" : "bops"], 0);
      expect(m.budgets[kind]!.used).toBe(used);
      expect(used).toBeLessThanOrEqual(m.budgets[kind]!.limit);
    }
    expect(m.objective).toBeCloseTo(m.layers.reduce((s, l) => s + l.costs[l.chosen]!.sensitivity, 0), 12);
    expect(existsSync(out)).toBe(true);
    // The search ran (at most 6 scored) and kept an assignment no worse on calibration data than the ILP optimum.
    expect(m.search!.evaluations).toBeGreaterThanOrEqual(1);
    expect(m.search!.evaluations).toBeLessThanOrEqual(6);
    expect(m.search!.kept.measured).toBeLessThanOrEqual(m.search!.ilp.measured);
    expect(Object.fromEntries(m.layers.map((l) => [l.group, l.chosen]))).toEqual(m.search!.kept.choice);
    // The same keys in a recipe file (the search off); the re-run takes every sensitivity from the cache and gives the ILP optimum.
    const recipe = join(tmp, "r.json");
    writeFileSync(recipe, JSON.stringify({ mixed: "int4,int8", budget: ["size=80%", "bops=90%"], mixedSearch: 0 }));
    const again = fixq(...base, "-o", join(tmp, "m2.onnx"), "--recipe", recipe, "--json");
    expect(again.status, again.stderr).toBe(0);
    const m2 = JSON.parse(again.stdout).mixed as MixedJson;
    expect(m2.cache).toEqual(expect.objectContaining({ measured: 0, reused: 10 }));
    expect(m2.search).toBeUndefined();
    expect(Object.fromEntries(m2.layers.map((l) => [l.group, l.chosen]))).toEqual(m.search!.ilp.choice);
  }, 120_000);

  it("a shard measures its part into the cache and writes no model", () => {
    const out = join(tmp, "shard.onnx");
    const r = fixq(...base.slice(0, -1), join(tmp, "shard-cache"), "-o", out, "--mixed", "int4,int8", "--shard", "2/3");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^measured 3 of 10 \(layer, candidate\) sensitivities into .*; no model written \(--shard\)\n$/);
    expect(existsSync(out)).toBe(false);
  });

  it("a budget below the all-lowest cost is one line with every budget's feasible range, exit 2, nothing written", () => {
    const out = join(tmp, "bad.onnx");
    const r = fixq(...base, "-o", out, "--mixed", "int4,int8", "--budget", "size=10KB");
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--budget size is below the all-lowest cost: size 10\.000 KB \(feasible \d+\.\d+ KB … \d+\.\d+ KB\)/);
    expect(existsSync(out)).toBe(false);
  });

  it("a model whose nodes have no names (torch's older exports) gets <op>_<output> names, so every layer takes part", () => {
    const model = loadModel("models/cnn.onnx");
    const unnamed = join(tmp, "unnamed.onnx");
    saveModel({ ...model, graph: { ...model.graph!, nodes: model.graph!.nodes.map(({ name: _, ...n }) => n) } }, unnamed);
    const out = join(tmp, "unnamed.q.onnx");
    const r = fixq("quantize", unnamed, "--calib", CNN_CALIB, "--sensitivity-samples", "32", "--sensitivity-cache", join(tmp, "unnamed-cache"), "-o", out, "--mixed", "int4,int8", "--budget", "size=80%", "--mixed-search", "0", "--json");
    expect(r.status, r.stderr).toBe(0);
    const layers = (JSON.parse(r.stdout).mixed as MixedJson).layers;
    expect(layers).toHaveLength(5);
    for (const l of layers) expect(l.node).toMatch(/^(Conv|Gemm|MatMul)_./);
    expect(new Set(layers.map((l) => l.chosen))).toEqual(new Set(["int4", "int8"]));
    // The written model carries those names, and as many int4 weight tensors (rank ≥ 2; zero points are vectors) as layers chosen int4.
    const written = loadModel(out).graph!;
    for (const l of layers) expect(written.nodes.some((n) => n.name === l.node)).toBe(true);
    const int4 = written.initializers.filter((t) => t.dtype === DataType.INT4 && t.dims.length >= 2).length;
    expect(int4).toBe(layers.filter((l) => l.chosen === "int4").length);
  }, 120_000);

  it("usage mistakes name the flag", () => {
    const o = ["-o", join(tmp, "x.onnx")];
    const r = fixq(...base, ...o, "--budget", "size=50%");
    expect([r.status, r.stderr.trim()]).toEqual([2, "error: --budget needs --mixed"]);
    const onFile = fixq("quantize", "models/cnn.onnx", ...o, "--mixed", "int4,int8", "--budget", "size=50%", "--sensitivity-cache", "models/cnn.onnx");
    expect([onFile.status, onFile.stderr.trim()]).toEqual([2, "error: models/cnn.onnx: --sensitivity-cache must be a folder (it is created when missing); this is a file"]);
    expect(fixq(...base, ...o, "--mixed", "int4,int9", "--budget", "size=50%").stderr).toMatch(/--mixed candidate 'int9': --weights must be one of/);
    const search = fixq(...base, ...o, "--mixed", "int4,int8", "--budget", "size=50%", "--mixed-search", "-1");
    expect([search.status, search.stderr.trim()]).toEqual([2, "error: --mixed-search must be an integer >= 0, got '-1'"]);
  });
});
