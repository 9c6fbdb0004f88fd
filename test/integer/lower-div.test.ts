/**
 * integer/lower-div.ts: Div of two activations, as torch exports `a / b`
 * (one Div node, opset 13), between quantized values:
 *   - a gate: a / (σ(x·W2) + 0.5), both sides [16];
 *   - h / (softplus(x·w) + 0.05): a divisor [1] broadcast over [16], whose
 *     range spans a factor of about 100 (the reciprocal's coarse end).
 * Each Div lowers to a reciprocal table of the divisor's 8-bit codes (int16
 * entries) and one `mul` op; the table is checked against 1/DQ_b(q) computed
 * here; then the shared pipeline check (integer-pipeline.ts): certified,
 * tracks ONNX Runtime's fake-quant model within two output steps (one measured), JS =
 * integer ONNX = emulator bit for bit; and the generated C equals the
 * emulator on random, full-range and saturating feeds (skipped with a notice
 * without gcc/make; required with FIXQ_REQUIRE_DATA=1).
 */
import { afterAll, describe, expect, it } from "vitest";
import type { TableOp } from "../../src/integer/program.js";
import type { Node } from "../../src/ir/graph.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { tallyC } from "../backends/c/check-c.js";
import { allFeeds } from "../backends/js/feeds.js";
import { cleanupModules } from "../backends/js/load-module.js";
import { tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { Rng } from "../helpers/prng.js";
import { graph, model, node, randomWeight, value } from "../ir/builders.js";
import { checkIntegerPipeline, type PipelineCase } from "./integer-pipeline.js";

const HAVE_GCC = toolAvailable("gcc") && toolAvailable("make");
const tmp = tempDir("fixq-lower-div-");
afterAll(() => {
  cleanupModules();
  tmp.remove();
});

const rng = new Rng(41);
const N = 256;
const randn = (n: number) => Float32Array.from({ length: n }, () => (rng.float() + rng.float() + rng.float() - 1.5) * 2);

/** A scalar float Constant node, as torch exports constants. */
function constant(name: string, v: number): Node {
  return node("Constant", [], [name], [{ name: "value", type: 4, t: makeFloatTensor(name, [], [v]) }], name);
}

function gate(): PipelineCase {
  const g = graph(
    [
      node("MatMul", ["x", "w1"], ["a"], [], "proj"),
      node("MatMul", ["x", "w2"], ["z"], [], "gate"),
      node("Sigmoid", ["z"], ["s"], [], "sigmoid"),
      constant("half", 0.5),
      node("Add", ["s", "half"], ["b"], [], "shift"),
      node("Div", ["a", "b"], ["q"], [], "div"),
      node("MatMul", ["q", "w3"], ["y"], [], "out"),
    ],
    [value("x", 1, ["N", 16])],
    [value("y", 1, ["N", 6])],
    [randomWeight(rng, "w1", [16, 16]), randomWeight(rng, "w2", [16, 16]), randomWeight(rng, "w3", [16, 6])],
  );
  return { name: "a / (σ(x·W2) + 0.5)", model: model(g, 13), feeds: { x: randn(N * 16) }, dims: { x: [N, 16] } };
}

function wideBroadcast(): PipelineCase {
  const g = graph(
    [
      node("MatMul", ["x", "w1"], ["h"], [], "proj"),
      node("MatMul", ["x", "w2"], ["z"], [], "scale"),
      node("Softplus", ["z"], ["sp"], [], "softplus"),
      constant("eps", 0.05),
      node("Add", ["sp", "eps"], ["d"], [], "eps"),
      node("Div", ["h", "d"], ["n"], [], "div"),
      node("MatMul", ["n", "w3"], ["y"], [], "out"),
    ],
    [value("x", 1, ["N", 16])],
    [value("y", 1, ["N", 6])],
    [randomWeight(rng, "w1", [16, 16]), randomWeight(rng, "w2", [16, 1]), randomWeight(rng, "w3", [16, 6])],
  );
  return { name: "h / (softplus(x·w) + 0.05), divisor [1] broadcast, wide range", model: model(g, 13), feeds: { x: randn(N * 16) }, dims: { x: [N, 16] } };
}

describe.each([gate(), wideBroadcast()])("integer Div of two activations: $name", (c) => {
  it("lowers to a reciprocal table and one mul op; certified; tracks fake-quant; JS = integer ONNX = emulator", async () => {
    const { program: p, worstSteps } = await checkIntegerPipeline(c, N);
    expect(p.ops.filter((o) => o.kind === "mul").length).toBe(1);
    const recip = p.ops.find((o): o is TableOp => o.kind === "table" && o.source.includes("1 /"))!;
    expect(recip).toBeDefined();
    const [bs, rs] = [p.values.get(recip.input)!, p.values.get(recip.output)!];
    expect(rs.type.bits).toBe(16);
    // each entry is 1/DQ_b(q) at the table's scale (where that fits; larger ones saturate)
    let worst = 0;
    for (let j = 0; j < recip.table.length; j++) {
      const b = (recip.inputMin + j - bs.zeroPoint!) * bs.scale!;
      const want = 1 / b / rs.scale!;
      if (Math.abs(want) < 32767) worst = Math.max(worst, Math.abs(recip.table[j]! - want));
      else expect(Math.abs(recip.table[j]!)).toBe(32767);
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(worstSteps).toBeLessThanOrEqual(2);
    // the C back end (the HLS back end prints the same C text) on random, full-range and saturating feeds
    if (HAVE_GCC) {
      const t = tallyC(p, tmp.dir, allFeeds(p, 2), "-O1 -Wconversion -Wsign-conversion");
      expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
      expect(t.compared).toBeGreaterThan(0);
    }
  }, 60_000);
});
