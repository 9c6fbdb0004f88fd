/**
 * A ViT-style export (test/fixtures/causal/vit-tiny.onnx,
 * scripts/make_causal_fixtures.py) joins its cls token to the patch tokens as
 * Concat(Expand(cls, [N, 1, D]), patches), the expansion computed from
 * Shape/Equal/Where. Integerized per sample, the Expand folds to the cls
 * constant and the Concat takes it as a constant operand at its output spec:
 * the cls row equals the QDQ model's in ONNX Runtime exactly, the emulator
 * agrees with the QDQ model, and the integer-only ONNX equals it bit for bit.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import type { Program } from "../../src/integer/program.js";
import { DataType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { VIT, vitFeeds as feeds, vitImages as images, vitProgram } from "../helpers/causal-fixture.js";
import { compareOutputs } from "../helpers/corpus.js";

const [N, TOKENS, D] = [12, VIT.tokens, VIT.width];
/** The Concat's output in the QDQ model (its DequantizeLinear), made a graph output too. */
const JOINED = "/Concat_2_output_0";

async function ortRun(model: Model, x: Float32Array, n: number): Promise<Record<string, Float32Array>> {
  const session = await OrtSession.create(model, { optimization: "disabled", threads: 1 });
  try {
    const r = await session.run(feeds(x, n));
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

describe("ViT cls token", () => {
  let qdq: Model;
  let p: Program;
  const x = images(N, 5);
  beforeAll(async () => {
    ({ qdq, program: p } = await vitProgram((m) => {
      const g = m.graph!;
      expect(g.nodes.some((n) => n.opType === "DequantizeLinear" && n.outputs[0] === JOINED)).toBe(true);
      return { ...m, graph: { ...g, outputs: [...g.outputs, { name: JOINED, type: { tensor_type: { elem_type: DataType.FLOAT } } }] } };
    }));
  }, 120_000);

  it("joins the cls token as a constant: its row equals the QDQ model's exactly", async () => {
    const concat = p.ops.find((op) => op.kind === "concat")!;
    expect(concat.kind === "concat" && p.ops.find((op) => op.output === concat.inputs[0])?.kind).toBe("addconst");
    const emu = runProgram(p, new Map([["pixel_values", x]]), N).outputs.get(JOINED)!;
    const ort = (await ortRun(qdq, x, N))[JOINED]!;
    const cls = (y: Float32Array) => y.filter((_, i) => i % (TOKENS * D) < D);
    expect(cls(emu)).toEqual(cls(ort));
    // the same row in every sample, and not all one code
    expect(new Set(cls(emu)).size).toBeGreaterThan(4);
    expect(cls(emu).slice(D, 2 * D)).toEqual(cls(emu).slice(0, D));
  });

  it("the emulator agrees with the QDQ model; the integer-only ONNX equals it bit for bit", async () => {
    const emu = runProgram(p, new Map([["pixel_values", x]]), N);
    const fq = (await ortRun(qdq, x, N))["out"]!;
    const c = compareOutputs({ dtype: 1, dims: [N, 10], data: fq }, { dtype: 1, dims: [N, 10], data: emu.outputs.get("out")! });
    // measured: every output identical on these 12 samples (∞ dB)
    expect(c.sqnrDb).toBeGreaterThan(40);
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(new Map([["pixel_values", x]]), N).finally(() => runner.release());
    const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, ["out", JOINED]);
    expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });
  }, 120_000);
});
