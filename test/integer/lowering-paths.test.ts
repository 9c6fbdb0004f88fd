/**
 * The lowering paths the bundled models do not take, end to end: a small
 * float model with AveragePool (padded, count_include_pad = 1), a Concat of
 * two branches at different scales, a stride-2 MaxPool, a grouped Conv with
 * ReLU6, GlobalAveragePool and a Gemm, quantized by `quantizeModel`, then
 * integerized. The integer-only model must track the fake-quant model, and
 * the integer ONNX export and the generated JS must equal the emulator.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { emitJsModule } from "../../src/backends/js/emit.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { Rng } from "../helpers/prng.js";
import { floatVector, graph, int, ints, model, node, randomWeight, value } from "../ir/builders.js";

const rng = new Rng(11);
const weights = (name: string, dims: number[]) => randomWeight(rng, name, dims);
const floats = floatVector;

function floatModel(): Model {
  const g = graph(
    [
      node("Conv", ["x", "w1", "b1"], ["c1"], [ints("pads", [1, 1, 1, 1]), ints("kernel_shape", [3, 3])], "conv1"),
      node("Relu", ["c1"], ["r1"], [], "relu1"),
      node("AveragePool", ["r1"], ["a1"], [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), int("count_include_pad", 1)], "avg"),
      node("Conv", ["r1", "w2", "b2"], ["c2"], [ints("kernel_shape", [1, 1])], "conv2"),
      node("Concat", ["a1", "c2"], ["cat"], [int("axis", 1)], "cat"),
      node("MaxPool", ["cat"], ["mp"], [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])], "maxpool"),
      node("Conv", ["mp", "w3", "b3"], ["c3"], [ints("pads", [1, 1, 1, 1]), ints("kernel_shape", [3, 3]), int("group", 2)], "conv3"),
      node("Clip", ["c3", "lo", "hi"], ["r3"], [], "relu6"),
      node("GlobalAveragePool", ["r3"], ["gap"], [], "gap"),
      node("Flatten", ["gap"], ["flat"], [], "flatten"),
      node("Gemm", ["flat", "wf", "bf"], ["y"], [int("transB", 1)], "fc"),
    ],
    [value("x", 1, ["N", 1, 8, 8])],
    [value("y", 1, ["N", 5])],
    [
      weights("w1", [4, 1, 3, 3]),
      floats("b1", [0.1, -0.05, 0.02, 0]),
      weights("w2", [4, 4, 1, 1]),
      floats("b2", [0.3, -0.3, 0.1, 0.2]),
      weights("w3", [8, 4, 3, 3]),
      floats("b3", [0, 0.1, -0.1, 0.05, 0, 0.02, -0.02, 0.1]),
      floats("lo", [0]),
      floats("hi", [6]),
      weights("wf", [5, 8]),
      floats("bf", [0, 0.1, -0.1, 0.2, -0.2]),
    ].map((t) => (t.dims.length === 1 && (t.name === "lo" || t.name === "hi") ? { ...t, dims: [] } : t)),
  );
  return model(g, 17);
}

const N = 256;
const x = Float32Array.from({ length: N * 64 }, () => rng.float());

let quantized: Model;
let p: Program;
const tmp = mkdtempSync(join(tmpdir(), "fixq-lowering-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  const source = arraySource({ x: { dtype: 1, dims: [N, 1, 8, 8], data: x } });
  quantized = (await quantizeModel(floatModel(), source, buildRecipe({}), { threads: 1 })).model;
  p = integerizeModel(quantized);
});

describe("integerize: Concat, padded AveragePool, MaxPool, grouped Conv + ReLU6", () => {
  it("lowers every node to integer ops", () => {
    const kinds = p.ops.map((o) => o.kind);
    expect(kinds).toContain("sumpool");
    expect(kinds).toContain("concat");
    expect(kinds).toContain("maxpool");
    expect(kinds.filter((k) => k === "conv")).toHaveLength(3);
  });

  it("tracks the fake-quant model: outputs within a few output steps, same class on ≥ 97% of inputs", async () => {
    const s = await OrtSession.create(quantized, { threads: 1, optimization: "disabled" });
    let fq: Float32Array;
    try {
      fq = (await s.run({ x: { dtype: 1, dims: [N, 1, 8, 8], data: x } }))[s.outputNames[0]!]!.data as Float32Array;
    } finally {
      await s.release();
    }
    const emu = runProgram(p, new Map([["x", x]]), N).outputs.get("y")!;
    const step = (p.ops.at(-1) as { scale: number }).scale;
    let worst = 0;
    let same = 0;
    for (let i = 0; i < emu.length; i++) worst = Math.max(worst, Math.abs(emu[i]! - fq[i]!) / step);
    for (let s0 = 0; s0 < N; s0++) {
      const row = (a: Float32Array) => Array.from(a.subarray(s0 * 5, s0 * 5 + 5));
      const am = (r: number[]) => r.indexOf(Math.max(...r));
      if (am(row(emu)) === am(row(fq))) same++;
    }
    expect(worst).toBeLessThanOrEqual(3);
    expect(same / N).toBeGreaterThanOrEqual(0.97);
  });

  it("the integer ONNX export and the generated JS equal the emulator bit for bit", async () => {
    const emu = runProgram(p, new Map([["x", x]]), N);
    const ort = await integerOnnxRunner(p, { threads: 1 });
    try {
      const r = await ort.run(new Map([["x", x]]), N);
      expect(Array.from(r.ints.get("y")!)).toEqual(Array.from(emu.ints.get("y")!));
      expect(Array.from(r.outputs.get("y")!)).toEqual(Array.from(emu.outputs.get("y")!));
    } finally {
      await ort.release();
    }
    for (const [rel, text] of emitJsModule(p)) writeFileSync(join(tmp, rel), text);
    const mod = await import(pathToFileURL(join(tmp, "model.mjs")).href);
    const js = mod.runAll({ x }, N);
    expect(Array.from(js.ints.y as Int32Array)).toEqual(Array.from(emu.ints.get("y")!));
    expect(Array.from(js.outputs.y as Float32Array)).toEqual(Array.from(emu.outputs.get("y")!));
  });
});
