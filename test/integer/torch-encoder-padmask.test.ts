/**
 * A torch encoder export called with src_key_padding_mask
 * (test/fixtures/torch-encoder/padmask.onnx): the mask adds Where(mask, −inf,
 * 0), reshaped and expanded over the heads, to the attention scores.
 * - quantize keeps the mask arithmetic and its Add float (no Q/DQ on −inf), so
 *   the QDQ model in ONNX Runtime stays close to float on padded batches;
 * - the integer program takes the mask as 0/1 and runs the key-masked integer
 *   Softmax: the emulator agrees with the QDQ model, and the generated JS and
 *   the integer-only ONNX equal it bit for bit (an all-padding sample included);
 * - a padded token has no influence: changing its values leaves every output
 *   of the sample's other positions identical, in the QDQ model and in the
 *   emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import type { Program } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { cleanupModules, importProgram } from "../backends/js/load-module.js";
import { cosine } from "../helpers/cosine.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { makeFloatTensor } from "../../src/ir/tensor.js";
import { D, padmaskFeeds, padmaskInputs, padmaskProgram, padmaskQdq, SEQ } from "../helpers/padmask-fixture.js";
import { programLayout } from "../helpers/torch-encoder-fixture.js";

const N = 16;
afterAll(() => cleanupModules());

async function ortRun(model: Model, s: { x: Float32Array; mask: Float32Array }, n: number): Promise<Float32Array> {
  const session = await OrtSession.create(model, { optimization: "disabled", threads: 1 });
  try {
    return programLayout({ file: "", batchAxis: 1 }, (await session.run(padmaskFeeds(s, n)))["y"]!.data as Float32Array, n);
  } finally {
    await session.release();
  }
}

/** The outputs of the unpadded positions only. */
function unpadded(y: Float32Array, mask: Float32Array): Float32Array {
  return y.filter((_, i) => mask[Math.floor(i / D)] === 0);
}

/** Sample s with new values at its padded positions. */
function repadded(s: { x: Float32Array; mask: Float32Array }): { x: Float32Array; mask: Float32Array } {
  return { x: s.x.map((v, i) => (s.mask[Math.floor(i / D)] === 1 ? 3 - 2 * v : v)), mask: s.mask };
}

describe("torch encoder with src_key_padding_mask", () => {
  let float: Model;
  let qdq: Model;
  let p: Program;
  const s = padmaskInputs(N, 2, true);
  beforeAll(async () => {
    ({ float, qdq, program: p } = await padmaskProgram());
  }, 120_000);

  it("quantize keeps the mask float; the QDQ model in ONNX Runtime is close to float and ignores padded tokens", async () => {
    const ops = qdq.graph!.nodes;
    const softmax = ops.find((n) => n.opType === "Softmax")!;
    const add = ops.find((n) => n.outputs[0] === softmax.inputs[0])!;
    // the masked sum reaches the Softmax without a QuantizeLinear; the scores and the probabilities are quantized
    expect(add.opType).toBe("Add");
    expect(ops.some((n) => n.opType === "DequantizeLinear" && add.inputs.includes(n.outputs[0]!))).toBe(true);
    expect(ops.some((n) => n.opType === "QuantizeLinear" && n.inputs[0] === softmax.outputs[0])).toBe(true);
    const fl = await ortRun(float, s, N);
    const fq = await ortRun(qdq, s, N);
    // with the sum quantized at the scores' scale (before the rule), a padded key kept a weight: the output SQNR on
    // 16 samples, 8 padded, was 18.9 dB against float; with the mask float it is 36.0 dB (README "Attention masks")
    expect(cosine(unpadded(fq, s.mask), unpadded(fl, s.mask))).toBeGreaterThan(0.999);
    const again = await ortRun(qdq, repadded(s), N);
    expect(unpadded(again, s.mask)).toEqual(unpadded(fq, s.mask));
  });

  it("lowers to the key-masked integer Softmax, and certifies", () => {
    expect(p.inputs).toEqual([
      { name: "x", shape: [SEQ, D], batchAxis: 1 },
      { name: "mask", shape: [SEQ], integer: true },
    ]);
    const softmax = p.ops.filter((op) => op.kind === "softmax");
    expect(softmax).toHaveLength(1);
    expect(softmax[0]!.mask).toBeDefined();
    // the flags: padding (1) excludes, 0 keeps
    const flags = p.ops.find((op) => op.kind === "table" && op.source.includes("attention mask"));
    expect(flags?.kind === "table" && [flags.table[0 - flags.inputMin], flags.table[1 - flags.inputMin]]).toEqual([0, 1]);
    expect(certifyProgram(p).problems.filter((q) => q.level === "error")).toEqual([]);
  });

  it("a mask value that is neither 0 nor an exclusion (a bias of −1) is refused in one line naming the Add", async () => {
    // the export's Where(mask, −inf, 0) with −1 in place of −inf: quantize still keeps it float, the lowering refuses
    const g = float.graph!;
    const nodes = g.nodes.map((n) =>
      n.outputs[0] === "/l/Constant_output_0" ? { ...n, attributes: n.attributes.map((a) => (a.name === "value" ? { ...a, t: makeFloatTensor("", [], [-1]) } : a)) } : n,
    );
    const edited = { ...float, graph: { ...g, nodes } };
    const q = await padmaskQdq(edited, 8);
    expect(() => integerizeModel(q)).toThrow(/^cannot integerize: Add '\/l\/self_attn\/Add_2' computes the attention mask of input 'mask' and adds -1 for input value 1; an attention mask adds 0 or excludes the key/);
  });

  it("the emulator agrees with the QDQ model, ignores padded tokens; JS and the integer ONNX equal it bit for bit", async () => {
    const feeds = new Map([
      ["x", s.x],
      ["mask", s.mask],
    ]);
    const emu = runProgram(p, feeds, N, { assertRanges: certifyProgram(p).ranges });
    const y = emu.outputs.get("y")!;
    const fq = await ortRun(qdq, s, N);
    expect(cosine(unpadded(y, s.mask), unpadded(fq, s.mask))).toBeGreaterThan(0.9999);
    const r = repadded(s);
    const again = runProgram(p, new Map([["x", r.x], ["mask", r.mask]]), N).outputs.get("y")!;
    expect(unpadded(again, s.mask)).toEqual(unpadded(y, s.mask));
    // and the mask matters: without it the unpadded outputs change
    const unmasked = runProgram(p, new Map([["x", s.x], ["mask", new Float32Array(s.mask.length)]]), N).outputs.get("y")!;
    expect(unpadded(unmasked, s.mask)).not.toEqual(unpadded(y, s.mask));

    const { mod } = await importProgram(p);
    const js = mod.runAll({ x: s.x, mask: s.mask }, N);
    expect(resultMismatches(js, emu, ["y"])).toMatchObject({ floats: 0, ints: 0 });
    const runner = await integerOnnxRunner(p, { threads: 1 });
    const onnx = await runner.run(feeds, N).finally(() => runner.release());
    const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, ["y"]);
    expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });
  }, 120_000);
});
