
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { integerizeModel } from "../../src/integer/integerize.js";
import type { FixedRescaleOp, Program } from "../../src/integer/program.js";
import { quantAnnotations } from "../../src/ir/annotations.js";
import type { Model } from "../../src/ir/graph.js";
import { fixedTypeName } from "../../src/numerics/fixed.js";
import type { RecipeInput } from "../../src/quant/recipe.js";
import type { Feeds } from "../backends/js/check.js";
import { tempDir, } from "../helpers/c-toolchain.js";
import { backendParityTests, feeds, quantizedFile, warnMissingTools } from "./fixed-designs.js";

warnMissingTools("lower-fixed.test");
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

  backendParityTests(() => ({ p, sets }), () => tmp.dir, `${model}-${act.replace(/[^a-z0-9]/gi, "")}`, hls === true);
});
