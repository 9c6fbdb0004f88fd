/**
 * The layers mixed precision chooses formats for, and the groups that must
 * choose together.
 *
 * A layer is a Conv, ConvTranspose, Gemm or MatMul whose weight (input 1) is
 * a constant the plan quantizes (nodes the recipe excludes or skips, and
 * unnamed nodes, which a `layers` rule cannot name, keep the global format).
 *
 * Ties, merged with union-find, each recorded with its reason:
 * - layers reading one activation tensor share its activation format, so
 *   they are tied when the candidates' activation formats differ;
 * - `--tie-residual` (HAWQ-V3): the layers producing the inputs of a
 *   residual Add, Sum or Concat take one candidate; each input is followed
 *   back through single-input ops that keep the requantization (Relu, Clip,
 *   pooling, reshapes) to the layer that produced it;
 * - the recipe's `tie` lists name further sets of nodes.
 */
import { FixqError } from "../../ir/errors.js";
import type { Graph, Node } from "../../ir/graph.js";
import { inferTypes } from "../../ir/infer-types.js";
import { nodeMacs } from "../../ir/macs.js";
import { LAYER_OPS } from "../../passes/layers.js";
import { planQuantization, type WeightUse } from "../plan.js";
import type { Recipe } from "../recipe.js";

export interface MixedSite {
  readonly name: string;
  readonly node: Node;
  readonly use: WeightUse;
  /** MACs per sample (0 when the shapes do not tell). */
  readonly macs: number;
  /** The activation the layer reads. */
  readonly input: string;
}

export interface TieGroup {
  readonly name: string;
  readonly members: readonly string[];
  /** Why the members are tied (empty for a singleton). */
  readonly reasons: readonly string[];
}

/** The layers of `g` the recipe quantizes, in graph order. */
export function mixedSites(g: Graph, recipe: Recipe): MixedSite[] {
  const plan = planQuantization(g, recipe);
  const types = inferTypes(g);
  const out: MixedSite[] = [];
  for (const u of plan.weights) {
    if (u.slot !== 1 || u.asActivation || u.embedding || !LAYER_OPS.has(u.node.opType) || !u.node.name) continue;
    out.push({ name: u.node.name, node: u.node, use: u, macs: nodeMacs(u.node, types) ?? 0, input: u.node.inputs[0]! });
  }
  return out;
}

const PASS_THROUGH = new Set(["Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "Reshape", "Flatten", "Transpose", "Identity", "Squeeze", "Unsqueeze", "LeakyRelu", "BatchNormalization"]);

class UnionFind {
  private parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }
  union(a: number, b: number): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

export interface TieOptions {
  /** The candidates' activation formats differ: layers reading one tensor are tied. */
  readonly actsDiffer: boolean;
  readonly tieResidual: boolean;
  /** Sets of node names from the recipe's `tie`. */
  readonly ties: readonly (readonly string[])[];
  /** Names the recipe file in errors about `tie`. */
  readonly where?: string;
}

/** The tie groups of the sites (every site in exactly one group, singletons included). */
export function tieGroups(g: Graph, sites: readonly MixedSite[], o: TieOptions): TieGroup[] {
  const uf = new UnionFind(sites.length);
  const reasons = new Map<number, string[]>();
  const index = new Map(sites.map((s, i) => [s.name, i]));
  const tie = (members: number[], why: string) => {
    if (members.length < 2) return;
    for (const m of members.slice(1)) uf.union(members[0]!, m);
    for (const m of members) reasons.set(m, [...(reasons.get(m) ?? []), why]);
  };
  if (o.actsDiffer) {
    const byInput = new Map<string, number[]>();
    sites.forEach((s, i) => {
      byInput.set(s.input, [...(byInput.get(s.input) ?? []), i]);
    });
    for (const [t, members] of byInput) tie(members, `read one activation '${t}' (one activation format)`);
  }
  if (o.tieResidual) {
    const producer = new Map<string, Node>();
    for (const n of g.nodes) for (const y of n.outputs) producer.set(y, n);
    const siteOf = (value: string): number | undefined => {
      for (let v = value, hops = 0; hops < 64; hops++) {
        const p = producer.get(v);
        if (!p) return undefined;
        const i = p.name ? index.get(p.name) : undefined;
        if (i !== undefined) return i;
        if (!PASS_THROUGH.has(p.opType)) return undefined;
        v = p.inputs[0]!;
      }
      return undefined;
    };
    for (const n of g.nodes) {
      if (n.opType !== "Add" && n.opType !== "Sum" && n.opType !== "Concat") continue;
      const members = [...new Set(n.inputs.map(siteOf).filter((i): i is number => i !== undefined))];
      tie(members, `inputs of residual ${n.opType} '${n.name ?? n.outputs[0]}'`);
    }
  }
  o.ties.forEach((names, k) => {
    const members = names.map((name) => {
      const i = index.get(name);
      if (i === undefined) throw new FixqError("usage", `tie[${k}] names '${name}', which is not a layer mixed precision chooses for`, o.where);
      return i;
    });
    tie(members, `tie[${k}] in the recipe`);
  });
  const groups = new Map<number, number[]>();
  sites.forEach((_, i) => {
    const r = uf.find(i);
    groups.set(r, [...(groups.get(r) ?? []), i]);
  });
  return [...groups.values()].map((members) => ({
    name: sites[members[0]!]!.name,
    members: members.map((i) => sites[i]!.name),
    reasons: [...new Set(members.flatMap((i) => reasons.get(i) ?? []))],
  }));
}
