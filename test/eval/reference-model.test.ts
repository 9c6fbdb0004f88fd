/**
 * eval/reference-model.ts: REF as quantize prepared it. A torch-0.3-style
 * export (IR 3, opset 6, initializers also graph inputs, Gemm with
 * broadcast = 1), which ONNX Runtime has no Gemm-6 kernel for, is upgraded to
 * CAND's opset and loses its initializer inputs; it then runs in ONNX Runtime
 * and computes x·Wᵀ + b (checked against the sum computed here). Through the
 * CLI, `fixq eval REF CAND --data` on the quantized model exits 0 (it failed
 * on REF before).
 */
import { afterAll, describe, expect, it } from "vitest";
import { writeNpy } from "../../src/io/npy.js";
import { type Model, opsetVersion } from "../../src/ir/graph.js";
import { saveModel } from "../../src/ir/onnx/save.js";
import { tensorToFloat64 } from "../../src/ir/tensor.js";
import { referenceLikeCandidate } from "../../src/eval/reference-model.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { tempDir } from "../helpers/c-toolchain.js";
import { fixq } from "../helpers/fixq-cli.js";
import { Rng } from "../helpers/prng.js";
import { floatVector, graph, int, node, randomWeight, value } from "../ir/builders.js";

const tmp = tempDir("fixq-eval-ref-");
afterAll(tmp.remove);
const rng = new Rng(6);
const w = randomWeight(rng, "W", [4, 10]);
const b = floatVector("B", [0.5, -0.25, 0.125, 1]);

/** y = Gemm-6(x, W, B), transB = 1, broadcast = 1, IR 3 with W and B listed as graph inputs. */
function opset6Linear(): Model {
  const g = graph([node("Gemm", ["x", "W", "B"], ["y"], [int("transB", 1), int("broadcast", 1)])], [value("x", 1, [8, 10]), value("W", 1, [4, 10]), value("B", 1, [4])], [value("y", 1, [8, 4])], [w, b]);
  return { irVersion: 3, opsets: [{ domain: "", version: 6 }], graph: g, functions: [] };
}

const x = Float32Array.from({ length: 8 * 10 }, () => rng.float() * 2 - 1);

describe("REF prepared like CAND", () => {
  it("an opset-6 IR-3 Gemm is upgraded to CAND's opset, keeps only its data input, and runs in ONNX Runtime", async () => {
    const cand: Model = { irVersion: 8, opsets: [{ domain: "", version: 13 }], graph: graph([], [], []), functions: [] };
    const ref = referenceLikeCandidate(opset6Linear(), cand);
    expect(opsetVersion(ref)).toBe(13);
    expect(ref.graph!.inputs.map((v) => v.name)).toEqual(["x"]);
    const s = await OrtSession.create(ref, { threads: 1 });
    const y = (await s.run({ x: { dtype: 1, dims: [8, 10], data: x } }).finally(() => s.release()))["y"]!.data as Float32Array;
    const [wv, bv] = [tensorToFloat64(w), tensorToFloat64(b)];
    let worst = 0;
    for (let i = 0; i < 8; i++) {
      for (let o = 0; o < 4; o++) {
        let acc = bv[o]!;
        for (let k = 0; k < 10; k++) acc += x[i * 10 + k]! * wv[o * 10 + k]!;
        worst = Math.max(worst, Math.abs(acc - y[i * 4 + o]!));
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it("a REF already at CAND's opset or above is left at its opset", () => {
    const cand: Model = { irVersion: 3, opsets: [{ domain: "", version: 6 }], graph: graph([], [], []), functions: [] };
    expect(opsetVersion(referenceLikeCandidate(opset6Linear(), cand))).toBe(6);
  });

  it("fixq eval on the quantized opset-6 model runs REF (exit 0)", async () => {
    const d = tmp.fresh();
    const ref = `${d}/linear6.onnx`;
    saveModel(opset6Linear(), ref);
    writeNpy(`${d}/x.npy`, { dtype: "f4", shape: [8, 10], data: x });
    const { model: q } = await quantizeModel(opset6Linear(), arraySource({ x: { dtype: 1, dims: [8, 10], data: x } }), buildRecipe({}), { threads: 1 });
    saveModel(q, `${d}/q.onnx`);
    const r = fixq("eval", ref, `${d}/q.onnx`, "--data", `${d}/x.npy`, "--min-sqnr", "20");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/PASS {2}SQNR/);
  }, 60_000);
});
