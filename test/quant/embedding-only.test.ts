/**
 * Models of embeddings alone (a torch nn.Embedding export: ids → Gather of a
 * constant table → output, maybe followed by elementwise ops), which used to
 * be refused with "no quantizable op":
 *   - quantize (calibrated, and data-free: the table's extremes bound its
 *     rows) stores the table as int8 per row, and quantizes the gathered rows
 *     where they are the model's output;
 *   - the QDQ model runs in ONNX Runtime (integer kernels on) within 2% of the
 *     float model's output range (measured 0.7% and 0.9%);
 *   - the integer lowering gathers output codes: the emulator equals the
 *     fake-quant model exactly for the bare embedding and within two output
 *     steps through Mul and Add of constants; the generated JS, the integer
 *     ONNX and (with gcc) the C equal the emulator bit for bit.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { tallyC } from "../backends/c/check-c.js";
import { resultMismatches } from "../backends/js/compare.js";
import { cleanupModules, importProgram } from "../backends/js/load-module.js";
import { tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { Rng } from "../helpers/prng.js";
import { graph, model, node, randomWeight, value } from "../ir/builders.js";

const HAVE_GCC = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-embedding-only-");
afterAll(() => {
  cleanupModules();
  tmp.remove();
});

const rng = new Rng(17);
const [ROWS, WIDTH, L, N] = [20, 8, 5, 64];
const table = makeFloatTensor("table", [ROWS, WIDTH], Array.from({ length: ROWS * WIDTH }, () => (rng.float() - 0.5) * 3));
const positions = randomWeight(rng, "pos", [L, WIDTH]);

/** ids [N, L] → Gather(table) → y. */
function embedding(): Model {
  return model(graph([node("Gather", ["table", "ids"], ["y"], [], "embed")], [value("ids", DataType.INT64, ["N", L])], [value("y", 1, ["N", L, WIDTH])], [table]), 13);
}

/** ids → Gather → Mul(√width) → Add(positions [L, width]) → y, as a transformer's input embedding. */
function scaledWithPositions(): Model {
  const scale = makeFloatTensor("scale", [], [Math.sqrt(WIDTH)]);
  const g = graph(
    [node("Gather", ["table", "ids"], ["e"], [], "embed"), node("Mul", ["e", "scale"], ["s"], [], "scale"), node("Add", ["s", "pos"], ["y"], [], "positions")],
    [value("ids", DataType.INT64, ["N", L])],
    [value("y", 1, ["N", L, WIDTH])],
    [table, scale, positions],
  );
  return model(g, 13);
}

const ids = Float32Array.from({ length: N * L }, () => rng.int(2 * ROWS) - ROWS); // negative ids count from the end
const host = { ids: { dtype: DataType.INT64, dims: [N, L], data: BigInt64Array.from(ids, (v) => BigInt(v)) } };

async function run(m: Model, optimization: "all" | "disabled"): Promise<Float32Array> {
  const s = await OrtSession.create(m, { threads: 1, optimization });
  return (await s.run(host).finally(() => s.release()))["y"]!.data as Float32Array;
}

describe.each([
  { name: "ids → Gather", build: embedding, steps: 0 },
  { name: "ids → Gather → Mul(√d) → Add(positions)", build: scaledWithPositions, steps: 2 },
])("an embedding-only model: $name", ({ build, steps }) => {
  it("quantizes (int8 rows), runs in ONNX Runtime near float, and lowers to integers bit-exact across back ends", async () => {
    const { model: qdq, decisions } = await quantizeModel(build(), arraySource(host), buildRecipe({}), { threads: 1 });
    expect(decisions.find((d) => d.node.name === "embed")).toMatchObject({ quantized: true, role: "weight-only" });
    const yf = await run(build(), "all");
    const yq = await run(qdq, "all");
    const range = yf.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(yf.reduce((a, v, i) => Math.max(a, Math.abs(v - yq[i]!)), 0)).toBeLessThanOrEqual(0.02 * range);

    const p = integerizeModel(qdq);
    expect(p.ops.filter((o) => o.kind === "gather").length).toBe(1);
    const cert = certifyProgram(p);
    expect(cert.problems.filter((q) => q.level === "error")).toEqual([]);
    const feeds = new Map([["ids", ids]]);
    const emu = runProgram(p, feeds, N, { assertRanges: cert.ranges });
    const y = emu.outputs.get("y")!;
    const fq = await run(qdq, "disabled");
    const step = (p.ops.at(-1) as { scale: number }).scale;
    expect(y.reduce((a, v, i) => Math.max(a, Math.abs(v - fq[i]!) / step), 0)).toBeLessThanOrEqual(steps);

    const { mod } = await importProgram(p);
    expect(resultMismatches(mod.runAll({ ids }, N), emu, ["y"])).toMatchObject({ floats: 0, ints: 0 });
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(feeds, N).finally(() => runner.release());
    expect(resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, ["y"])).toMatchObject({ floats: 0, ints: 0 });
    if (HAVE_GCC) {
      const t = tallyC(p, tmp.fresh(), [{ data: { ids }, batch: N }], "-O1 -Wconversion -Wsign-conversion");
      expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
      expect(t.compared).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe("an embedding-only model without data", () => {
  it("quantizes data-free: the gathered rows take the table's extremes as their range", async () => {
    const { model: qdq } = await quantizeModel(embedding(), arraySource(host), buildRecipe({ dataFree: true }), { threads: 1 });
    const q = qdq.graph!.nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === "y")!;
    const scale = qdq.graph!.initializers.find((t) => t.name === q.inputs[1])!;
    const t = Array.from(new Float32Array(table.raw!.slice().buffer));
    const [lo, hi] = [Math.min(...t), Math.max(...t)];
    // one int8 step covers the table's span over 255 steps (asymmetric uint8 or symmetric int8)
    expect(new Float32Array(scale.raw!.slice().buffer)[0]!).toBeGreaterThanOrEqual(Math.fround((hi - lo) / 255) * (1 - 1e-6));
    expect(new Float32Array(scale.raw!.slice().buffer)[0]!).toBeLessThanOrEqual((2 * Math.max(-lo, hi)) / 254 + 1e-6);
  });
});
