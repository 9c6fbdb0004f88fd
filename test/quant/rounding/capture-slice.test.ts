/**
 * The capture slice of learned rounding on the bundled CNN: only the nodes
 * upstream of the fetched values stay, and ONNX Runtime computes the same
 * values from the slice as from the whole model (bit for bit); fetching the
 * graph input keeps no node at all.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { OrtSession } from "../../../src/runtime/ort-session.js";
import { upstreamSlice } from "../../../src/quant/rounding/capture-slice.js";
import { evalImages } from "../../passes/float-helpers.js";

const cnn = loadModel(join(MODELS_DIR, "cnn.onnx"));
const g = cnn.graph!;
const input = g.inputs[0]!.name;

describe("capture slice", () => {
  it("keeps the nodes upstream of the fetched values, which ORT computes as in the whole model", async () => {
    const conv2 = g.nodes.find((n) => n.name === "/features/features.3/Conv")!;
    const fetch = [conv2.inputs[0]!];
    const slice = upstreamSlice(g, fetch);
    // Conv, ReLU, MaxPool before the second conv; nothing after it.
    expect(slice.nodes.map((n) => n.opType)).toEqual(["Conv", "Relu", "MaxPool"]);
    expect(slice.outputs.map((o) => o.name)).toEqual(fetch);
    expect(slice.initializers.length).toBeLessThan(g.initializers.length);
    const feed = { [input]: evalImages(8) };
    const whole = await OrtSession.create(cnn, { optimization: "disabled", threads: 1, extraOutputs: fetch });
    const part = await OrtSession.create({ ...cnn, graph: slice }, { optimization: "disabled", threads: 1 });
    try {
      const a = (await whole.run(feed, fetch))[fetch[0]!]!;
      const b = (await part.run(feed, fetch))[fetch[0]!]!;
      expect(b.dims).toEqual(a.dims);
      expect(Buffer.from((b.data as Float32Array).buffer).equals(Buffer.from((a.data as Float32Array).buffer))).toBe(true);
    } finally {
      await whole.release();
      await part.release();
    }
  });

  it("keeps no node when the graph input is what is fetched, and ORT still returns it", async () => {
    const slice = upstreamSlice(g, [input]);
    expect(slice.nodes).toEqual([]);
    const s = await OrtSession.create({ ...cnn, graph: slice }, { optimization: "disabled", threads: 1 });
    try {
      const x = evalImages(2);
      expect(Array.from((await s.run({ [input]: x }, [input]))[input]!.data as Float32Array)).toEqual(Array.from(x.data as Float32Array));
    } finally {
      await s.release();
    }
  });
});
