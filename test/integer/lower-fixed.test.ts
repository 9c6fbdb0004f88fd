/**
 * Fixed-point (ap_fixed) designs end to end: bundled models (cnn, resnet, mlp) quantized with
 * fixed-point formats, read back from their QDQ file (the exact ap types travel
 * as `fixq_fixed` annotations), lowered to `fixedrescale` ops, and run by the
 * emulator, an independent naive interpreter (the ap_fixed reference of
 * test/numerics/fixed-reference.ts), the generated JS, the generated C
 * (gcc), the HLS C simulation (g++ with fixq's ap_types) and the integer-only
 * ONNX in ONNX Runtime: 0 mismatching words on eval images, random floats
 * around the input quantizer and extreme integer inputs. C and HLS skip
 * without gcc/g++ (they run, and fail if absent, with FIXQ_REQUIRE_DATA=1).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../src/backends/emulator/run.js";
import { integerOnnxRunner } from "../../src/backends/onnx-int/run.js";
import { MODELS_DIR } from "../../src/data/manifest.js";
import { integerizeModel } from "../../src/integer/integerize.js";
import { type FixedRescaleOp, type Program, type QuantizeOp, sampleSize } from "../../src/integer/program.js";
import { quantAnnotations } from "../../src/ir/annotations.js";
import type { Model } from "../../src/ir/graph.js";
import { decodeModel, loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { fixedTypeName } from "../../src/numerics/fixed.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe, type RecipeInput } from "../../src/quant/recipe.js";
import { tallyBuilt, tallyC } from "../backends/c/check-c.js";
import { buildHls } from "../backends/hls/build-hls.js";
import { expectBitExact, type Feeds } from "../backends/js/check.js";
import { floatInputs, intInputs, mismatches } from "../backends/js/compare.js";
import { evalX } from "../helpers/bundled-data.js";
import { tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { Rng } from "../helpers/prng.js";

const REQUIRE = process.env.FIXQ_REQUIRE_DATA === "1";
const HAVE_GCC = toolAvailable("gcc") && toolAvailable("make");
const HAVE_GXX = HAVE_GCC && toolAvailable("g++");
if (!HAVE_GXX && !REQUIRE) console.warn("lower-fixed.test: gcc, g++ or make missing; the C and HLS checks are skipped");
const tmp = tempDir("fixq-fixed-");
afterAll(tmp.remove);

/** Quantizes a bundled model with `recipe`, writes the file to bytes and reads it back (the annotations' round trip). */
async function quantizedFile(name: string, recipe: RecipeInput): Promise<Model> {
  const float = loadModel(join(MODELS_DIR, `${name}.onnx`));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, "data/calib.npy"), 32);
  try {
    const { model } = await quantizeModel(float, source, buildRecipe(recipe), { threads: 1 });
    return decodeModel(encodeModel(model));
  } finally {
    source.close();
  }
}

/** Eval images, random floats around the input quantizer, and extreme integer inputs. */
function feeds(p: Program, evalCount: number): Feeds[] {
  const input = p.inputs[0]!;
  const q = p.ops.find((op): op is QuantizeOp => op.kind === "quantize" && op.input === input.name)!;
  const size = sampleSize(input.shape);
  const rng = new Rng(16);
  const n = 4;
  const ints = [
    new Int32Array(n * size).fill(q.qmin),
    new Int32Array(n * size).fill(q.qmax),
    Int32Array.from({ length: n * size }, (_, i) => ((i + Math.floor(i / size)) % 2 === 0 ? q.qmin : q.qmax)),
    intInputs(rng, n * size, q.qmin, q.qmax),
  ];
  return [
    { data: { [input.name]: evalX.data.subarray(0, evalCount * size) }, batch: evalCount },
    { data: { [input.name]: floatInputs(rng, 8 * size, q.scale, q.zeroPoint, q.qmin, q.qmax) }, batch: 8 },
    ...ints.map((x) => ({ data: { [input.name]: x }, batch: n, quantized: true })),
  ];
}

/** Raw integer and float mismatches of the integer-only ONNX (ORT) against the emulator, float feeds only. */
async function onnxIntMismatches(p: Program, sets: readonly Feeds[]): Promise<{ ints: number; floats: number; compared: number }> {
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

const DESIGNS: { model: string; recipe: RecipeInput; act: string; hls?: boolean }[] = [
  // Q2.14 activations (the seed accelerator's format); Q2.10 weights keep 9·C-term sums inside int32
  { model: "cnn", recipe: { acts: "fixed<16,2>", weights: "fixed<12,2>" }, act: "fixed<16,2>", hls: true },
  // hls4ml's default, AP_TRN / AP_WRAP, for weights and activations (residual Adds, a global average pool's dyadic 1/49)
  { model: "resnet", recipe: { format: "ap_fixed<16,6>" }, act: "fixed<16,6>" },
  // the other modes: ties to even, wrap with saturation bits, a 12-bit activation in int16 storage; unsigned ties away from 0, zeroing
  { model: "mlp", recipe: { acts: "fixed<12,3,RND_CONV,WRAP,2>", weights: "fixed<6,0,TRN_ZERO,SAT_SYM>" }, act: "fixed<12,3,AP_RND_CONV,AP_WRAP,2>" },
  { model: "cnn", recipe: { acts: "ufixed<8,3,RND_INF,SAT_ZERO>", weights: "fixed<8,1,RND_ZERO,WRAP,1>" }, act: "ufixed<8,3,AP_RND_INF,AP_SAT_ZERO>" },
];

describe.each(DESIGNS)("fixed-point design $model, $recipe", ({ model, recipe, act, hls }) => {
  let p: Program;
  let sets: Feeds[];
  let file: Model;
  beforeAll(async () => {
    file = await quantizedFile(model, recipe);
    p = integerizeModel(file);
    sets = feeds(p, 8);
  });

  it("records the exact ap types in the file and lowers every rescale into them to a fixedrescale", () => {
    const designs = [...quantAnnotations(file.graph!).values()].map((e) => e.get("fixq_fixed")).filter((x) => x !== undefined);
    expect(designs.length).toBeGreaterThan(2);
    expect(designs).toContain(act);
    // a W narrower than its storage (12 bits in INT16) is clipped in float before its QuantizeLinear; 8 and 16 bits are not
    const clips = file.graph!.nodes.filter((n) => n.opType === "Clip" && n.outputs[0]!.includes("__clipped")).length;
    expect(clips > 0).toBe(act.startsWith("fixed<12"));
    const fixedOps = p.ops.filter((op): op is FixedRescaleOp => op.kind === "fixedrescale");
    expect(fixedOps.length).toBeGreaterThan(2);
    expect(p.ops.some((op) => op.kind === "requant" || op.kind === "rescale")).toBe(false);
    const outTypes = new Set(fixedOps.map((op) => fixedTypeName(p.values.get(op.output)!.fixed!)));
    expect(outTypes).toEqual(new Set([act]));
  });

  it("emulator = naive ap_fixed reference = generated JS, bit for bit", async () => {
    expect(await expectBitExact(p, sets)).toBeGreaterThan(0);
  });

  it("integer-only ONNX in ONNX Runtime = emulator", async () => {
    const t = await onnxIntMismatches(p, sets);
    expect({ ints: t.ints, floats: t.floats }).toEqual({ ints: 0, floats: 0 });
    expect(t.compared).toBeGreaterThan(0);
  });

  it.skipIf(!HAVE_GCC && !REQUIRE)("generated C (gcc -O2) = emulator", () => {
    const dir = join(tmp.dir, `c-${model}-${act.replace(/[^a-z0-9]/gi, "")}`);
    mkdirSync(dir, { recursive: true });
    const t = tallyC(p, dir, sets, "-O2 -Wall -Wextra -Werror");
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
    expect(t.compared).toBeGreaterThan(0);
  });

  if (hls) it.skipIf(!HAVE_GXX && !REQUIRE)("HLS C simulation (g++, fixq's ap_types) = emulator", () => {
    const dir = join(tmp.dir, `hls-${model}`);
    mkdirSync(dir, { recursive: true });
    const t = tallyBuilt(buildHls(p, dir), sets);
    expect({ floats: t.floats, ints: t.ints }).toEqual({ floats: 0, ints: 0 });
  });
});
