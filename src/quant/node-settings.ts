/**
 * The settings of every node of a graph: the first `layers` rule that
 * matches it (layer-rules.ts), else the global recipe. This is the one place
 * the recipe's rules and `exclude` are applied to nodes; the planner and the
 * resolved plan (resolve-plan.ts) read its table.
 *
 * Checks, each a usage error naming the recipe file, the rule and the key:
 * every rule matches at least one node; every `exclude` entry names a node or
 * an op type of the model (the input model or the one after the float passes,
 * since BN folding removes nodes a user may name).
 */
import { FixqError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { matcherOf } from "./layer-rules.js";
import type { LayerRule, LayerSettings, Recipe } from "./recipe.js";

export interface NodeSettings {
  readonly settings: LayerSettings;
  /** The rule that decided (its index in `layers`), undefined for the global settings. */
  readonly rule?: LayerRule;
  /** Why the node stays float by the recipe's choice (exclude or a skip rule), undefined otherwise. */
  readonly skipped?: string;
}

/** Node settings by node index. */
export type NodeSettingsTable = readonly NodeSettings[];

const describeMatch = (r: LayerRule) => JSON.stringify(r.match);

/** Where the recipe's checks look beyond `g`'s own nodes. */
export interface SettingsScope {
  /** Nodes of control-flow bodies (qualified names, bodies.ts): rules and `exclude` entries may match them instead. */
  readonly extra?: readonly Node[];
  /** false for a body's own table: the checks ran once over the main graph and every body. */
  readonly check?: boolean;
}

/**
 * Applies the recipe to the nodes of `g`. `names` lists further node names
 * and op types an `exclude` entry may name (the input model's, before BN
 * folding); without it, entries are checked against `g` alone.
 */
export function nodeSettings(g: Graph, recipe: Recipe, names?: ReadonlySet<string>, scope: SettingsScope = {}): NodeSettingsTable {
  const where = recipe.recipeFile;
  const matchers = recipe.layers.map((r) => matcherOf(r.match));
  const used = new Set<number>();
  const matched = new Set<number>();
  const known = new Set(names ?? []);
  const all = [...g.nodes, ...(scope.extra ?? [])];
  const check = scope.check ?? true;
  for (const n of all) {
    known.add(n.opType);
    if (n.name) known.add(n.name);
  }
  for (const e of recipe.exclude) {
    // Not named after the recipe file: the entry may come from --exclude as well.
    if (check && !known.has(e)) throw new FixqError("usage", `exclude '${e}' names no node and no op type of the model`);
  }
  const table = all.map((n: Node): NodeSettings => {
    if (recipe.exclude.includes(n.opType) || (n.name !== undefined && recipe.exclude.includes(n.name))) return { settings: recipe, skipped: "excluded by --exclude" };
    matchers.forEach((m, j) => {
      if (m(n)) matched.add(j);
    });
    const k = matchers.findIndex((m) => m(n));
    if (k < 0) return { settings: recipe };
    used.add(k);
    const rule = recipe.layers[k]!;
    return rule.skip ? { settings: recipe, rule, skipped: `skipped by layers[${k}]` } : { settings: rule.settings, rule };
  });
  recipe.layers.forEach((r, k) => {
    if (used.has(k) || !check) return;
    const why = matched.has(k) ? "matches only nodes that earlier rules take (the first match wins)" : "matches no node of the model";
    throw new FixqError("usage", `layers[${k}].match ${describeMatch(r)} ${why}`, where);
  });
  return table.slice(0, g.nodes.length);
}
