/**
 * The load check before writing: a model ONNX Runtime refuses fails with one
 * line naming the node and ORT's reason; formats ORT 1.30 cannot run are not
 * checked and say why.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import { FixqError } from "../../src/ir/errors.js";
import type { Model } from "../../src/ir/graph.js";
import { makeFloatTensor, type Tensor } from "../../src/ir/tensor.js";
import { loadCheckLine, unverifiableReason, verifyLoad } from "../../src/runtime/verify-load.js";
import { graph, model, node, value } from "../ir/builders.js";

const relu = (): Model => model(graph([node("Relu", ["x"], ["y"], [], "relu")], [value("x", DataType.FLOAT, [2])], [value("y", DataType.FLOAT, [2])]));

/** QuantizeLinear on an int64 value: what fixq used to write for shape arithmetic, and ORT refuses. */
function quantizeInt64(): Model {
  const scale = makeFloatTensor("s", [], [0.1]);
  const zp: Tensor = { name: "zp", dtype: DataType.UINT8, dims: [], raw: Uint8Array.of(0) };
  return model(
    graph(
      [node("Shape", ["x"], ["shape"], [], "shape"), node("QuantizeLinear", ["shape", "s", "zp"], ["q"], [], "shape_Q"), node("DequantizeLinear", ["q", "s", "zp"], ["y"], [], "shape_DQ")],
      [value("x", DataType.FLOAT, [2, 3])],
      [value("y", DataType.FLOAT, [2])],
      [scale, zp],
    ),
    13,
  );
}

describe("verifyLoad", () => {
  it("opens a valid model at the requested level and says so", async () => {
    const c = await verifyLoad(relu(), "out.onnx");
    expect(c).toEqual({ checked: true, optimization: "all" });
    expect(loadCheckLine(c)).toBe("ONNX Runtime loads it (graph optimizations all)");
    expect(await verifyLoad(relu(), "out.onnx", "basic")).toEqual({ checked: true, optimization: "basic" });
  });

  it("turns a refusal into one line naming the output, the node and ORT's reason", async () => {
    const err = await verifyLoad(quantizeInt64(), "out.onnx").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FixqError);
    const msg = (err as Error).message;
    expect(msg).not.toContain("\n");
    expect(msg).toMatch(/^out\.onnx: nothing written: ONNX Runtime cannot load the model/);
    expect(msg).toContain("shape_Q");
    expect(msg).toContain("tensor(int64)");
  });

  it("skips, with the reason, IR versions above 13 and element types ORT 1.30 has no kernels for", async () => {
    const newer = { ...relu(), irVersion: 14 };
    expect(unverifiableReason(newer)).toMatch(/IR version 14 .* \(13\)/);
    const c = await verifyLoad(newer, "out.onnx");
    expect(c.checked).toBe(false);
    expect(loadCheckLine(c)).toMatch(/^not opened in ONNX Runtime before writing: IR version 14/);
    for (const dtype of [DataType.FLOAT4E2M1, DataType.FLOAT8E8M0]) {
      const m = relu();
      const t = { name: "unused", dtype, dims: [2], raw: new Uint8Array(2) };
      const withType: Model = { ...m, graph: { ...m.graph!, initializers: [t] } };
      expect(unverifiableReason(withType)).toMatch(/no kernels for (fp4e2m1|fp8e8m0) tensors/);
    }
    expect(unverifiableReason(relu())).toBeUndefined();
  });
});
