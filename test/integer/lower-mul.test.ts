/**
 * integer/lower-mul.ts and the `mul` op: a Mul of two independent activations
 * lowers to an int32 product and one requant. numerics' mulKernel broadcasts
 * as ONNX Mul (hand-computed values); two small float models, quantized by
 * `quantizeModel` and integerized: a gated MLP h = (x·W1)·σ(x·W2), and a
 * broadcast gate [4, 8] ⊙ [1, 8] from a second input. Each lowers with one
 * `mul` op, the certificate holds (and every value stays in its certified
 * range on the data), the integer model tracks ONNX Runtime's fake-quant model
 * within a few output steps, and the generated JS and the integer-only ONNX
 * equal the emulator bit for bit; the C back end's check (which the HLS
 * back end runs too) accepts the program (test/backends/c/transformer-ops
 * holds C and HLS to the emulator on mul ops).
 */
import { afterAll, describe, expect, it } from "vitest";
import { checkC } from "../../src/backends/c/emit.js";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { sampleSize } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { mulKernel } from "../../src/numerics/transformer.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { cleanupModules, importProgram } from "../backends/js/load-module.js";
import { Rng } from "../helpers/prng.js";
import { graph, model, node, randomWeight, value } from "../ir/builders.js";

afterAll(cleanupModules);

describe("mulKernel", () => {
  it("multiplies centered codes, broadcasting [2, 1] by [1, 3] per sample, over 2 samples", () => {
    const a = [3, 4, /* sample 2 */ 1, 0];
    const c = [1, 2, 4, /* sample 2 */ 0, 5, -1];
    const acc = new Int32Array(12);
    mulKernel(a, 1, c, 2, acc, 2, [2, 3], [2, 1], [1, 3]);
    // sample 1: (3−1, 4−1) = (2, 3) times (−1, 0, 2); sample 2: (0, −1) times (−2, 3, −3)
    expect(Array.from(acc)).toEqual([-2, 0, 4, -3, 0, 6, 0, 0, 0, 2, -3, 3]);
  });
});

const rng = new Rng(23);
const N = 256;
const randn = (n: number) => Float32Array.from({ length: n }, () => (rng.float() + rng.float() + rng.float() - 1.5) * 2);

interface Case {
  name: string;
  model: Model;
  feeds: Record<string, Float32Array>;
  dims: Record<string, number[]>;
}

function gatedMlp(): Case {
  const g = graph(
    [
      node("MatMul", ["x", "w1"], ["a"], [], "up"),
      node("MatMul", ["x", "w2"], ["g"], [], "gate"),
      node("Sigmoid", ["g"], ["s"], [], "sigmoid"),
      node("Mul", ["a", "s"], ["h"], [], "gated"),
      node("MatMul", ["h", "w3"], ["y"], [], "down"),
    ],
    [value("x", 1, ["N", 16])],
    [value("y", 1, ["N", 6])],
    [randomWeight(rng, "w1", [16, 32]), randomWeight(rng, "w2", [16, 32]), randomWeight(rng, "w3", [32, 6])],
  );
  return { name: "gated MLP (x·W1)·σ(x·W2)", model: model(g, 17), feeds: { x: randn(N * 16) }, dims: { x: [N, 16] } };
}

function broadcastGate(): Case {
  const g = graph(
    [
      node("MatMul", ["x", "w1"], ["a"], [], "proj"),
      node("MatMul", ["z", "w2"], ["g"], [], "gate"),
      node("Tanh", ["g"], ["t"], [], "tanh"),
      node("Mul", ["t", "a"], ["y"], [], "gated"),
    ],
    [value("x", 1, ["N", 4, 8]), value("z", 1, ["N", 1, 8])],
    [value("y", 1, ["N", 4, 8])],
    [randomWeight(rng, "w1", [8, 8]), randomWeight(rng, "w2", [8, 8])],
  );
  return { name: "broadcast gate [1, 8] ⊙ [4, 8]", model: model(g, 17), feeds: { x: randn(N * 32), z: randn(N * 8) }, dims: { x: [N, 4, 8], z: [N, 1, 8] } };
}

describe.each([gatedMlp(), broadcastGate()])("integer Mul of two activations: $name", (c) => {
  it("lowers to one mul op, certified; tracks fake-quant; JS = integer ONNX = emulator; the C check accepts it", async () => {
    const host = Object.fromEntries(Object.entries(c.feeds).map(([k, data]) => [k, { dtype: 1, dims: c.dims[k]!, data }]));
    const { model } = await quantizeModel(c.model, arraySource(host), buildRecipe({}), { threads: 1 });
    const p = integerizeModel(model);
    expect(p.ops.filter((o) => o.kind === "mul").length).toBe(1);
    const cert = certifyProgram(p);
    expect(cert.problems.filter((q) => q.level === "error")).toEqual([]);

    const feeds = new Map(Object.entries(c.feeds));
    const emu = runProgram(p, feeds, N, { assertRanges: cert.ranges });
    const out = p.outputs[0]!.name;
    const s = await OrtSession.create(model, { threads: 1, optimization: "disabled" });
    const fq = (await s.run(host).finally(() => s.release()))[s.outputNames[0]!]!.data as Float32Array;
    const y = emu.outputs.get(out)!;
    expect(y.length).toBe(N * sampleSize(p.outputs[0]!.shape));
    const step = (p.ops.at(-1) as { scale: number }).scale;
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - fq[i]!) / step);
    expect(worst).toBeLessThanOrEqual(3);

    const { mod } = await importProgram(p);
    const js = resultMismatches(mod.runAll(c.feeds, N), emu, [out]);
    expect({ floats: js.floats, ints: js.ints }).toEqual({ floats: 0, ints: 0 });
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(feeds, N).finally(() => runner.release());
    const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, [out]);
    expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });

    expect(checkC(p)).toEqual([]);
  }, 60_000);
});
