/**
 * A GPT-2-style decoder export (test/fixtures/causal/gpt2-tiny.onnx,
 * scripts/make_causal_fixtures.py) masks its attention scores with the causal
 * buffer: Where(Equal(Slice(tril, :T, :T), 0), −inf, S) → Softmax.
 * - quantize keeps the Where float (no Q/DQ on −inf) and quantizes the scores,
 *   so the QDQ model in ONNX Runtime gives future keys probability 0;
 * - with the sequence pinned (`--input-shape input_ids=1x8`) the condition
 *   folds to a constant and the Softmax lowers to the key-masked integer
 *   Softmax: the emulator agrees with the QDQ model, the integer-only ONNX
 *   equals it bit for bit, and changing a token leaves every earlier
 *   position's integer output identical.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import type { Program } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { GPT2, gpt2Feeds as feeds, gpt2Program, gpt2Tokens as tokens } from "../helpers/causal-fixture.js";
import { compareOutputs } from "../helpers/corpus.js";

const [V, T, N] = [GPT2.vocab, GPT2.seq, 12];

async function ortRun(model: Model, ids: Float32Array, n: number): Promise<Float32Array> {
  const session = await OrtSession.create(model, { optimization: "disabled", threads: 1 });
  try {
    return (await session.run(feeds(ids, n)))["out"]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Sample `ids` with the token at position `at` of every sample changed. */
const changedAt = (ids: Float32Array, at: number) => ids.map((v, i) => (i % T === at ? (v + 7) % V : v));
/** The outputs of the positions before `at` (rows of V per position), and of the others. */
const earlier = (y: Float32Array, at: number) => y.filter((_, i) => Math.floor(i / V) % T < at);
const fromOn = (y: Float32Array, at: number) => y.filter((_, i) => Math.floor(i / V) % T >= at);

describe("GPT-2 causal mask", () => {
  let float: Model;
  let qdq: Model;
  let p: Program;
  const ids = tokens(N, 3);
  beforeAll(async () => {
    ({ float, qdq, program: p } = await gpt2Program());
  }, 120_000);

  it("quantize keeps the Where float; the QDQ model is close to float and causal in ONNX Runtime", async () => {
    const ops = qdq.graph!.nodes;
    const wheres = ops.filter((n) => n.opType === "Where");
    expect(wheres).toHaveLength(2);
    for (const w of wheres) expect(ops.some((n) => n.opType === "QuantizeLinear" && n.inputs[0] === w.outputs[0])).toBe(false);
    const fl = await ortRun(float, ids, N);
    const fq = await ortRun(qdq, ids, N);
    const c = compareOutputs({ dtype: 1, dims: [N, T, V], data: fl }, { dtype: 1, dims: [N, T, V], data: fq });
    // measured 32.7 dB over 12 samples of 8 tokens
    expect(c.sqnrDb).toBeGreaterThan(25);
    const later = await ortRun(qdq, changedAt(ids, 5), N);
    expect(earlier(later, 5)).toEqual(earlier(fq, 5));
    expect(fromOn(later, 5)).not.toEqual(fromOn(fq, 5));
  });

  it("lowers both Softmaxes with a constant causal key mask", () => {
    const softmax = p.ops.filter((op) => op.kind === "softmax");
    expect(softmax).toHaveLength(2);
    for (const s of softmax) {
      const flags = p.ops.find((op) => op.kind === "addconst" && op.output === s.mask);
      expect(flags?.kind).toBe("addconst");
      if (flags?.kind !== "addconst") continue;
      // [heads, query, key]: key j is excluded from query i exactly when j > i
      const want = Array.from({ length: 2 * T * T }, (_, k) => Number(k % T > Math.floor(k / T) % T));
      expect(Array.from(flags.offset)).toEqual(want);
      expect(flags.multiplier).toBe(0);
    }
  });

  it("the emulator agrees with the QDQ model and is causal; the integer-only ONNX equals it bit for bit", async () => {
    const emu = runProgram(p, new Map([["input_ids", ids]]), N);
    const y = emu.outputs.get("out")!;
    const fq = await ortRun(qdq, ids, N);
    const c = compareOutputs({ dtype: 1, dims: [N, T, V], data: fq }, { dtype: 1, dims: [N, T, V], data: y });
    // measured 62.4 dB, every next-token argmax the same
    expect(c.sqnrDb).toBeGreaterThan(45);
    expect(c.agreement).toBeGreaterThan(0.97);
    for (const at of [1, 4, T - 1]) {
      const again = runProgram(p, new Map([["input_ids", changedAt(ids, at)]]), N).outputs.get("out")!;
      expect(earlier(again, at)).toEqual(earlier(y, at));
      expect(fromOn(again, at)).not.toEqual(fromOn(y, at));
    }
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(new Map([["input_ids", ids]]), N).finally(() => runner.release());
    const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, ["out"]);
    expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });
  }, 120_000);
});
