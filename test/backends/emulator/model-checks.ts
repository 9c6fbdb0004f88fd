/**
 * The emulator on every bundled CNN/MLP model, quantized with the default
 * recipe and integerized: batches are independent bit for bit, the SIMD and
 * JS engines agree bit for bit, and top-1 agrees with ONNX Runtime running
 * the fake-quant QDQ model (graph optimizations off, so no integer kernel).
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../../src/backends/emulator/run.js";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { argmaxRows } from "../../../src/eval/classify.js";
import { integerizeModel } from "../../../src/integer/integerize.js";
import type { Program } from "../../../src/integer/program.js";
import type { Model } from "../../../src/ir/graph.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { npyFileSource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { OrtSession } from "../../../src/runtime/ort-session.js";
import { evalX } from "../../helpers/bundled-data.js";
import { expectSame } from "./check.js";

const N = evalX.dims[0]!;
const SAMPLE = 784;

/** A bundled model quantized with the default recipe (256 calibration samples). */
export async function quantized(name: string): Promise<Model> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 256);
  try {
    return (await quantizeModel(float, source, buildRecipe({}), { threads: 1 })).model;
  } finally {
    source.close();
  }
}

/** The checks on one bundled model (the test files split the models between them to stay short). */
export function describeModels(models: readonly string[]): void {
  describe.each(models)("emulator on %s", (name) => {
    let model: Model;
    let p: Program;
    beforeAll(async () => {
      model = await quantized(name);
      p = integerizeModel(model);
    });

    const feed = (start: number, n: number) => new Map([[p.inputs[0]!.name, evalX.data.subarray(start * SAMPLE, (start + n) * SAMPLE)]]);

    it("gives every sample of a batch of 64 the bits it gets alone, and the JS engine the same bits", () => {
      const out = p.outputs[0]!.name;
      const size = p.outputs[0]!.shape.reduce((a, b) => a * b, 1);
      const whole = runProgram(p, feed(100, 64), 64);
      for (let b = 0; b < 64; b++) {
        const one = runProgram(p, feed(100 + b, 1), 1);
        expectSame(one.ints.get(out)!, whole.ints.get(out)!.subarray(b * size, (b + 1) * size), `${name} sample ${b} ints`);
        expectSame(one.outputs.get(out)!, whole.outputs.get(out)!.subarray(b * size, (b + 1) * size), `${name} sample ${b} floats`);
      }
      const js = runProgram(p, feed(100, 16), 16, { simd: false });
      expectSame(js.ints.get(out)!, whole.ints.get(out)!.subarray(0, 16 * size), `${name} JS engine ints`);
      expectSame(js.outputs.get(out)!, whole.outputs.get(out)!.subarray(0, 16 * size), `${name} JS engine floats`);
    });

    it("agrees with ONNX Runtime's fake-quant model on top-1 for > 97% of the 2,000 eval images", async () => {
      const classes = p.outputs[0]!.shape.reduce((a, b) => a * b, 1);
      const emu = new Int32Array(N);
      const r = runProgram(p, feed(0, N), N);
      argmaxRows(r.outputs.get(p.outputs[0]!.name)!, N, emu, 0);
      const ort = new Int32Array(N);
      const s = await OrtSession.create(model, { optimization: "disabled", threads: 1 });
      try {
        await s.runBatches({ [s.inputNames[0]!]: evalX }, 500, (o, start, count) => {
          argmaxRows(o[s.outputNames[0]!]!.data as Float32Array, count, ort, start);
        });
      } finally {
        await s.release();
      }
      let same = 0;
      for (let i = 0; i < N; i++) if (emu[i] === ort[i]) same++;
      expect(classes).toBe(10);
      expect(same / N).toBeGreaterThan(0.97);
    });
  });
}
