/**
 * Mixed precision on the bundled CNN, end to end through the API: measured
 * sensitivities, the cache (a re-solve measures nothing), three shards merged
 * by copying their files giving the same cache and the same answer as one
 * run, and the chosen formats written through `layers` rules.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { readTensorFile } from "../../../src/io/npz.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { arraySource, feedsFor } from "../../../src/quant/feeds.js";
import { allocateMixed, type MixedOptions } from "../../../src/quant/mixed/allocate.js";
import { parseBudgets } from "../../../src/quant/mixed/budget.js";
import { readCache } from "../../../src/quant/mixed/cache.js";
import { readLatencyTable } from "../../../src/quant/mixed/latency-table.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-mixed-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const model = loadModel(join(MODELS_DIR, "cnn.onnx"));
const source = () => arraySource(feedsFor(model.graph!, readTensorFile(join(MODELS_DIR, "data/calib.npy")), "calib.npy", 32));
const recipe = buildRecipe({});
const opts = (cacheRoot: string, extra: Partial<MixedOptions> = {}): MixedOptions => ({ candidates: "int4,int8", budgets: parseBudgets(["size=70%"]), cacheRoot, samples: 32, threads: 1, ...extra });

describe("allocateMixed on the CNN", () => {
  it("measures, solves within budget, and a re-solve reuses every sensitivity", async () => {
    const root = join(tmp, "one");
    const a = await allocateMixed(model, source(), recipe, opts(root));
    if (a.kind !== "solved") throw new Error("expected a solution");
    const r = a.report;
    expect(r.layers.map((l) => l.node)).toEqual(["/features/features.0/Conv", "/features/features.3/Conv", "/features/features.6/Conv", "/fc1/Gemm", "/fc2/Gemm"]);
    expect(r.sensitivityMetric).toBe("kl-softmax");
    expect(r.cache).toMatchObject({ measured: 10, reused: 0 });
    expect(r.solver).toMatchObject({ status: "Optimal", gap: 0 });
    expect(r.budgets.size!.used).toBeLessThanOrEqual(r.budgets.size!.limit);
    for (const l of r.layers) {
      // A coarser grid moves the output more, and 4-bit weights cost about half the bits of 8-bit ones.
      expect(l.costs.int4!.sensitivity).toBeGreaterThan(l.costs.int8!.sensitivity);
      expect(l.costs.int4!.sizeBits).toBeLessThan(l.costs.int8!.sizeBits);
    }
    expect(r.objective).toBeCloseTo(r.layers.reduce((s, l) => s + l.costs[l.chosen]!.sensitivity, 0), 12);
    expect(new Set(r.layers.map((l) => l.chosen))).toEqual(new Set(["int4", "int8"])); // 70% forces a mix

    const again = await allocateMixed(model, source(), recipe, opts(root, { budgets: parseBudgets(["size=90%"]) }));
    if (again.kind !== "solved") throw new Error("expected a solution");
    expect(again.report.cache).toMatchObject({ measured: 0, reused: 10 });
    expect(again.report.objective).toBeLessThanOrEqual(r.objective);
  });

  it("3 shards, merged by copying their files, give the one-run cache and answer", async () => {
    const one = join(tmp, "single");
    const single = await allocateMixed(model, source(), recipe, opts(one));
    const merged = join(tmp, "merged");
    for (let i = 0; i < 3; i++) {
      const dir = join(tmp, `shard${i}`);
      const s = await allocateMixed(model, source(), recipe, opts(dir, { shard: { index: i, count: 3 } }));
      expect(s).toMatchObject({ kind: "shard", total: 10, measured: [4, 3, 3][i] });
      cpSync(dir, merged, { recursive: true });
    }
    const folder = (root: string) => join(root, readdirSync(root)[0]!);
    expect(readCache(folder(merged)).entries).toEqual(readCache(folder(one)).entries);
    const final = await allocateMixed(model, source(), recipe, opts(merged));
    if (final.kind !== "solved" || single.kind !== "solved") throw new Error("expected solutions");
    expect(final.report.cache.measured).toBe(0);
    expect(final.report.layers.map((l) => l.chosen)).toEqual(single.report.layers.map((l) => l.chosen));
    expect(final.report.objective).toBe(single.report.objective);
  });

  it("--sensitivity hessian: one trace per layer from 4 probes × ±, the same solver", async () => {
    const a = await allocateMixed(model, source(), recipe, opts(join(tmp, "hessian"), { sensitivity: "hessian" }));
    if (a.kind !== "solved") throw new Error("expected a solution");
    expect(a.report.sensitivityMethod).toBe("hessian");
    expect(a.report.cache).toMatchObject({ measured: 40, reused: 0 });
    for (const l of a.report.layers) expect(l.costs.int4!.sensitivity).toBeGreaterThan(l.costs.int8!.sensitivity);
    expect(a.report.solver.status).toBe("Optimal");
  });

  it("a latency budget reads the latency table; a missing entry names the layer and candidate", async () => {
    const dir = join(tmp, "one");
    const file = join(tmp, "lat.json");
    const nodes = ["/features/features.0/Conv", "/features/features.3/Conv", "/features/features.6/Conv", "/fc1/Gemm", "/fc2/Gemm"];
    writeFileSync(file, JSON.stringify({ unit: "ms", layers: Object.fromEntries(nodes.map((n, i) => [n, { int4: 1 + i, int8: 2 + 2 * i }])) }));
    // int8 everywhere costs 2+4+6+8+10 = 30 ms, int4 everywhere 15 ms; 20 ms forces int4 where it saves most per sensitivity.
    const a = await allocateMixed(model, source(), recipe, opts(dir, { budgets: parseBudgets(["latency=20ms"]), latencyTable: readLatencyTable(file) }));
    if (a.kind !== "solved") throw new Error("expected a solution");
    expect(a.report.budgets["latency"]!.limit).toBe(20);
    expect(a.report.budgets["latency"]!.used).toBe(a.report.layers.reduce((s, l) => s + l.costs[l.chosen]!.latency!, 0));
    expect(a.report.budgets["latency"]!.used).toBeLessThanOrEqual(20);
    writeFileSync(file, JSON.stringify({ layers: { [nodes[0]!]: { int4: 1 } } }));
    await expect(allocateMixed(model, source(), recipe, opts(dir, { budgets: parseBudgets(["latency=20ms"]), latencyTable: readLatencyTable(file) }))).rejects.toThrow(`${file}: no latency for layer '/features/features.0/Conv' under candidate 'int8'`);
  });

  it("the chosen formats reach the quantized model through layers rules", async () => {
    const a = await allocateMixed(model, source(), recipe, opts(join(tmp, "one")));
    if (a.kind !== "solved") throw new Error("expected a solution");
    const q = await quantizeModel(model, source(), buildRecipe({ layers: a.rules }), { threads: 1 });
    const weightOf: Record<string, string> = { "/features/features.0/Conv": "features.0.weight", "/features/features.3/Conv": "features.3.weight", "/features/features.6/Conv": "features.6.weight", "/fc1/Gemm": "fc1.weight", "/fc2/Gemm": "fc2.weight" };
    for (const l of a.report.layers) {
      const row = q.formats.find((f) => f.tensor === weightOf[l.node]);
      expect(row?.format).toBe(l.chosen === "int4" ? "int4[-7,7]" : "int8[-64,64]");
    }
  });
});
