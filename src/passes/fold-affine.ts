/**
 * foldAffine: folds a multiplication, division or addition by a constant
 * (one value, or one per channel) into the linear layer next to it, as BN
 * folding does for BatchNormalization. PP-LCNet-style backbones (PaddleOCR)
 * export a "learnable affine" y = a·x + b as a Mul and an Add by constants
 * around every activation; each one left in the graph is a point where a
 * quantized model rounds again. Per output channel k (or input channel c) of
 * the layer, with W its weight and b its bias:
 *
 *   after the layer   (x∗W + b)·a_k   →  W'[k, …] = W[k, …]·a_k,  b'_k = b_k·a_k
 *                     (x∗W + b)/a_k   →  the same with 1/a_k
 *                     (x∗W + b) + d_k →  b'_k = b_k + d_k
 *   before the layer  (x·a_c)∗W       →  W'[…, c, …] = W[…, c, …]·a_c   (exact with zero padding: a·0 = 0)
 *                     (x/a_c)∗W       →  the same with 1/a_c
 *                     (x + d_c)∗W     →  b'_k = b_k + α·Σ_{c,taps} W[k, c, taps]·d_c
 *                                        (only without padding: a padded border would read d, not 0)
 *
 * The folded graph computes the same function up to float rounding. An op
 * folds only when the value between it and the layer has no other reader, the
 * constant does not broadcast the other operand to a larger shape, and the
 * layer's weight and bias are float32 constants read by it alone. A Mul (or
 * Div) followed by an Add before a padded layer is rewritten as the Add of d/a
 * first, (x·a + d) = (x + d/a)·a with every a ≠ 0, so that the Mul meets the
 * layer and folds. One op folds per layer per round; rounds repeat until
 * nothing changes. BN statistics kept on a layer's output (fold-batchnorm.ts)
 * follow it: β·a and γ·|a| for a Mul, β + d for an Add.
 */
import { attrString, isDefaultDomain } from "../ir/attrs.js";
import type { Graph, Node, TensorType } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { GraphEdit } from "./graph-edit.js";
import { isLayerOp, type Layer, layerProducing, perChannelShape, readBias, readLayer, readWeights, weightLayout, writeBias, writeWeights } from "./layers.js";

export interface AffineReport {
  readonly pass: "fold-affine";
  /** Each op folded: the node, the layer it went into and on which side of it. */
  readonly folded: readonly { readonly node: string; readonly into: string; readonly side: "after" | "before" }[];
}

const MAX_ROUNDS = 16;

/** A Mul, Div or Add with a float constant operand (the divisor, for Div): the op, the data operand and the constant. */
interface ConstOp {
  readonly op: "Mul" | "Div" | "Add";
  readonly x: string;
  readonly c: string;
  readonly values: Float64Array;
  readonly dims: readonly number[];
}

function constOp(ed: GraphEdit, n: Node): ConstOp | undefined {
  if (!isDefaultDomain(n) || n.inputs.length !== 2 || (n.opType !== "Mul" && n.opType !== "Div" && n.opType !== "Add")) return undefined;
  for (const k of n.opType === "Div" ? [1] : [0, 1]) {
    const c = n.inputs[k]!;
    const x = n.inputs[1 - k]!;
    const t = ed.constantThrough(c);
    const values = ed.floats(c);
    if (!t || !values || !x || ed.constantThrough(x)) continue;
    return { op: n.opType, x, c, values, dims: t.dims };
  }
  return undefined;
}

/** The constant as one factor or offset per channel (factors inverted for Div), or undefined when one is not finite. */
function perChannel(o: ConstOp, channels: number): Float64Array | undefined {
  const v = new Float64Array(channels);
  for (let k = 0; k < channels; k++) {
    const a = o.values.length === 1 ? o.values[0]! : o.values[k]!;
    v[k] = o.op === "Div" ? 1 / a : a;
    if (!Number.isFinite(v[k]!)) return undefined;
  }
  return v;
}

/** True when the layer reads zeros around its input (padding), or its borders see fewer taps: an input offset does not fold. */
function pads(n: Node): boolean {
  if (n.opType === "ConvTranspose") return true;
  if (n.opType !== "Conv") return false;
  const auto = attrString(n, "auto_pad") ?? "NOTSET";
  if (auto !== "NOTSET" && auto !== "VALID") return true;
  return (n.attributes.find((a) => a.name === "pads")?.ints ?? []).some((x) => Number(x) !== 0);
}

/** Folds node i into the layer that computes its data operand; the layer's name, or undefined. */
function foldAfter(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, i: number, n: Node, o: ConstOp, used: Set<number>): string | undefined {
  if (ed.isGraphOutput(o.x) || ed.readers(o.x) !== 1) return undefined;
  const layer = layerProducing(ed, types, o.x);
  if ("reason" in layer || used.has(layer.node)) return undefined;
  if (!perChannelShape(o.dims, layer.outChannels, layer.outAxis, layer.rank)) return undefined;
  const a = perChannel(o, layer.outChannels);
  if (!a) return undefined;
  const y = n.outputs[0]!;
  const b = readBias(ed, layer);
  if (o.op === "Add") {
    for (let k = 0; k < b.length; k++) b[k] = b[k]! + a[k]!;
  } else {
    const w = readWeights(ed, layer);
    const { out } = weightLayout(ed, layer);
    for (let idx = 0; idx < w.length; idx++) w[idx] = w[idx]! * a[out[idx]!]!;
    writeWeights(ed, layer, w);
    for (let k = 0; k < b.length; k++) b[k] = b[k]! * a[k]!;
  }
  const last = layer.addNode ?? layer.node;
  const lastNode = ed.node(last)!;
  ed.replaceNode(last, { ...lastNode, outputs: [y, ...lastNode.outputs.slice(1)] });
  if (layer.bias || o.op === "Add") writeBias(ed, { ...layer, output: y }, b);
  ed.removeNode(i);
  const stats = ed.bnStats(o.x);
  if (stats) {
    ed.setBnStats(o.x, undefined);
    const beta = stats.beta.map((v, k) => (o.op === "Add" ? v + a[k]! : v * a[k]!));
    const gamma = stats.gamma.map((v, k) => (o.op === "Add" ? v : v * Math.abs(a[k]!)));
    ed.setBnStats(y, { beta, gamma });
  }
  used.add(layer.node);
  return layer.name;
}

/** The layer reading `value` as its data input, when it is the value's only reader. */
function layerReading(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, value: string): Layer | undefined {
  if (ed.isGraphOutput(value) || ed.readers(value) !== 1) return undefined;
  const j = ed.consumers(value)[0];
  const l = j === undefined ? undefined : ed.node(j);
  if (!l || !isLayerOp(l) || l.inputs[0] !== value || l.inputs.slice(1).includes(value)) return undefined;
  const layer = readLayer(ed, types, j!);
  return "reason" in layer ? undefined : layer;
}

/** True when `o`'s constant is per input channel of `layer` and leaves the data operand's shape as it is. */
function keepsShape(types: ReadonlyMap<string, TensorType>, o: ConstOp, layer: Layer): boolean {
  if (!perChannelShape(o.dims, layer.inChannels, layer.inAxis, layer.rank)) return false;
  if (o.values.length === 1) return true;
  const shape = types.get(o.x)?.shape;
  return shape !== undefined && shape.length === layer.rank && shape[layer.inAxis] === layer.inChannels;
}

/** Folds node i into the layer that reads its output; the layer's name, or undefined. */
function foldBefore(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, i: number, n: Node, o: ConstOp, used: Set<number>): string | undefined {
  const layer = layerReading(ed, types, n.outputs[0]!);
  if (!layer || used.has(layer.node) || !keepsShape(types, o, layer)) return undefined;
  const l = ed.node(layer.node)!;
  if (o.op === "Add" && pads(l)) return undefined;
  const a = perChannel(o, layer.inChannels);
  if (!a) return undefined;
  ed.replaceNode(layer.node, { ...l, inputs: [o.x, ...l.inputs.slice(1)] });
  const w = readWeights(ed, layer);
  const lay = weightLayout(ed, layer);
  if (o.op === "Add") {
    const b = readBias(ed, layer);
    for (let idx = 0; idx < w.length; idx++) b[lay.out[idx]!] = b[lay.out[idx]!]! + layer.alpha * w[idx]! * a[lay.in[idx]!]!;
    writeBias(ed, layer, b);
  } else {
    for (let idx = 0; idx < w.length; idx++) w[idx] = w[idx]! * a[lay.in[idx]!]!;
    writeWeights(ed, layer, w);
  }
  ed.removeNode(i);
  used.add(layer.node);
  return layer.name;
}

/**
 * x·a + d (or x/a + d) before a padded layer, rewritten as (x + d/a)·a: node i (the Add) moves before the
 * Mul, so the Mul meets the layer. Needs every a ≠ 0, the Add's constant private (it becomes d/a), the Mul's output read by the
 * Add alone. Returns the Mul's old index, or undefined.
 */
function swapBeforePaddedLayer(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, i: number, n: Node, o: ConstOp): number | undefined {
  if (o.op !== "Add") return undefined;
  const layer = layerReading(ed, types, n.outputs[0]!);
  const p = ed.producer(o.x);
  const m = p === undefined ? undefined : ed.node(p);
  const mo = m && constOp(ed, m);
  if (!layer || !m || !mo || mo.op === "Add" || !pads(ed.node(layer.node)!) || !keepsShape(types, o, layer) || !keepsShape(types, mo, layer)) return undefined;
  if (ed.readers(o.x) !== 1 || ed.isGraphOutput(o.x) || ed.notWritable(o.c)) return undefined;
  const a = perChannel(mo, layer.inChannels);
  const d = perChannel(o, layer.inChannels);
  if (!a || !d || a.some((v) => v === 0)) return undefined;
  // d/a: one value when both have one, else one per channel in the shape of whichever has them.
  const scalar = o.values.length === 1 && mo.values.length === 1;
  ed.setConstant(o.c, o.values.length === 1 && !scalar ? mo.dims : o.dims, scalar ? [d[0]! / a[0]!] : Array.from(d, (v, k) => v / a[k]!));
  // The nodes trade places, so the graph stays in topological order: the Add at the Mul's index, and back.
  const mid = o.x;
  ed.replaceNode(p!, { ...n, inputs: n.inputs.map((v) => (v === o.x ? mo.x : v)), outputs: [mid] });
  ed.replaceNode(i, { ...m, inputs: m.inputs.map((v) => (v === mo.x ? mid : v)), outputs: [n.outputs[0]!] });
  return p;
}

/** One round: every op that can fold does (one per layer); swaps wait for the next round to fold. */
function foldRound(g: Graph): { graph: Graph; folded: AffineReport["folded"] } {
  const ed = new GraphEdit(g);
  const types = inferTypes(g);
  const used = new Set<number>();
  const touched = new Set<number>();
  const folded: { node: string; into: string; side: "after" | "before" }[] = [];
  for (let i = 0; i < ed.nodeCount; i++) {
    const n = ed.node(i);
    const o = n && !touched.has(i) ? constOp(ed, n) : undefined;
    if (!n || !o) continue;
    const label = ed.label(i);
    const after = foldAfter(ed, types, i, n, o, used);
    const before = after ? undefined : foldBefore(ed, types, i, n, o, used);
    if (after || before) {
      folded.push({ node: label, into: (after ?? before)!, side: after ? "after" : "before" });
      continue;
    }
    const p = ed.producer(o.x);
    if (p === undefined || touched.has(p)) continue;
    const moved = swapBeforePaddedLayer(ed, types, i, n, o);
    if (moved !== undefined) touched.add(i).add(moved);
  }
  return { graph: ed.finish(), folded };
}

export function foldAffine(g: Graph): { graph: Graph; report: AffineReport } {
  const folded: AffineReport["folded"][number][] = [];
  let graph = g;
  for (let r = 0; r < MAX_ROUNDS; r++) {
    const out = foldRound(graph);
    folded.push(...out.folded);
    if (out.graph === graph) break;
    graph = out.graph;
  }
  return { graph, report: { pass: "fold-affine", folded } };
}
