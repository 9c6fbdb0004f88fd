/**
 * Body values carried out for calibration (src/quant/body-hoist.ts): the
 * exposed outputs hold exactly what the body computed, and nothing for an If
 * branch not taken; a Loop value comes out once per iteration.
 */
import { describe, expect, it } from "vitest";
import { DataType } from "../../src/ir/dtype.js";
import type { Graph, Model } from "../../src/ir/graph.js";
import { hoistBodyValues } from "../../src/quant/body-hoist.js";
import { type HostTensor, OrtSession, sliceBatch } from "../../src/runtime/ort-session.js";
import { ifModel, loopModel, shiftedSamples } from "../helpers/subgraph-models.js";
import { Rng } from "../helpers/prng.js";

const bodyOf = (m: Model, attr: string): Graph => m.graph!.nodes.flatMap((n) => n.attributes).find((a) => a.name === attr)!.g!;

async function runAll(m: Model, feeds: Record<string, HostTensor>, extraOutputs: Iterable<string>): Promise<Record<string, HostTensor>> {
  const s = await OrtSession.create(m, { threads: 1, optimization: "disabled", extraOutputs: [...extraOutputs] });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

describe("hoistBodyValues", () => {
  it("If: the taken branch's value comes out whole, the other branch's empty", async () => {
    const m = ifModel();
    const wanted = new Map([
      [bodyOf(m, "then_branch"), [{ value: "t1", dtype: DataType.FLOAT }]],
      [bodyOf(m, "else_branch"), [{ value: "e1", dtype: DataType.FLOAT }]],
    ]);
    const { model, exposed } = hoistBodyValues(m, wanted);
    const name = (v: string) => [...exposed].find(([, o]) => o.value === v)![0];
    const x = shiftedSamples(3, 2, [2, 6, 6], 0.5);
    const positive = await runAll(model, { X: sliceBatch(x, 0, 1) }, exposed.keys());
    const t1 = positive[name("t1")]!.data as Float32Array;
    expect(positive[name("e1")]!.data.length).toBe(0);
    // Y = Relu(t1) on the then branch: an independent check of what came out.
    expect(Array.from(t1, (v) => Math.max(0, v))).toEqual(Array.from(positive["Y"]!.data as Float32Array));
    const negative = await runAll(model, { X: sliceBatch(x, 1, 1) }, exposed.keys());
    expect(negative[name("t1")]!.data.length).toBe(0);
    expect(Array.from(negative[name("e1")]!.data as Float32Array, (v) => Math.fround(v * 0.5))).toEqual(Array.from(negative["Y"]!.data as Float32Array));
  });

  it("Loop: a body value comes out stacked over the iterations, the last one the loop's result", async () => {
    const m = loopModel();
    const { model, exposed } = hoistBodyValues(m, new Map([[bodyOf(m, "body"), [{ value: "h2", dtype: DataType.FLOAT }]]]));
    const rng = new Rng(4);
    const out = await runAll(model, { X: { dtype: DataType.FLOAT, dims: [2, 4], data: Float32Array.from({ length: 8 }, () => rng.float() * 2 - 1) } }, exposed.keys());
    const h2 = out[[...exposed.keys()][0]!]!;
    expect(h2.dims).toEqual([3, 2, 4]);
    expect(Array.from((h2.data as Float32Array).subarray(16))).toEqual(Array.from(out["Y"]!.data as Float32Array));
  });
});
