/**
 * Initializers listed as graph inputs (IR < 4 exports) are quantized as the
 * constants they are meant to be: the pass drops them from the inputs, and
 * `quantizeModel` on the bundled resnet.bn with every initializer declared
 * as an input writes the very bytes it writes for resnet.bn itself (BN
 * folded, every layer quantized), with one warning naming the count.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../src/data/manifest.js";
import type { Model } from "../../src/ir/graph.js";
import { loadModel } from "../../src/ir/onnx/load.js";
import { encodeModel } from "../../src/ir/onnx/save.js";
import { initializersAsConstants } from "../../src/passes/initializer-inputs.js";
import { npyFileSource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import { graph, node, value } from "../ir/builders.js";
import { tensor } from "./float-helpers.js";

/** `m` with each initializer also declared as a graph input, as IR 3 exporters wrote them. */
function withInitializersAsInputs(m: Model): Model {
  const g = m.graph!;
  const asInputs = g.initializers.map((t) => value(t.name!, t.dtype, t.dims.map(Number)));
  return { ...m, graph: { ...g, inputs: [...g.inputs, ...asInputs] } };
}

async function quantize(m: Model) {
  const source = npyFileSource(m.graph!, join(MODELS_DIR, "data/calib.npy"), 64);
  try {
    return await quantizeModel(m, source, buildRecipe({}), { threads: 1 });
  } finally {
    source.close();
  }
}

describe("initializersAsConstants", () => {
  it("drops the inputs that name an initializer, keeps the others, and returns the same graph when there are none", () => {
    const g = graph([node("Add", ["x", "b"], ["y"])], [value("x", 1, [2]), value("b", 1, [2])], [value("y", 1, [2])], [tensor("b", [2], [1, 2])]);
    const r = initializersAsConstants(g);
    expect(r.removed).toEqual(["b"]);
    expect(r.graph.inputs.map((v) => v.name)).toEqual(["x"]);
    expect(initializersAsConstants(r.graph).graph).toBe(r.graph);
  });

  it("quantize: resnet.bn with its initializers as inputs gives resnet.bn's bytes (BN folded), and says so once", async () => {
    const plain = loadModel(join(MODELS_DIR, "resnet.bn.onnx"));
    const ir3 = withInitializersAsInputs(plain);
    const [a, b] = [await quantize(plain), await quantize(ir3)];
    expect(b.passes.find((p) => p.name === "fold-batchnorm")?.changed).toBe(true);
    expect(b.decisions.filter((d) => !d.quantized && d.node.opType === "BatchNormalization")).toEqual([]);
    expect(Buffer.compare(encodeModel(a.model), encodeModel(b.model))).toBe(0);
    expect(a.warnings).toEqual([]);
    expect(b.warnings).toHaveLength(1);
    expect(b.warnings[0]).toMatch(new RegExp(`^${ir3.graph!.initializers.length} initializers are also listed as graph inputs`));
  }, 60_000);
});
