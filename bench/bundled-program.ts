/**
 * A bundled model as the integer benches take it: quantized with the default
 * recipe on its calibration set (the float model kept for the anchors), then lowered to the integer program, or the
 * first line of the reason the lowering refuses it.
 */
import type { BundledModel } from "../src/data/manifest.js";
import { MODELS_DIR } from "../src/data/manifest.js";
import { integerizeModel } from "../src/integer/integerize.js";
import type { Program } from "../src/integer/program.js";
import type { Model } from "../src/ir/graph.js";
import { loadModel } from "../src/ir/onnx/load.js";
import { npyFileSource } from "../src/quant/feeds.js";
import { quantizeModel } from "../src/quant/quantize.js";
import { buildRecipe } from "../src/quant/recipe.js";
import { join } from "node:path";

export async function bundledProgram(m: BundledModel): Promise<{ float: Model; q: Model; p: Program } | { refused: string }> {
  const float = loadModel(join(MODELS_DIR, m.file));
  const source = npyFileSource(float.graph!, join(MODELS_DIR, m.data.calibration));
  const q = (await quantizeModel(float, source, buildRecipe({}))).model;
  source.close();
  try {
    return { float, q, p: integerizeModel(q) };
  } catch (e) {
    return { refused: String((e as Error).message).split("\n")[0]! };
  }
}
