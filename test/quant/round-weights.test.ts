/**
 * Weight codes are first-class: the rounding stage chooses the integer code of
 * every weight, and the writer writes exactly those codes (it never rounds).
 * A stage inserted after `round-weights` that moves every code by ±1 must show
 * up exactly in the written file and in the integer program the emulator runs.
 */
import { describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { DenseOp } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import type { AffineQuant } from "../../src/ir/quant.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { nearestCodes } from "../../src/quant/round-weights.js";
import type { Stage } from "../../src/quant/stage.js";
import { Rng } from "../helpers/prng.js";
import { graph, int, model, node, value } from "../ir/builders.js";
import { tensor } from "../passes/float-helpers.js";

const rng = new Rng(12);
const [K, N, S] = [8, 4, 64];
const w = Array.from({ length: N * K }, () => rng.float() * 2 - 1);
const floatModel = (): Model =>
  model(graph([node("Gemm", ["x", "w", "b"], ["y"], [int("transB", 1)], "fc")], [value("x", 1, ["n", K])], [value("y", 1, ["n", N])], [tensor("w", [N, K], w), tensor("b", [N], [0.1, -0.2, 0.3, 0])]), 17);
const x = Float32Array.from({ length: S * K }, () => rng.float());
const source = () => arraySource({ x: { dtype: 1, dims: [S, K], data: x } });

/** +1 on even elements, −1 on odd ones, turned back inside [qmin, qmax]. */
function flip(codes: Int32Array, qmin: number, qmax: number): Int32Array {
  return codes.map((q, i) => {
    const d = i % 2 === 0 ? 1 : -1;
    return q + d > qmax || q + d < qmin ? q - d : q + d;
  });
}

const flipStage: Stage = {
  name: "flip-codes",
  reason: "test",
  run(state) {
    const spec = state.specified!.quant!.get("w") as AffineQuant;
    state.codes!.set("w", flip(state.codes!.get("w")!, spec.format.qmin, spec.format.qmax));
    return {};
  },
};
const afterRounding = (stages: Stage[]) => stages.flatMap((s) => (s.name === "round-weights" ? [s, flipStage] : [s]));

async function quantize(edit?: (s: Stage[]) => Stage[]) {
  return quantizeModel(floatModel(), source(), buildRecipe({}), { threads: 1, stages: edit });
}

/** The int8 codes the written file stores for `w`, as numbers. */
function writtenCodes(m: Model): number[] {
  const t = m.graph!.initializers.find((i) => i.name === "w__quantized")!;
  return Array.from(tensorToFloat64(t));
}

describe("the writer writes the chosen codes", () => {
  it("nearest rounding: the file holds QuantizeLinear(w) under the weight's spec", async () => {
    const q = await quantize();
    const stored = writtenCodes(q.model);
    const scale = tensorToFloat64(q.model.graph!.initializers.find((i) => i.name === "w__scale")!);
    const even = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
    const ref = w.map((v, i) => Math.max(-64, Math.min(64, even(Math.fround(v / scale[Math.floor(i / K)]!)))));
    expect(stored).toEqual(ref);
  });

  it("a stage that moves every code by ±1 shows up exactly in the file and in the emulator's program", async () => {
    const plain = await quantize();
    const flipped = await quantize(afterRounding);
    expect(flipped.stages.map((s) => s.name)).toContain("flip-codes");
    const before = writtenCodes(plain.model);
    const after = writtenCodes(flipped.model);
    expect(after).toEqual(Array.from(flip(Int32Array.from(before), -64, 64)));
    expect(after.every((q, i) => Math.abs(q - before[i]!) === 1)).toBe(true);
    // Scales and everything else are unchanged: only the codes moved.
    const rest = (m: Model) => m.graph!.initializers.filter((i) => i.name !== "w__quantized");
    expect(rest(flipped.model)).toEqual(rest(plain.model));

    const p0 = integerizeModel(plain.model);
    const p1 = integerizeModel(flipped.model);
    const dense = (p: typeof p0) => p.ops.find((o): o is DenseOp => o.kind === "dense")!;
    expect(Array.from(dense(p1).weight)).toEqual(after);
    expect(Array.from(dense(p0).weight)).toEqual(before);
    const y0 = runProgram(p0, new Map([["x", x]]), S).outputs.get("y")!;
    const y1 = runProgram(p1, new Map([["x", x]]), S).outputs.get("y")!;
    expect(y1).not.toEqual(y0);
  });

  it("nearestCodes is QuantizeLinear's rounding (round half to even, saturating)", () => {
    const spec: AffineQuant = { kind: "affine", format: { dtype: 3, bits: 8, signed: true, qmin: -127, qmax: 127 }, scale: Float32Array.of(0.5), zeroPoint: Int32Array.of(0) };
    expect(Array.from(nearestCodes(tensor("t", [6], [0.25, 0.75, -0.25, 1.25, 100, -100]), spec))).toEqual([0, 2, 0, 2, 127, -127]);
  });
});
