/**
 * How --measure-latency attributes ORT's profiled kernels to layers: which
 * quantized-graph nodes belong to a layer, and the per-layer median over the
 * timed runs of a hand-written profile trace (expected values worked out by
 * hand below).
 */
import { describe, expect, it } from "vitest";
import type { Graph, Node } from "../../../src/ir/graph.js";
import { attributeNodes, latenciesFromProfile } from "../../../src/quant/mixed/measure-latency.js";

const node = (name: string, opType: string, inputs: string[], outputs: string[]): Node => ({ name, opType, inputs, outputs, attributes: [] });

describe("attributeNodes", () => {
  it("gives a layer its weight/bias/activation DequantizeLinears and the activation and QuantizeLinear after it, nothing else", () => {
    const g = {
      nodes: [
        node("x_q", "QuantizeLinear", ["x", "s", "z"], ["xq"]),
        node("x_dq", "DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        node("w_dq", "DequantizeLinear", ["w", "ws"], ["wd"]),
        node("b_dq", "DequantizeLinear", ["b", "bs"], ["bd"]),
        node("conv", "Conv", ["xd", "wd", "bd"], ["c"]),
        node("relu", "Relu", ["c"], ["r"]),
        node("r_q", "QuantizeLinear", ["r", "s", "z"], ["rq"]),
        node("r_dq", "DequantizeLinear", ["rq", "s", "z"], ["rd"]),
        node("pool", "MaxPool", ["rd"], ["p"]),
      ],
    } as unknown as Graph;
    const owner = attributeNodes(g, ["conv", "missing"]);
    expect(Object.fromEntries(owner)).toEqual({ conv: "conv", x_dq: "conv", w_dq: "conv", b_dq: "conv", relu: "conv", r_q: "conv" });
  });
});

describe("latenciesFromProfile", () => {
  const run = (ts: number, dur: number) => ({ cat: "Session", name: "model_run", ts, dur });
  const k = (name: string, ts: number, dur: number) => ({ cat: "Node", name: `${name}_kernel_time`, ts, dur });
  it("skips the warm-up runs, sums each run's kernels per layer (fused <layer>_token_N names too) and keeps the median, in ms", () => {
    const events = [
      run(0, 100), // warm-up: ignored
      k("a", 10, 9000),
      run(1000, 100),
      k("a", 1010, 100),
      k("w_dq", 1020, 20), // owned by a
      k("/b/Conv_token_3", 1030, 50),
      k("input_q", 1040, 7),
      run(2000, 100),
      k("a", 2010, 300),
      k("/b/Conv_token_3", 2030, 70),
      k("input_q", 2040, 9),
      run(3000, 100),
      k("a", 3010, 200),
      k("w_dq", 3020, 10),
      k("/b/Conv_token_3", 3030, 60),
      k("input_q", 3040, 8),
      { cat: "Node", name: "a_fence_before", ts: 3050, dur: 999 }, // not a kernel time
    ];
    const owner = new Map([["a", "a"], ["w_dq", "a"]]);
    const t = latenciesFromProfile(events, owner, ["a", "/b/Conv", "/b"], 1);
    // a: runs 120, 300, 210 µs → median 210 µs; /b/Conv (longest prefix, not /b): 50, 70, 60 → 60; rest 7, 9, 8 → 8.
    expect(Object.fromEntries(t.layers)).toEqual({ a: 0.21, "/b/Conv": 0.06, "/b": 0 });
    expect(t.unattributed).toBeCloseTo(0.008, 12);
  });
  it("refuses a trace without timed runs", () => {
    expect(() => latenciesFromProfile([run(0, 10)], new Map(), ["a"], 1)).toThrow(/no timed run/);
  });
});
