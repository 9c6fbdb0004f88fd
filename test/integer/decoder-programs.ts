/** The decoder models of decoder-models.ts quantized (default recipe, calibrated on their feeds) and integerized, for the back-end suites. */
import { integerizeModel } from "../../src/integer/integerize.js";
import type { Program } from "../../src/integer/program.js";
import { arraySource } from "../../src/quant/feeds.js";
import { quantizeModel } from "../../src/quant/quantize.js";
import { buildRecipe } from "../../src/quant/recipe.js";
import type { PipelineCase } from "./integer-pipeline.js";

export async function lowerCase(c: PipelineCase): Promise<Program> {
  const host = Object.fromEntries(Object.entries(c.feeds).map(([k, data]) => [k, { dtype: 1, dims: c.dims[k]!, data }]));
  const { model } = await quantizeModel(c.model, arraySource(host), buildRecipe({}), { threads: 1 });
  return integerizeModel(model);
}
