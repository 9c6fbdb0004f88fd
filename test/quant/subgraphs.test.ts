/**
 * The reason given for a model with nothing to quantize: a model already in
 * ONNX's integer operator form (QLinearConv, MatMulInteger, …) is named as
 * such, with the node, instead of only listing the float ops it lacks.
 */
import { describe, expect, it } from "vitest";
import { noQuantizableOpReason } from "../../src/quant/subgraphs.js";
import { graph, node, value } from "../ir/builders.js";

describe("noQuantizableOpReason", () => {
  it("names a QOperator model's first integer op and points to the float original", () => {
    const g = graph([node("MatMulInteger", ["a", "b"], ["y"], [], "mmi")], [value("a", 2, [2, 3]), value("b", 2, [3, 4])], [value("y", 6, [2, 4])]);
    expect(noQuantizableOpReason(g)).toBe(
      "the model has no quantizable op (Conv, ConvTranspose, Gemm, MatMul, or a Gather of a constant float32 table [rows, width]): it is already quantized in operator form (MatMulInteger 'mmi'); fixq reads QuantizeLinear/DequantizeLinear (QDQ) models, so quantize the float original",
    );
  });

  it("says only what is missing for a float model without compute ops", () => {
    const g = graph([node("Relu", ["x"], ["y"])], [value("x", 1, [2])], [value("y", 1, [2])]);
    expect(noQuantizableOpReason(g)).toBe("the model has no quantizable op (Conv, ConvTranspose, Gemm, MatMul, or a Gather of a constant float32 table [rows, width])");
  });
});
