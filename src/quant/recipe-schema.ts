/**
 * The shape of a recipe file, checked before any value is interpreted: the
 * top level must be a JSON object, every key must be known (a typo is named
 * with the closest valid key), and every value must have the right JSON type.
 * The same checker runs on the top level and on every `layers` rule and its
 * `match`, so all three report mistakes the same way: one line naming the
 * file, the key's path (`layers[2].weigths`) and what is expected; the CLI
 * exits 2 (a usage error).
 *
 * The closest key is the one at the smallest Levenshtein distance (insertions,
 * deletions, substitutions, each costing 1), offered when that distance is at
 * most max(2, ⌊len/3⌋).
 */
import { FixqError } from "../ir/errors.js";

/** JSON types a key accepts: "string", "number", "boolean", "string[]", "number[]", "object", "object[]". */
export type JsonKind = "string" | "number" | "boolean" | "string[]" | "string[][]" | "number[]" | "object" | "object[]";

/** Known keys with the JSON types each accepts (a number given as a string is also accepted where "number" is listed with "string"). */
export type Schema = Readonly<Record<string, readonly JsonKind[]>>;

/** The top level of a recipe file: every `fixq quantize` option, and `layers`. */
export const RECIPE_SCHEMA: Schema = {
  format: ["string"],
  weights: ["string"],
  weightBits: ["number", "string"],
  acts: ["string"],
  granularity: ["string"],
  symmetricActs: ["boolean"],
  calibration: ["string"],
  exclude: ["string[]", "string"],
  opset: ["number", "string"],
  calibSamples: ["number", "string"],
  batchSize: ["number", "string"],
  cle: ["boolean"],
  absorbBias: ["boolean"],
  relu6ToRelu: ["boolean"],
  biasCorrection: ["string"],
  dataFree: ["boolean"],
  inputRange: ["number[]", "string"],
  fp4Storage: ["string"],
  targetCpu: ["string"],
  weightRounding: ["string"],
  int4Grid: ["string"],
  blockScale: ["string"],
  gptqDamp: ["number", "string"],
  gptqLazyBatch: ["number", "string"],
  gptqActOrder: ["boolean"],
  adaroundIters: ["number", "string"],
  adaroundBatch: ["number", "string"],
  adaroundLoss: ["string"],
  adaroundChunks: ["number", "string"],
  adaroundClipCompensation: ["boolean"],
  adaroundExhaustive: ["boolean"],
  adaroundExactTail: ["number", "string"],
  adaroundWideBatch: ["number", "string"],
  adaroundWideRank: ["number", "string"],
  adaroundTokenBatch: ["number", "string"],
  layers: ["object[]"],
  // Deployment (cli/deployment-keys.ts).
  weightOnlyOp: ["string"],
  nbitsAccuracyLevel: ["number", "string"],
  smooth: ["boolean", "number", "string"],
  rotate: ["boolean", "string"],
  // Mixed precision (cli/quantize-mixed.ts).
  mixed: ["string"],
  budget: ["string", "string[]"],
  tieResidual: ["boolean"],
  tie: ["string[][]"],
  latencyTable: ["string"],
  measureLatency: ["string"],
  latencySamples: ["number", "string"],
  latencyRuns: ["number", "string"],
  sensitivity: ["string"],
  sensitivityCache: ["string"],
  sensitivitySamples: ["number", "string"],
  mixedSearch: ["number", "string"],
  mixedScore: ["string"],
  mixedLabels: ["string"],
};

/** One `layers` rule: a match and the settings it overrides. */
export const LAYER_RULE_SCHEMA: Schema = {
  match: ["object"],
  format: ["string"],
  weights: ["string"],
  acts: ["string"],
  granularity: ["string"],
  weightBits: ["number", "string"],
  calibration: ["string"],
  weightRounding: ["string"],
  reuseFactor: ["number"],
  skip: ["boolean"],
};

/** A rule's `match`: every key given must hold. */
export const LAYER_MATCH_SCHEMA: Schema = {
  name: ["string"],
  nameRegex: ["string"],
  op: ["string", "string[]"],
};

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known key closest to `key`, when it is close enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  return v === null ? "null" : typeof v;
}

function fits(v: unknown, kind: JsonKind): boolean {
  switch (kind) {
    case "string[]":
      return Array.isArray(v) && v.every((x) => typeof x === "string");
    case "string[][]":
      return Array.isArray(v) && v.every((x) => Array.isArray(x) && x.every((y) => typeof y === "string"));
    case "number[]":
      return Array.isArray(v) && v.every((x) => typeof x === "number");
    case "object[]":
      return Array.isArray(v) && v.every((x) => kindOf(x) === "object");
    case "object":
      return kindOf(v) === "object";
    default:
      return typeof v === kind;
  }
}

const expected = (kinds: readonly JsonKind[]) => kinds.map((k) => (k === "string[][]" ? "an array of arrays of strings" : k.endsWith("[]") ? `an array of ${k.slice(0, -2)}s` : k === "object" ? "an object" : `a ${k}`)).join(" or ");

/**
 * Checks that `value` is an object whose keys are all in `schema`, each of an
 * accepted type. `where` names the file, `path` the position inside it ("" at
 * the top level, "layers[1]" for a rule).
 */
export function checkObject(value: unknown, schema: Schema, where: string, path: string): Record<string, unknown> {
  const at = path || "the top level";
  if (kindOf(value) !== "object") throw new FixqError("usage", `${at} must be a JSON object, got ${kindOf(value)}`, where);
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    const keyPath = path ? `${path}.${key}` : key;
    const kinds = schema[key];
    if (!kinds) {
      const near = closestKey(key, Object.keys(schema));
      throw new FixqError("usage", `unknown key '${keyPath}'${near ? ` (did you mean '${near}'?)` : ""}; known keys: ${Object.keys(schema).join(", ")}`, where);
    }
    if (!kinds.some((k) => fits(v, k))) throw new FixqError("usage", `'${keyPath}' must be ${expected(kinds)}, got ${kindOf(v)} ${JSON.stringify(v)}`, where);
  }
  return obj;
}
