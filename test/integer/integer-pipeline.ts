/**
 * The integer pipeline check shared by the op tests (lower-mul, lower-div,
 * lower-unary): a small float model is quantized by `quantizeModel` (default
 * recipe, calibrated on its own feeds) and integerized; the certificate holds
 * and every value stays in its certified range on the data; the emulator
 * tracks ONNX Runtime's fake-quant model (optimizations off) within a few
 * output steps; the generated JS and the integer-only ONNX (run by ONNX
 * Runtime) equal the emulator bit for bit; the C back end's check accepts
 * the program.
 */
import { expect } from "vitest";
import { checkC } from "../../src/backends/c/emit.js";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { certifyProgram } from "../../src/integer/certify.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { type Program, sampleSize } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { OrtSession } from "../../src/runtime/ort-session.js";
import { resultMismatches } from "../backends/js/compare.js";
import { importProgram } from "../backends/js/load-module.js";

export interface PipelineCase {
  name: string;
  model: Model;
  feeds: Record<string, Float32Array>;
  dims: Record<string, number[]>;
}

export interface PipelineResult {
  program: Program;
  /** The QDQ model fixq wrote. */
  qdq: Model;
  /** Largest |emulator − fake-quant| on the output, in output steps. */
  worstSteps: number;
}

/** Runs the checks above on `c` (N samples); returns the program for op-specific checks. */
export async function checkIntegerPipeline(c: PipelineCase, N: number): Promise<PipelineResult> {
  const host = Object.fromEntries(Object.entries(c.feeds).map(([k, data]) => [k, { dtype: 1, dims: c.dims[k]!, data }]));
  const { model } = await quantizeModel(c.model, arraySource(host), buildRecipe({}), { threads: 1 });
  const p = integerizeModel(model);
  const cert = certifyProgram(p);
  expect(cert.problems.filter((q) => q.level === "error")).toEqual([]);

  const feeds = new Map(Object.entries(c.feeds));
  const emu = runProgram(p, feeds, N, { assertRanges: cert.ranges });
  const out = p.outputs[0]!.name;
  const s = await OrtSession.create(model, { threads: 1, optimization: "disabled" });
  const fq = (await s.run(host).finally(() => s.release()))[s.outputNames[0]!]!.data as Float32Array;
  const y = emu.outputs.get(out)!;
  expect(y.length).toBe(N * sampleSize(p.outputs[0]!.shape));
  const step = (p.ops.at(-1) as { scale: number }).scale;
  let worst = 0;
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - fq[i]!) / step);

  const { mod } = await importProgram(p);
  const js = resultMismatches(mod.runAll(c.feeds, N), emu, [out]);
  expect({ floats: js.floats, ints: js.ints }).toEqual({ floats: 0, ints: 0 });
  const runner = await integerOnnxRunner(p, { threads: 1 });
  const onnx = await runner.run(feeds, N).finally(() => runner.release());
  const o = resultMismatches({ outputs: Object.fromEntries(onnx.outputs), ints: Object.fromEntries(onnx.ints) }, emu, [out]);
  expect({ floats: o.floats, ints: o.ints }).toEqual({ floats: 0, ints: 0 });

  expect(checkC(p)).toEqual([]);
  return { program: p, qdq: model, worstSteps: worst };
}
