import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FixqError } from "../../src/ir/errors.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { OrtSession, runtimeError } from "../../src/runtime/ort-session.js";
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

describe("runtimeError", () => {
  it("names the node of ORT's missing-kernel message, or its op when it has no name (not the word after 'node')", () => {
    const msg = (name: string) => new Error(`Could not find an implementation for Gemm(6) node with name '${name}'`);
    expect(runtimeError(msg(""), "refused the model").message).toMatch(/^an unnamed Gemm node: onnxruntime refused the model: Could not find/);
    expect(runtimeError(msg("fc/Gemm"), "refused the model").message).toMatch(/^node 'fc\/Gemm': onnxruntime refused/);
  });
});

describe("a run ORT fails", () => {
  it("is one line naming the node, and ORT's own log stays off stderr (token ids past the embedding table)", () => {
    // A child process: ORT's log is written by native code to file descriptor 2, which this process cannot capture.
    const script = `
      import { OrtSession } from "./src/runtime/ort-session.ts";
      import { graph, model, node, value } from "./test/ir/builders.ts";
      import { makeFloatTensor } from "./src/ir/tensor.ts";
      const g = graph([node("Gather", ["table", "ids"], ["y"], [], "/we/Gather")], [value("ids", 7, ["N", 2])], [value("y")], [makeFloatTensor("table", [3, 2], [1, 2, 3, 4, 5, 6])]);
      const s = await OrtSession.create(model(g));
      try {
        await s.run({ ids: { dtype: 7, dims: [1, 2], data: BigInt64Array.from([0n, 7n]) } });
      } catch (e) {
        console.log(e.message);
      }`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stdout).toMatch(/^node '\/we\/Gather': onnxruntime failed to run: .*indices element out of data bounds, idx=7/);
  });
});

describe("probeTypes", () => {
  it("types values no static rule covers by running the model, keeping only size-independent dims", async () => {
    const { probeTypes } = await import("../../src/runtime/probe-types.js");
    // TopK has no static rule here: its outputs must come from the probe.
    const k = { name: "k", dtype: 7, dims: [1], raw: new Uint8Array(new BigInt64Array([1n]).buffer) };
    const g = graph([node("TopK", ["x", "k"], ["v", "i"], [], "topk"), node("Neg", ["v"], ["y"])], [value("x", 1, ["N", 4])], [value("y")], [k]);
    const types = await probeTypes(model(g));
    expect(types.get("v")).toEqual({ dtype: 1, shape: [undefined, 1] });
    expect(types.get("i")).toEqual({ dtype: 7, shape: [undefined, 1] });
  });
});
