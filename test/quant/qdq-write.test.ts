/**
 * The QDQ writer on a weight that is also declared as a graph input (IR < 4
 * exports list every initializer as an input): writing the weight as integer
 * codes takes its graph input with it, so the QDQ model asks for its data
 * input only and ONNX Runtime runs it on that alone.
 */
import { describe, expect, it } from "vitest";
import { intFormat, type QuantSpec } from "../../src/ir/quant.js";
import { writeQdq } from "../../src/quant/qdq-write.js";
import { graph, model, node, value } from "../ir/builders.js";
import { run, tensor } from "../passes/float-helpers.js";

const u8 = intFormat("uint8");
const s8 = intFormat("int8");
const act = (scale: number, zp: number): QuantSpec => ({ kind: "affine", format: u8, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(zp) });

describe("writeQdq on a weight declared as a graph input", () => {
  it("drops that input with the float weight; ORT runs the model on x alone", async () => {
    const g = graph(
      [node("Gemm", ["x", "W", "B"], ["y"], [], "fc")],
      [value("x", 1, ["n", 2]), value("W", 1, [2, 2]), value("B", 1, [2])],
      [value("y", 1, ["n", 2])],
      [tensor("W", [2, 2], [0.5, -0.25, 0.75, 0.75]), tensor("B", [2], [0.1, -0.2])],
    );
    const quant = new Map<string, QuantSpec>([
      ["x", act(1 / 64, 0)],
      ["W", { kind: "affine", format: s8, scale: Float32Array.of(1 / 128), zeroPoint: Int32Array.of(0) }],
      ["y", act(1 / 32, 128)],
    ]);
    const out = writeQdq({ ...g, quant });
    // B stays a float initializer and an (overridable) input; W is now integer codes
    expect(out.inputs.map((v) => v.name)).toEqual(["x", "B"]);
    expect(out.initializers.some((t) => t.name === "W")).toBe(false);
    const x = { dtype: 1, dims: [2, 2], data: Float32Array.of(0.5, 1, 0.25, 0) };
    const y = await run(model(out), { x });
    // y = x·W + b (W and x exact on their grids), rounded to steps of 1/32:
    // [0.5·0.5 + 0.75 + 0.1, 0.5·(−0.25) + 0.75 − 0.2] = [1.1, 0.425] → [35, 13.6 → 14]/32; [0.225, −0.2625] → [7, −8.4 → −8]/32
    expect(Array.from(y["y"]!)).toEqual([35 / 32, 14 / 32, 7 / 32, -8 / 32]);
  });
});
