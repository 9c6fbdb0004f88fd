/**
 * `fixq compile --target hls --recipe FILE`: the per-layer reuse factors of a
 * recipe's `layers` rules. Each node of the QDQ model takes the first rule
 * matching it (as `fixq quantize` does); where that rule sets `reuseFactor`,
 * the layer lowered from the node (its source, `Conv '/c1/Conv'`) gets it.
 * Only `layers` is read; the rest of the recipe is checked for shape and left
 * to `fixq quantize`. A rule with a reuseFactor matching no node is refused.
 */
import { readFileSync } from "node:fs";
import { label } from "../integer/lowering-context.js";
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { matcherOf, parseLayerRules } from "../quant/layer-rules.js";
import { checkObject, RECIPE_SCHEMA } from "../quant/recipe-schema.js";
import { checkJsonFile, recipeReadError } from "./file-kinds.js";

export function reuseFactorsOf(path: string, model: Model): Map<string, number> {
  checkJsonFile(path, "a JSON recipe", "usage");
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw e instanceof SyntaxError ? new FixqError("usage", `recipe is not valid JSON: ${e.message}`, path) : recipeReadError(path, e);
  }
  const recipe = checkObject(value, RECIPE_SCHEMA, path, "");
  const rules = recipe["layers"] === undefined ? [] : parseLayerRules(recipe["layers"], path);
  const matchers = rules.map((r) => matcherOf(r.match));
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const n of model.graph?.nodes ?? []) {
    const k = matchers.findIndex((m) => m(n));
    const r = rules[k]?.reuseFactor;
    if (r === undefined) continue;
    out.set(label(n), r);
    used.add(k);
  }
  rules.forEach((r, k) => {
    if (r.reuseFactor !== undefined && !used.has(k)) throw new FixqError("usage", `'layers[${k}]' sets reuseFactor but matches no node of the model`, path);
  });
  return out;
}
