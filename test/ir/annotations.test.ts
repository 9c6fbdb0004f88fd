/**
 * GraphProto.quantization_annotation (field 14) through the IR: read as a
 * map, written back in ONNX's own TensorAnnotation form, kept byte for byte
 * by a load/save round trip, and pruned of tensors that no longer exist.
 */
import { describe, expect, it } from "vitest";
import { pruneQuantAnnotations, quantAnnotations, withQuantAnnotations } from "../../src/ir/annotations.js";
import type { ProtoMessage } from "../../src/ir/onnx/codec.js";
import { decodeModel, decodeModelProto } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { graph, model, node, value } from "./builders.js";

const g0 = graph([node("Relu", ["x"], ["y"], [], "relu"), node("Add", ["y", "c"], ["z"], [], "add")], [value("x", 1, [1, 2])], [value("z", 1, [1, 2])], [makeFloatTensor("c", [2], [1, 2])]);

describe("quantization_annotation", () => {
  it("is written as TensorAnnotation entries and read back through the file", () => {
    const entries = new Map([
      ["y", new Map([["fixq_format", "int3"], ["finn_datatype", "INT3"]])],
      ["c", new Map([["other_tool", "x"]])],
    ]);
    const bytes = encodeModel(model(withQuantAnnotations(g0, entries)));
    const proto = decodeModelProto(bytes) as { graph: { quantization_annotation: ProtoMessage[] } };
    expect(proto.graph.quantization_annotation).toEqual([
      { tensor_name: "y", quant_parameter_tensor_names: [{ key: "fixq_format", value: "int3" }, { key: "finn_datatype", value: "INT3" }] },
      { tensor_name: "c", quant_parameter_tensor_names: [{ key: "other_tool", value: "x" }] },
    ]);
    const back = decodeModel(bytes);
    expect(quantAnnotations(back.graph!)).toEqual(entries);
    expect(Buffer.from(encodeModel(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("merges a tensor annotated twice (later wins) and drops the field when emptied", () => {
    const twice = { ...g0, extra: { quantization_annotation: [
      { tensor_name: "y", quant_parameter_tensor_names: [{ key: "k", value: "1" }, { key: "a", value: "x" }] },
      { tensor_name: "y", quant_parameter_tensor_names: [{ key: "k", value: "2" }] },
    ] } };
    expect(quantAnnotations(twice).get("y")).toEqual(new Map([["k", "2"], ["a", "x"]]));
    expect(withQuantAnnotations(twice, new Map()).extra).toBeUndefined();
  });

  it("pruning drops annotations of missing tensors and the given keys of the given tensors, keeping the rest", () => {
    const g = withQuantAnnotations(g0, new Map([
      ["gone", new Map([["fixq_format", "int8"]])],
      ["y", new Map([["fixq_format", "int8"], ["other_tool", "keep"]])],
      ["z", new Map([["fixq_format", "uint8"]])],
    ]));
    const pruned = pruneQuantAnnotations(g, new Set(["y", "z"]), ["fixq_format"]);
    expect(quantAnnotations(pruned)).toEqual(new Map([["y", new Map([["other_tool", "keep"]])]]));
    expect(pruneQuantAnnotations(g0, new Set(), [])).toBe(g0);
  });
});
