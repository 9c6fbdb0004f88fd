import { describe, expect, it } from "vitest";
import { FixqError } from "../../src/ir/errors.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { graph, model, node, value } from "../ir/builders.js";

const m = model(
  graph(
    [node("MatMul", ["x", "w"], ["h"], [], "mm"), node("Relu", ["h"], ["r"], [], "relu"), node("Neg", ["r"], ["y"], [], "neg")],
    [value("x", 1, ["N", 2])],
    [value("y", 1, ["N", 2])],
    [makeFloatTensor("w", [2, 2], [1, -1, 2, 0.5])],
  ),
);

describe("OrtSession", () => {
  it("exposes intermediate values and runs batches", async () => {
    const s = await OrtSession.create(m, { threads: 1, optimization: "disabled", extraOutputs: ["h"] });
    expect(s.outputNames).toEqual(["y", "h"]);
    const x = Float32Array.from([1, 2, -1, 0, 3, 3]);
    const seen: number[][] = [];
    await s.runBatches({ x: { dtype: 1, dims: [3, 2], data: x } }, 2, (out, start, count) => {
      expect(out["h"]!.dims).toEqual([count, 2]);
      seen.push([start, count, ...Array.from(out["y"]!.data as Float32Array)]);
    });
    // h = x @ w; y = -relu(h)
    expect(seen).toEqual([
      [0, 2, -5, -0, -0, -1],
      [2, 1, -9, -0],
    ]);
    await s.release();
  });

  it("names the node when ORT refuses a model", async () => {
    const bad = model(graph([node("Conv", ["x", "x"], ["y"], [], "bad_conv")], [value("x", 1, [1, 2])], [value("y")]));
    let err: unknown;
    try {
      await OrtSession.create(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FixqError);
    expect((err as FixqError).code).toBe("runtime");
    expect((err as FixqError).message).toMatch(/bad_conv/);
  });
});
