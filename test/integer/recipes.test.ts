/**
 * Integer lowering beyond the default recipe: models quantized with other
 * formats and granularities, and ONNX Runtime's own QDQ models, each run by
 * the emulator, the generated JS module and the integer-only ONNX model in
 * ONNX Runtime, compared bit for bit on real, random and extreme inputs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { emitJsModule } from "../../src/backends/js/emit.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { type IntegerizeOptions, integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { evalX } from "../helpers/bundled-data.js";
import { Rng } from "../helpers/prng.js";

const tmp = mkdtempSync(join(tmpdir(), "fixq-recipes-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 192 eval images, 32 random images in [−0.5, 1.5], and 32 each of all 0, all 1 and ±4 (saturating). */
function inputs(): Float32Array {
  const n = 192 + 32 + 4 * 32;
  const x = new Float32Array(n * 784);
  x.set(evalX.data.subarray(0, 192 * 784));
  const rng = new Rng(7);
  for (let i = 192 * 784; i < 224 * 784; i++) x[i] = rng.float() * 2 - 0.5;
  for (const [k, v] of [0, 1, 4, -4].entries()) x.fill(v, (224 + 32 * k) * 784, (256 + 32 * k) * 784);
  return x;
}

async function quantized(key: string, recipe: RecipeInput): Promise<Model> {
  const float = loadModel(join(MODELS_DIR, `${key}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 128);
  try {
    return (await quantizeModel(float, source, buildRecipe(recipe), { threads: 1 })).model;
  } finally {
    source.close();
  }
}

/** Samples where the JS module or the integer ONNX model differs from the emulator (ints or float bits). */
async function mismatches(p: Program, name: string): Promise<{ js: number; onnx: number }> {
  const x = inputs();
  const n = x.length / 784;
  const dir = mkdtempSync(join(tmp, `${name}-`));
  for (const [rel, text] of emitJsModule(p)) writeFileSync(join(dir, rel), text);
  const mod = await import(pathToFileURL(join(dir, "model.mjs")).href);
  const out = p.outputs[0]!.name;
  const feeds = new Map([[p.inputs[0]!.name, x]]);
  const emu = runProgram(p, feeds, n);
  const js = mod.runAll({ [p.inputs[0]!.name]: x }, n);
  const ort = await integerOnnxRunner(p, { threads: 1 });
  let onnx: { outputs: Map<string, Float32Array>; ints: Map<string, Int32Array> };
  try {
    onnx = await ort.run(feeds, n);
  } finally {
    await ort.release();
  }
  const count = (ints: Int32Array, floats: Float32Array) => {
    const per = ints.length / n;
    const a = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
    const e = emu.outputs.get(out)!;
    const b = new Uint32Array(e.buffer, e.byteOffset, e.length);
    let bad = 0;
    for (let s = 0; s < n; s++) {
      for (let i = s * per; i < (s + 1) * per; i++) {
        if (ints[i] !== emu.ints.get(out)![i] || a[i] !== b[i]) {
          bad++;
          break;
        }
      }
    }
    return bad;
  };
  return { js: count(js.ints[out], js.outputs[out]), onnx: count(onnx.ints.get(out)!, onnx.outputs.get(out)!) };
}

const CASES: [string, RecipeInput, IntegerizeOptions][] = [
  ["cnn", { weights: "int4" }, {}],
  ["cnn", { acts: "uint16" }, {}],
  ["resnet", { acts: "int8", symmetricActs: true }, {}],
  ["resnet", { weights: "int8", weightBits: 8, granularity: "per-tensor" }, { rounding: "double" }],
  ["mobilenetv2", { acts: "int16", weightBits: 8 }, { multiplierBits: 15 }],
];

describe("every integer back end agrees beyond the default recipe", () => {
  for (const [key, recipe, opts] of CASES) {
    it(`${key} ${JSON.stringify(recipe)} ${JSON.stringify(opts)}`, async () => {
      const p = integerizeModel(await quantized(key, recipe), opts);
      expect(await mismatches(p, key)).toEqual({ js: 0, onnx: 0 });
    });
  }

  it("ONNX Runtime's quantize_static models (int8 activations, 8-bit weights)", async () => {
    for (const f of ["cnn.ort-qdq-per-channel-u8.onnx", "resnet.ort-qdq-defaults.onnx"]) {
      const p = integerizeModel(loadModel(join("test/fixtures/onnx", f)));
      expect(await mismatches(p, f.split(".")[0]!), f).toEqual({ js: 0, onnx: 0 });
    }
  });
});
