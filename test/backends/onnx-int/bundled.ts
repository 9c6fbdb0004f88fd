/**
 * The bundled-model check: a model quantized with the default recipe,
 * integerized, exported to integer-only ONNX, run by ONNX Runtime (batches
 * of up to 250) and by the emulator; every raw integer output and every float
 * output must be equal, on the 2,000 eval images, on random inputs in [0, 1],
 * and on extremes (all 0, all 1, a 0/1 checkerboard, ±5 beyond the range that
 * saturate the input quantizer, and random values in [−1, 2]), 64 or more
 * samples per set.
 */
import { join } from "node:path";
import { runProgram } from "../../../src/backends/emulator/run.js";
import { emitIntegerOnnx } from "../../../src/backends/onnx-int/emit.js";
import { integerOnnxRunner } from "../../../src/backends/onnx-int/run.js";
import { ortKernelHazards, verifyIntegerOnly } from "../../../src/backends/onnx-int/verify.js";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { integerizeModel } from "../../../src/integer/integerize.js";
import { sampleSize } from "../../../src/integer/program.js";
import type { Model } from "../../../src/ir/graph.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { npyFileSource } from "../../../src/quant/feeds.js";
import { quantizeModel } from "../../../src/quant/quantize.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { evalX } from "../../helpers/bundled-data.js";
import { Rng } from "../../helpers/prng.js";

export interface BundledCounts {
  /** Integer-only proof problems and ORT kernel hazards of the export (both must be empty). */
  readonly problems: string[];
  /** Samples compared per input set. */
  readonly samples: Record<string, number>;
  readonly intMismatches: number;
  readonly floatMismatches: number;
  readonly compared: number;
}

const BATCH = 250;

/** The input sets: the eval images, 128 random samples per range, 64 samples of each extreme pattern. */
function inputSets(size: number): [string, Float32Array][] {
  const rng = new Rng(2026);
  const make = (count: number, f: (i: number) => number) => Float32Array.from({ length: count * size }, (_, i) => f(i));
  return [
    ["eval", evalX.data],
    ["random [0,1]", make(128, () => rng.float())],
    ["random [-1,2]", make(128, () => rng.float() * 3 - 1)],
    ["all 0", make(64, () => 0)],
    ["all 1", make(64, () => 1)],
    ["checkerboard 0/1", make(64, (i) => ((i % 28) + Math.floor(i / 28)) % 2)],
    ["+5 (saturates)", make(64, () => 5)],
    ["-5 (saturates)", make(64, () => -5)],
  ];
}

export async function checkBundledModel(name: string): Promise<BundledCounts> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 256);
  let quantized: Model;
  try {
    quantized = (await quantizeModel(float, source, buildRecipe({}), { threads: 1 })).model;
  } finally {
    source.close();
  }
  const p = integerizeModel(quantized);
  const exported = emitIntegerOnnx(p);
  const problems = [...verifyIntegerOnly(exported), ...ortKernelHazards(exported)];
  if (p.inputs.length !== 1) throw new Error(`${name}: expected one input`);
  const input = p.inputs[0]!;
  const size = sampleSize(input.shape);
  const runner = await integerOnnxRunner(p, { threads: 1 });
  const samples: Record<string, number> = {};
  let intMismatches = 0;
  let floatMismatches = 0;
  let compared = 0;
  try {
    for (const [label, data] of inputSets(size)) {
      const n = data.length / size;
      samples[label] = n;
      for (let start = 0; start < n; start += BATCH) {
        const count = Math.min(BATCH, n - start);
        const feeds = new Map([[input.name, data.subarray(start * size, (start + count) * size)]]);
        const ort = await runner.run(feeds, count);
        const emu = runProgram(p, feeds, count);
        for (const o of p.outputs) {
          const [gi, ei] = [ort.ints.get(o.name)!, emu.ints.get(o.name)!];
          const [gf, ef] = [ort.outputs.get(o.name)!, emu.outputs.get(o.name)!];
          if (gi.length !== ei.length || gf.length !== ef.length) throw new Error(`${name}: output '${o.name}' sizes differ`);
          for (let k = 0; k < gi.length; k++) {
            compared++;
            if (gi[k] !== ei[k]) intMismatches++;
            if (!Object.is(gf[k], ef[k])) floatMismatches++;
          }
        }
      }
    }
  } finally {
    await runner.release();
  }
  return { problems, samples, intMismatches, floatMismatches, compared };
}
