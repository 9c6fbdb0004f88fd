/**
 * Per-layer rules of a recipe (`layers`): an ordered list, each a `match` and
 * the settings it overrides for the nodes it matches. The first rule that
 * matches a node wins; nodes no rule matches take the global settings.
 *
 * `match` holds any of:
 *   name       a node name, exactly or as a glob: `*` matches any run of
 *              characters (`/` included: exported names look like
 *              `/layer1/conv1/Conv`), `?` any one character
 *   nameRegex  a JavaScript regular expression searched in the node name
 *   op         an op type or a list of them
 * and all that are given must hold. A rule must match at least one node of
 * the model it is applied to (checked when the plan is resolved).
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { checkObject, LAYER_MATCH_SCHEMA, LAYER_RULE_SCHEMA } from "./recipe-schema.js";

/** How weight codes are chosen: nearest, or learned from data (quant/rounding/). */
export type WeightRounding = "nearest" | "gptq" | "adaround";
export const WEIGHT_ROUNDINGS: readonly WeightRounding[] = ["nearest", "gptq", "adaround"];

export interface LayerMatch {
  readonly name?: string;
  readonly nameRegex?: string;
  readonly op?: readonly string[];
}

/** The settings a rule may override, as raw option values (applied like flags on top of the global recipe). */
export interface LayerOverrides {
  format?: string;
  weights?: string;
  acts?: string;
  granularity?: string;
  weightBits?: number | string;
  calibration?: string;
}

/** A rule as written in the recipe, checked for shape. */
export interface LayerRuleInput extends LayerOverrides {
  match: LayerMatch;
  weightRounding?: string;
  reuseFactor?: number;
  skip?: boolean;
}

const OVERRIDE_KEYS = ["format", "weights", "acts", "granularity", "weightBits", "calibration"] as const;

/** The keys of a rule that override quantization settings. */
export function overridesOf(r: LayerRuleInput): LayerOverrides {
  const o: LayerOverrides = {};
  for (const k of OVERRIDE_KEYS) if (r[k] !== undefined) (o as Record<string, unknown>)[k] = r[k];
  return o;
}

/** `*` → any characters (including `/`), `?` → one character, everything else literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s");
}

/** Checks the shape of a `layers` list (keys and JSON types) and returns its rules; `where` names the recipe file. */
export function parseLayerRules(value: unknown, where: string): LayerRuleInput[] {
  if (!Array.isArray(value)) throw new FixqError("usage", `'layers' must be an array of rules, got ${value === null ? "null" : typeof value}`, where);
  return value.map((raw, i) => {
    const path = `layers[${i}]`;
    const r = checkObject(raw, LAYER_RULE_SCHEMA, where, path);
    if (r["match"] === undefined) throw new FixqError("usage", `'${path}.match' is missing: a rule needs a match (name, nameRegex and/or op)`, where);
    const m = checkObject(r["match"], LAYER_MATCH_SCHEMA, where, `${path}.match`);
    if (Object.keys(m).length === 0) throw new FixqError("usage", `'${path}.match' is empty: give name, nameRegex and/or op`, where);
    if (typeof m["nameRegex"] === "string") {
      try {
        new RegExp(m["nameRegex"]);
      } catch (e) {
        throw new FixqError("usage", `'${path}.match.nameRegex' is not a valid regular expression: ${(e as Error).message}`, where);
      }
    }
    const op = m["op"] === undefined ? undefined : Array.isArray(m["op"]) ? (m["op"] as string[]) : [m["op"] as string];
    const rounding = r["weightRounding"];
    if (rounding !== undefined && !WEIGHT_ROUNDINGS.includes(rounding as WeightRounding)) {
      throw new FixqError("usage", `'${path}.weightRounding' must be one of ${WEIGHT_ROUNDINGS.join(", ")}, got '${rounding}'`, where);
    }
    const reuse = r["reuseFactor"];
    if (reuse !== undefined && !(Number.isInteger(reuse) && (reuse as number) > 0)) throw new FixqError("usage", `'${path}.reuseFactor' must be a positive integer, got ${JSON.stringify(reuse)}`, where);
    if (r["skip"] === true && Object.keys(r).some((k) => k !== "match" && k !== "skip")) {
      throw new FixqError("usage", `'${path}' has skip: true with other settings; a skipped layer stays float, so drop them`, where);
    }
    return { ...(r as unknown as LayerRuleInput), match: { ...(m as LayerMatch), op } };
  });
}

/** A compiled matcher for a rule's `match`. */
export function matcherOf(m: LayerMatch): (n: Node) => boolean {
  const glob = m.name === undefined ? undefined : globToRegExp(m.name);
  const regex = m.nameRegex === undefined ? undefined : new RegExp(m.nameRegex);
  const ops = m.op === undefined ? undefined : new Set(m.op);
  return (n) => {
    const name = n.name ?? "";
    if (glob && !glob.test(name)) return false;
    if (regex && !regex.test(name)) return false;
    return !ops || ops.has(n.opType);
  };
}
