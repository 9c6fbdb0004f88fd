/** Shared steps of the norm-fusion tests (fuse-layernorm, fuse-rmsnorm): fuse and compare in ORT; quantize, integerize and compare the back ends. */
import { expect } from "vitest";
import type { EmulatorResult } from "../../src/backends/emulator/emulator.js";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import type { Model, Node } from "../../src/ir/graph.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { fuseLayerNormModel } from "../../src/passes/fuse-layernorm.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import type { HostTensor } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { importProgram } from "../backends/js/load-module.js";
import { graph, model, node, randomWeight, value } from "../ir/builders.js";
import { feedsOf, Rng, run, worstRelErr } from "./float-helpers.js";

/** Fuses with fuseLayerNormModel and compares ORT outputs before and after on random inputs [3, 5, C] (offset by `shift`, so a mean matters). */
export async function fuseAndCompare(m: Model, C: number, shift: number): Promise<{ fusedModel: Model; err: number; ops: string[] }> {
  const { model: fusedModel } = fuseLayerNormModel(m);
  const feeds = feedsOf("x", [3, 5, C], new Rng(9), 2);
  const x = feeds["x"]!.data as Float32Array;
  for (let i = 0; i < x.length; i++) x[i]! += shift;
  const err = worstRelErr(await run(m, feeds), await run(fusedModel, feeds));
  return { fusedModel, err, ops: fusedModel.graph!.nodes.map((n) => n.opType) };
}

/**
 * MatMul [8 → C] → the norm nodes (reading h, writing z) → MatMul [C → 4], quantized W8A8 on 64 random rows and
 * integerized; the emulator, the generated JS and the integer-only ONNX must agree bit for bit.
 */
export async function quantizeLowerCompare(
  norm: Node[],
  inits: Tensor[],
  C: number,
  opset: number,
): Promise<{ q: Model; p: Program; emu: EmulatorResult; data: HostTensor; out: string }> {
  const rng = new Rng(31);
  const N = 64;
  const g = graph(
    [node("MatMul", ["x", "w1"], ["h"], [], "up"), ...norm, node("MatMul", ["z", "w2"], ["y"], [], "down")],
    [value("x", 1, ["N", 8])],
    [value("y", 1, ["N", 4])],
    [...inits, randomWeight(rng, "w1", [8, C]), randomWeight(rng, "w2", [C, 4])],
  );
  return lowerAndCompare(model(g, opset), feedsOf("x", [N, 8], rng)["x"]!);
}

/** `m` (input x) quantized W8A8 on `data` and integerized; the emulator, the generated JS and the integer-only ONNX must agree bit for bit on `data`. */
export async function lowerAndCompare(m: Model, data: HostTensor): Promise<{ q: Model; p: Program; emu: EmulatorResult; data: HostTensor; out: string }> {
  const N = data.dims[0]!;
  const { model: q } = await quantizeModel(m, arraySource({ x: data }), buildRecipe({}), { threads: 1 });
  const p = integerizeModel(q);
  const feeds = new Map([["x", data.data as Float32Array]]);
  const emu = runProgram(p, feeds, N);
  const out = p.outputs[0]!.name;
  const { mod } = await importProgram(p);
  const js = resultMismatches(mod.runAll({ x: data.data as Float32Array }, N), emu, [out]);
  expect({ floats: js.floats, ints: js.ints }).toEqual({ floats: 0, ints: 0 });
  const runner = await integerOnnxRunner(p, { threads: 1 });
  const onnx = await runner.run(feeds, N).finally(() => runner.release());
  const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, [out]);
  expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });
  return { q, p, emu, data, out };
}

/** Renames the chain's input x to h and output y to z (the names quantizeLowerCompare wires). */
export const between = (nodes: Node[]): Node[] =>
  nodes.map((n) => ({ ...n, inputs: n.inputs.map((v) => (v === "x" ? "h" : v)), outputs: n.outputs.map((v) => (v === "y" ? "z" : v)) }));
