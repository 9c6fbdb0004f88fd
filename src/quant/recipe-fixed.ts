/**
 * How fixed-point formats (fixed-formats.ts) set a recipe's fields: the
 * weights' storage type with weightBits = W over the whole W-bit range and
 * one scale per tensor (blocks refused, a contrary --weight-bits refused);
 * the activations' storage type with the design kept beside it.
 */
import { FixqError } from "../ir/errors.js";
import type { FixedSetting } from "./fixed-formats.js";
import { parseActFormat } from "./format-names.js";
import type { Recipe } from "./recipe.js";

/** Fixed-point weights: W value bits, the whole W-bit range; `given` records weightBits as set. */
export function setFixedWeights(r: Recipe, f: FixedSetting, given: Set<string>): void {
  r.fixedWeights = f;
  r.weightBits = f.bits;
  r.exactWeightRange = true;
  given.add("weightBits");
}

/** `--acts X`: its storage type, and its design when X is fixed point (else none). */
export function setActs(r: Recipe, text: string, flag = "--acts"): void {
  const a = parseActFormat(text, flag);
  r.acts = a.acts;
  delete r.fixedActs;
  if (a.fixed) r.fixedActs = a.fixed;
}

/** Fixed-point weights are per tensor with W value bits. */
export function settleFixedWeights(r: Recipe): void {
  if (!r.fixedWeights) return;
  if (r.weightBits !== r.fixedWeights.bits) throw new FixqError("usage", `--weight-bits ${r.weightBits} contradicts ${r.fixedWeights.name}, whose W is ${r.fixedWeights.bits}`);
  if (r.granularity.kind === "per-block") throw new FixqError("usage", `fixed-point weights (${r.fixedWeights.name}) have one power-of-two scale per tensor, not blocks`);
  r.granularity = { kind: "per-tensor" };
}
