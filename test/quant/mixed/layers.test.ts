/** The layers mixed precision chooses for, and their tie groups with reasons. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../../src/data/manifest.js";
import { loadModel } from "../../../src/ir/onnx/load.js";
import { prepareFloatModel } from "../../../src/passes/pipeline.js";
import { mixedSites, tieGroups } from "../../../src/quant/mixed/layers.js";
import { buildRecipe } from "../../../src/quant/recipe.js";
import { graph, node, value } from "../../ir/builders.js";
import { tensor } from "../../passes/float-helpers.js";

const w = (name: string) => tensor(name, [2, 2], [1, 2, 3, 4]);
// x → a (MatMul), x → b (MatMul), a + b → add → c (MatMul)
const g = graph(
  [node("MatMul", ["x", "wa"], ["ya"], [], "a"), node("MatMul", ["x", "wb"], ["yb"], [], "b"), node("Relu", ["yb"], ["rb"], [], "relu"), node("Add", ["ya", "rb"], ["s"], [], "add"), node("MatMul", ["s", "wc"], ["y"], [], "c")],
  [value("x", 1, [1, 2])],
  [value("y", 1, [1, 2])],
  [w("wa"), w("wb"), w("wc")],
);

describe("mixed-precision sites and ties", () => {
  const recipe = buildRecipe({});
  const sites = mixedSites(g, recipe);

  it("takes every layer with a constant weight, with its MACs", () => {
    expect(sites.map((s) => [s.name, s.macs])).toEqual([["a", 4], ["b", 4], ["c", 4]]);
  });

  it("singletons when nothing ties", () => {
    expect(tieGroups(g, sites, { actsDiffer: false, tieResidual: false, ties: [] }).map((t) => t.members)).toEqual([["a"], ["b"], ["c"]]);
  });

  it("layers reading one activation share it when the candidates' activation formats differ", () => {
    const t = tieGroups(g, sites, { actsDiffer: true, tieResidual: false, ties: [] });
    expect(t).toEqual([{ name: "a", members: ["a", "b"], reasons: ["read one activation 'x' (one activation format)"] }, { name: "c", members: ["c"], reasons: [] }]);
  });

  it("--tie-residual follows Add inputs back through Relu to their layers; recipe ties add more", () => {
    expect(tieGroups(g, sites, { actsDiffer: false, tieResidual: true, ties: [] })[0]).toEqual({ name: "a", members: ["a", "b"], reasons: ["inputs of residual Add 'add'"] });
    expect(tieGroups(g, sites, { actsDiffer: false, tieResidual: false, ties: [["b", "c"]] })[1]).toEqual({ name: "b", members: ["b", "c"], reasons: ["tie[0] in the recipe"] });
    expect(() => tieGroups(g, sites, { actsDiffer: false, tieResidual: false, ties: [["b", "nope"]], where: "r.json" })).toThrow("r.json: tie[0] names 'nope', which is not a layer mixed precision chooses for");
  });

  it("ResNet: residual ties join each block's last conv with its shortcut", () => {
    const m = prepareFloatModel(loadModel(join(MODELS_DIR, "resnet.onnx")), recipe).model;
    const s = mixedSites(m.graph!, recipe);
    const ties = tieGroups(m.graph!, s, { actsDiffer: false, tieResidual: true, ties: [] });
    const tied = ties.filter((t) => t.members.length > 1);
    expect(tied.length).toBeGreaterThan(0);
    expect(ties.reduce((n, t) => n + t.members.length, 0)).toBe(s.length);
    for (const t of tied) expect(t.reasons.every((r) => r.startsWith("inputs of residual Add"))).toBe(true);
  });
});
