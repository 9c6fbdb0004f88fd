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
import { mulKernel } from "../../src/numerics/transformer.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { checkIntegerPipeline, type PipelineCase } from "./integer-pipeline.js";
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


function gatedMlp(): PipelineCase {
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

function broadcastGate(): PipelineCase {
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
    const { program, worstSteps } = await checkIntegerPipeline(c, N);
    expect(program.ops.filter((o) => o.kind === "mul").length).toBe(1);
    expect(worstSteps).toBeLessThanOrEqual(3);
  }, 60_000);
});
