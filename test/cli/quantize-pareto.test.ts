/** The Pareto sweep of --pareto: every point solved, quantized and measured; the file holds the front. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { paretoSweep } from "../../src/cli/quantize-pareto.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { readNpy } from "../../src/io/npy.js";
import { readTensorFile } from "../../src/io/npz.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { arraySource, feedsFor } from "../../src/quant/feeds.js";
import { allocateMixed } from "../../src/quant/mixed/allocate.js";
import { parseBudgets } from "../../src/quant/mixed/budget.js";
import { buildRecipe } from "../../src/quant/recipe.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-pareto-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("paretoSweep", () => {
  it("sweeps all-lowest to all-highest, measures each point, flags drops, writes the front", async () => {
    const model = loadModel(join(MODELS_DIR, "cnn.onnx"));
    const source = () => arraySource(feedsFor(model.graph!, readTensorFile(join(MODELS_DIR, "data/calib.npy")), "calib.npy", 64));
    const x = readNpy(join(MODELS_DIR, "data/eval.npy"));
    const n = 300;
    const evalData = { inputs: { input: { dtype: 1, dims: [n, 1, 28, 28], data: (x.data as Float32Array).subarray(0, n * 784) } }, samples: n, source: "eval.npy" };
    const labels = Int32Array.from(readNpy(join(MODELS_DIR, "data/eval_labels.npy")).data as BigInt64Array, (v) => Number(v)).subarray(0, n);
    const recipe = buildRecipe({});
    const mixed = { candidates: "int4,int8", budgets: parseBudgets(["size=80%"]), cacheRoot: join(tmp, "cache"), samples: 32, threads: 1 };
    const first = await allocateMixed(model, source(), recipe, mixed);
    if (first.kind !== "solved") throw new Error("expected a solution");
    const file = join(tmp, "p.json");
    const r = await paretoSweep({ model, problem: first.problem, source, recipe, recipeParts: [{}], mixed, evalData, labels, threads: 1, points: 3, file }, () => {});
    expect(r.points).toHaveLength(3);
    const nodes = first.problem.layers.map((l) => l.node);
    expect(Object.values(r.points[0]!.choice!)).toEqual(nodes.map(() => "int4"));
    expect(Object.values(r.points[2]!.choice!)).toEqual(nodes.map(() => "int8"));
    expect(r.points[0]!.predicted!).toBeGreaterThanOrEqual(r.points[1]!.predicted!);
    expect(r.points[1]!.predicted!).toBeGreaterThanOrEqual(r.points[2]!.predicted!);
    // A point is flagged exactly when its top-1 is below that of a smaller budget.
    const m = r.points.map((p) => p.measured!);
    expect(r.points.map((p) => p.nonMonotone)).toEqual(m.map((v, i) => m.slice(0, i).some((u) => u > v)));
    expect(r.metric).toBe("top-1");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(JSON.parse(JSON.stringify(r)));
  });
});
