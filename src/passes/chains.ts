/**
 * Layer chains for equalization and bias absorption: layer₁ → op … → layer₂,
 * where every value after layer₁ has exactly one reader, is not a graph
 * output, and each op in between maps channel c of its input to channel c of
 * its output. The pass decides which ops it may cross (`LinkRule`): CLE needs
 * f(x/s) = f(x)/s per channel for s > 0, absorption needs f(x − c) = f(x) − c
 * for the inputs that occur.
 *
 * A Flatten(axis=1) of an [N, C, d…] value may sit between the layers: input
 * feature f of layer₂ then comes from channel ⌊f/S⌋ with S = Πd (`perChannel`).
 * The channel axis and rank must agree on both sides, so a Conv never chains
 * into a MatMul over the last axis.
 */
import { attr, isDefaultDomain } from "../ir/attrs.js";
import type { Node, TensorType } from "../ir/graph.js";
import type { GraphEdit } from "./graph-edit.js";
import { graphLayers, isLayerOp, type Layer } from "./layers.js";

export type LinkVerdict = "pass" | { readonly stop: string };
export type LinkRule = (ed: GraphEdit, n: Node) => LinkVerdict;

export interface Chain {
  readonly first: Layer;
  readonly second: Layer;
  /** The ops between the two layers, in order. */
  readonly through: readonly string[];
  /** Input features of the second layer per output channel of the first (a Flatten's spatial size, else 1). */
  readonly perChannel: number;
}

export interface Skipped {
  readonly layer: string;
  readonly reason: string;
}


/** Every chain starting at a layer of the graph, and for the other layers why none starts there. */
export function findChains(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, rule: LinkRule): { chains: Chain[]; skipped: Skipped[] } {
  const { layers, refused } = graphLayers(ed, types);
  const byNode = new Map(layers.map((l) => [l.node, l]));
  const whyNot = new Map(refused.map((r) => [r.layer, r.reason]));
  const chains: Chain[] = [];
  const skipped: Skipped[] = refused.map((r) => ({ layer: r.layer, reason: `not a rewritable layer: ${r.reason}` }));
  for (const first of layers) {
    const found = walk(ed, types, rule, first, byNode, whyNot);
    if ("reason" in found) skipped.push({ layer: first.name, reason: found.reason });
    else chains.push(found);
  }
  return { chains, skipped };
}

function walk(
  ed: GraphEdit,
  types: ReadonlyMap<string, TensorType>,
  rule: LinkRule,
  first: Layer,
  byNode: ReadonlyMap<number, Layer>,
  whyNot: ReadonlyMap<string, string>,
): Chain | { reason: string } {
  let v = first.output;
  const axis = first.outAxis;
  let rank = first.rank;
  let perChannel = 1;
  const through: string[] = [];
  for (;;) {
    if (ed.isGraphOutput(v)) return { reason: `'${v}' is a graph output` };
    const readers = ed.readers(v);
    if (readers === 0) return { reason: `nothing reads '${v}'` };
    if (readers > 1) return { reason: `'${v}' has ${readers} consumers (a branch point)` };
    const k = ed.consumers(v)[0];
    if (k === undefined) return { reason: `'${v}' is read only inside a subgraph` };
    const n = ed.node(k)!;
    const dataInput = n.inputs[0] === v && n.inputs.lastIndexOf(v) === 0;
    if (isLayerOp(n)) {
      if (!dataInput) return { reason: `'${v}' is not the data input of ${ed.label(k)}` };
      const second = byNode.get(k);
      if (!second) return { reason: `next layer ${ed.label(k)}: ${whyNot.get(ed.label(k)) ?? "not rewritable"}` };
      if (second.inAxis !== axis || second.rank !== rank) return { reason: `channel axis ${axis} of rank ${rank} does not meet ${second.name}'s input channel axis ${second.inAxis} of rank ${second.rank}` };
      if (second.inChannels !== first.outChannels * perChannel) return { reason: `${first.outChannels} channels do not match ${second.name}'s ${second.inChannels} inputs` };
      return { first, second, through, perChannel };
    }
    if (!isDefaultDomain(n)) return { reason: `${n.opType} (domain ${n.domain}) follows '${v}'` };
    if (n.opType === "Flatten") {
      const shape = types.get(v)?.shape;
      const spatial = shape?.slice(2);
      if (Number(attr(n, "axis")?.i ?? 1) !== 1 || axis !== 1 || !spatial || spatial.some((d) => typeof d !== "number") || perChannel !== 1) {
        return { reason: `Flatten of '${v}' does not keep channels as contiguous feature blocks` };
      }
      perChannel = (spatial as number[]).reduce((a, b) => a * b, 1);
      rank = 2;
    } else {
      const verdict = rule(ed, n);
      if (verdict !== "pass") return { reason: verdict.stop };
      if (n.outputs.slice(1).some((o) => o)) return { reason: `${ed.label(k)} has a second output in use` };
    }
    if (!dataInput) return { reason: `'${v}' is not the data input of ${ed.label(k)}` };
    through.push(n.opType);
    v = n.outputs[0]!;
  }
}

/** A Clip's bounds when they are constants (attributes before opset 11, inputs after); ±Infinity when absent. */
export function clipBounds(ed: GraphEdit, n: Node): { lo: number; hi: number } | undefined {
  const bound = (k: number, name: string, dflt: number): number | undefined => {
    const a = attr(n, name);
    if (a?.f !== undefined) return a.f;
    const input = n.inputs[k];
    if (!input) return dflt;
    const f = ed.floats(input);
    return f && f.length === 1 ? f[0]! : undefined;
  };
  const lo = bound(1, "min", Number.NEGATIVE_INFINITY);
  const hi = bound(2, "max", Number.POSITIVE_INFINITY);
  return lo === undefined || hi === undefined ? undefined : { lo, hi };
}

/** Clip(0, 6), the form ReLU6 exports to. */
export function isRelu6(ed: GraphEdit, n: Node): boolean {
  if (n.opType !== "Clip" || !isDefaultDomain(n)) return false;
  const b = clipBounds(ed, n);
  return b !== undefined && b.lo === 0 && b.hi === 6;
}

/** Ops that act on each element alone or pool within a channel, and commute with a positive per-channel scale. */
const SCALE_EQUIVARIANT = new Set(["Relu", "LeakyRelu", "PRelu", "Identity", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"]);

/**
 * CLE's rule. Relu, LeakyRelu and PRelu keep the sign of their input, and a
 * positive scale keeps it too, so act(x/s) = act(x)/s whatever the slopes.
 * Pooling within a channel commutes with scaling it (padding is −∞ for max,
 * zero or excluded for average). Clip(0, ∞) is a ReLU; a Clip with a finite
 * bound (ReLU6) is not scale-equivariant.
 */
export const scaleRule: LinkRule = (ed, n) => {
  if (SCALE_EQUIVARIANT.has(n.opType)) return "pass";
  if (n.opType === "Clip") {
    const b = clipBounds(ed, n);
    if (!b) return { stop: "Clip with non-constant bounds" };
    if (isRelu6(ed, n)) return { stop: "ReLU6 (Clip 0..6) is not scale-equivariant (--relu6-to-relu replaces it)" };
    if ((b.lo === 0 || b.lo === Number.NEGATIVE_INFINITY) && b.hi === Number.POSITIVE_INFINITY) return "pass";
    return { stop: `Clip(${b.lo}, ${b.hi}) is not scale-equivariant` };
  }
  return { stop: `${n.opType} is not known to be scale-equivariant` };
};
