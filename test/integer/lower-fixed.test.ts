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
import { integerizeModel } from "../../src/integer/integerize.js";
import type { FixedRescaleOp, Program } from "../../src/integer/program.js";
import { quantAnnotations } from "../../src/ir/annotations.js";
import type { Model } from "../../src/ir/graph.js";
import { fixedTypeName } from "../../src/numerics/fixed.js";
import type { RecipeInput } from "../../src/quant/recipe.js";
import { tallyBuilt, tallyC } from "../backends/c/check-c.js";
import { buildHls } from "../backends/hls/build-hls.js";
import { expectBitExact, type Feeds } from "../backends/js/check.js";
import { tempDir, toolAvailable } from "../helpers/c-toolchain.js";
import { feeds, onnxIntMismatches, quantizedFile } from "./fixed-designs.js";

const REQUIRE = process.env.FIXQ_REQUIRE_DATA === "1";
const HAVE_GCC = toolAvailable("gcc") && toolAvailable("make");
const HAVE_GXX = HAVE_GCC && toolAvailable("g++");
if (!HAVE_GXX && !REQUIRE) console.warn("lower-fixed.test: gcc, g++ or make missing; the C and HLS checks are skipped");
const tmp = tempDir("fixq-fixed-");
afterAll(tmp.remove);

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
