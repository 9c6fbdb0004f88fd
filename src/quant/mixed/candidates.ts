/**
 * `--mixed CANDIDATES`: a comma list of `WEIGHTS[/ACTS]` formats, each a name
 * `--weights` (and `--acts`) accept; commas inside `<…>` do not split (the
 * fixed-point names `ap_fixed<8,3>`). `/ACTS` omitted means the recipe's
 * activations. Each candidate resolves to the layer settings a `layers` rule
 * with those keys would give, through the same checks.
 */
import { FixqError } from "../../ir/errors.js";
import { isFloatType, parseWeightType, requiredBlockSize } from "../format-names.js";
import type { LayerOverrides } from "../layer-rules.js";
import { type LayerSettings, layerSettingsFor, type Recipe } from "../recipe.js";

/** Runs `f`, prefixing a usage error's message with `what`. */
function within<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FixqError && e.code === "usage") throw new FixqError("usage", `${what}: ${e.message}`);
    throw e;
  }
}

export interface Candidate {
  /** As given: the key of the candidate in the `mixed` report. */
  readonly text: string;
  readonly weights: string;
  readonly acts?: string;
  readonly settings: LayerSettings;
}

/** Splits on commas that are not inside `<…>`; empty items are a usage error. */
export function splitCandidates(text: string, flag = "--mixed"): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "<") depth++;
    if (ch === ">") depth = Math.max(0, depth - 1);
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  if (out.some((s) => s === "")) throw new FixqError("usage", `${flag} '${text}': an empty candidate (two commas in a row, or a trailing comma)`);
  return out;
}

/** The candidates of a `--mixed` list against the global recipe; at least two, no repeats. */
export function parseCandidates(text: string, recipe: Recipe, flag = "--mixed"): Candidate[] {
  const items = splitCandidates(text, flag);
  if (items.length < 2) throw new FixqError("usage", `${flag} '${text}': give at least two candidates (e.g. int4,int8)`);
  const seen = new Set<string>();
  return items.map((item) => {
    if (seen.has(item)) throw new FixqError("usage", `${flag}: candidate '${item}' is given twice`);
    seen.add(item);
    const slash = item.lastIndexOf("/");
    const weights = slash < 0 ? item : item.slice(0, slash).trim();
    const acts = slash < 0 ? undefined : item.slice(slash + 1).trim();
    if (weights === "" || acts === "") throw new FixqError("usage", `${flag}: candidate '${item}' must be WEIGHTS or WEIGHTS/ACTS`);
    const what = `${flag} candidate '${item}'`;
    // MX and NVFP4 weights are always blocked: their block size replaces the recipe's granularity.
    const parsed = within(what, () => parseWeightType(weights));
    const block = isFloatType(parsed.weights) ? requiredBlockSize(parsed.weights) : undefined;
    const overrides: LayerOverrides = { weights, ...(acts === undefined ? {} : { acts }), ...(block === undefined ? {} : { granularity: `per-block:${block}` }) };
    const settings = layerSettingsFor(recipe, overrides, what);
    return { text: item, weights, acts, settings };
  });
}
