/**
 * Shared by the fixed-point end-to-end suites (lower-fixed, wide-accumulators):
 * a bundled model quantized with a recipe and read back from its bytes, the
 * feeds every back end is compared on (eval images, random floats around the
 * input quantizer, extreme integer inputs), and the integer-only ONNX's
 * mismatches against the emulator.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { type Program, sampleSize } from "../../src/integer/program.js";
import type { Model } from "../../src/ir/graph.js";
import { decodeModel, loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { tallyBuilt, tallyC } from "../backends/c/check-c.js";
import { feeds as extremeFeeds } from "../backends/c/feeds-c.js";
import { buildHls } from "../backends/hls/build-hls.js";
import { expectBitExact, type Feeds } from "../backends/js/check.js";
import { mismatches } from "../backends/js/compare.js";
import { toolAvailable } from "../helpers/c-toolchain.js";

/** Quantizes a bundled model with `recipe`, writes the file to bytes and reads it back (the annotations' round trip). */
export async function quantizedFile(name: string, recipe: RecipeInput): Promise<Model> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 32);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe(recipe), { threads: 1 });
    return decodeModel(encodeModel(model));
  } finally {
    source.close();
  }
}

/** Eval images, 8 random floats around the input quantizer and 4 of each extreme integer pattern (seed 16). */
export function feeds(p: Program, evalCount: number): Feeds[] {
  return extremeFeeds(p, evalCount, 16, 8, 4);
}

/** Raw integer and float mismatches of the integer-only ONNX (ORT) against the emulator, float feeds only. */
export async function onnxIntMismatches(p: Program, sets: readonly Feeds[]): Promise<{ ints: number; floats: number; compared: number }> {
  const runner = await integerOnnxRunner(p, { threads: 1 });
  const t = { ints: 0, floats: 0, compared: 0 };
  try {
    // the eval images, and inputs that saturate the input quantizer both ways (ORT's QuantizeLinear and the
    // emulator's differ on NaN, which the random float set holds, so that set is left to the other back ends)
    const input = p.inputs[0]!;
    const size = sampleSize(input.shape);
    const big = (v: number): Feeds => ({ data: { [input.name]: new Float32Array(8 * size).fill(v) }, batch: 8 });
    for (const f of [sets[0]!, big(1e4), big(-1e4)]) {
      const feedsMap = new Map(Object.entries(f.data as Record<string, Float32Array>));
      const ort = await runner.run(feedsMap, f.batch);
      const emu = runProgram(p, feedsMap, f.batch);
      for (const o of p.outputs) {
        t.ints += mismatches(ort.ints.get(o.name)!, emu.ints.get(o.name)!);
        t.floats += mismatches(ort.outputs.get(o.name)!, emu.outputs.get(o.name)!);
        t.compared += emu.ints.get(o.name)!.length;
      }
    }
  } finally {
    await runner.release();
  }
  return t;
}

const REQUIRE = process.env.FIXQ_REQUIRE_DATA === "1";
const HAVE_GCC = toolAvailable("gcc") && toolAvailable("make");
const HAVE_GXX = HAVE_GCC && toolAvailable("g++");

/** Prints, once per suite, that the C and HLS checks are skipped because a tool is missing (never under FIXQ_REQUIRE_DATA=1). */
export function warnMissingTools(suite: string): void {
  if (!HAVE_GXX && !REQUIRE) console.warn(`${suite}: gcc, g++ or make missing; the C and HLS checks are skipped`);
}

/**
 * Registers the back-end parity checks of one lowered design, each against the
 * emulator with 0 mismatching words: the naive ap_fixed reference and the
 * generated JS; the integer-only ONNX in ONNX Runtime; the generated C (gcc
 * -O2, skipped without gcc/make unless required); with `hls`, the HLS C
 * simulation (g++ with fixq's ap_types). `get` is read when the tests run
 * (after the suite's beforeAll); build folders go under `dir()`/`tag`.
 */
export function backendParityTests(get: () => { p: Program; sets: Feeds[] }, dir: () => string, tag: string, hls: boolean): void {
  it("emulator = naive ap_fixed reference = generated JS, bit for bit", async () => {
    const { p, sets } = get();
    expect(await expectBitExact(p, sets)).toBeGreaterThan(0);
  });

  it("integer-only ONNX in ONNX Runtime = emulator", async () => {
    const { p, sets } = get();
    const t = await onnxIntMismatches(p, sets);
    expect({ ints: t.ints, floats: t.floats }).toEqual({ ints: 0, floats: 0 });
    expect(t.compared).toBeGreaterThan(0);
  });

  it.skipIf(!HAVE_GCC && !REQUIRE)("generated C (gcc -O2) = emulator", () => {
    const { p, sets } = get();
    const out = join(dir(), `c-${tag}`);
    mkdirSync(out, { recursive: true });
    const t = tallyC(p, out, sets, "-O2 -Wall -Wextra -Werror");
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(0);
  });

  if (hls)
    it.skipIf(!HAVE_GXX && !REQUIRE)("HLS C simulation (g++, fixq's ap_types) = emulator", () => {
      const { p, sets } = get();
      const out = join(dir(), `hls-${tag}`);
      mkdirSync(out, { recursive: true });
      const t = tallyBuilt(buildHls(p, out), sets);
      expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    });
}
