/**
 * Linear layers as the data-free passes see them: a Conv, ConvTranspose,
 * Gemm or MatMul with a constant weight, plus its bias — the node's own bias
 * input, or a following Add of a per-channel constant (Paddle2ONNX writes
 * ConvTranspose + Add; MatMul + Add is how Linear exports).
 *
 * A layer maps input channels to output channels. `weightLayout` gives, for
 * every weight element, the output channel it feeds and the input channel it
 * reads, which is all that folding, equalization and bias absorption need:
 *
 *   Conv          W[M, C/g, k…]   out = m,                 in = ⌊m/(M/g)⌋·(C/g) + c
 *   ConvTranspose W[C, M/g, k…]   out = ⌊c/(C/g)⌋·(M/g) + m, in = c
 *   Gemm          B[K, N] (transB=0) or B[N, K] (transB=1): out = n, in = k
 *   MatMul        B[K, N] (2-D constant second operand):    out = n, in = k
 *
 * The layer's output is Y = α·(X ∗ W) + β·b with α = β = 1 except for Gemm;
 * `readBias` returns β·b per output channel and `writeBias` stores it with β = 1.
 */
import { attrFloat, attrInt, isDefaultDomain } from "../ir/attrs.js";
import { AttrType, type Node, type TensorType } from "../ir/graph.js";
import type { GraphEdit } from "./graph-edit.js";

export type LayerKind = "Conv" | "ConvTranspose" | "Gemm" | "MatMul";
export const LAYER_OPS: ReadonlySet<string> = new Set<LayerKind>(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

export interface Layer {
  readonly kind: LayerKind;
  /** Index of the Conv/ConvTranspose/Gemm/MatMul node. */
  readonly node: number;
  /** Index of the bias Add that follows it, when the bias lives there. */
  readonly addNode?: number;
  /** Node name, for reports. */
  readonly name: string;
  readonly input: string;
  /** The layer's output value: the Add's output when there is a bias Add. */
  readonly output: string;
  readonly weight: string;
  readonly weightDims: readonly number[];
  readonly bias?: { readonly name: string; readonly dims: readonly number[]; readonly source: "input" | "add" };
  readonly outChannels: number;
  readonly inChannels: number;
  /** Rank of the input and output tensors (equal for every kind here). */
  readonly rank: number;
  /** Channel axis of the output and of the input. */
  readonly outAxis: number;
  readonly inAxis: number;
  /** Gemm's alpha and beta (1 for the others). */
  readonly alpha: number;
  readonly beta: number;
}

export interface WeightLayout {
  readonly out: Int32Array;
  readonly in: Int32Array;
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

export function isLayerOp(n: Node): boolean {
  return LAYER_OPS.has(n.opType) && isDefaultDomain(n);
}

/**
 * The layer computed by node i, with a following bias Add when the node has
 * no bias of its own; or why it is not one the passes can rewrite.
 */
export function readLayer(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, i: number): Layer | { reason: string } {
  const n = ed.node(i);
  if (!n || !isLayerOp(n)) return { reason: "not a Conv, ConvTranspose, Gemm or MatMul" };
  const kind = n.opType as LayerKind;
  const [x = "", w = "", b = ""] = n.inputs;
  const weight = ed.constant(w);
  if (!weight) return { reason: `weight '${w}' is not a constant` };
  if (ed.constant(x)) return { reason: "its data input is a constant" };
  const why = ed.notWritable(w);
  if (why) return { reason: why };
  const dims = weight.dims;
  let outChannels: number;
  let inChannels: number;
  let rank: number;
  let outAxis = 1;
  let inAxis = 1;
  if (kind === "Conv" || kind === "ConvTranspose") {
    if (dims.length < 3) return { reason: `weight has rank ${dims.length}` };
    const group = attrInt(n, "group", 1);
    if (group < 1 || dims[0]! % group !== 0) return { reason: `group ${group} does not divide the weight's first dimension ${dims[0]}` };
    outChannels = kind === "Conv" ? dims[0]! : dims[1]! * group;
    inChannels = kind === "Conv" ? dims[1]! * group : dims[0]!;
    rank = dims.length;
  } else if (kind === "Gemm") {
    if (dims.length !== 2) return { reason: "Gemm weight is not 2-D" };
    const transB = attrInt(n, "transB", 0) === 1;
    outChannels = transB ? dims[0]! : dims[1]!;
    inChannels = transB ? dims[1]! : dims[0]!;
    rank = 2;
    if (attrInt(n, "transA", 0) === 1) inAxis = 0;
  } else {
    if (dims.length !== 2) return { reason: "MatMul weight is not a 2-D constant second operand" };
    const xr = types.get(x)?.shape?.length;
    if (xr === undefined || xr < 2) return { reason: `MatMul input rank is ${xr ?? "unknown"} (2 or more needed)` };
    [inChannels, outChannels] = [dims[0]!, dims[1]!];
    rank = xr;
    outAxis = inAxis = xr - 1;
  }
  const base = { kind, node: i, name: ed.label(i), input: x, weight: w, weightDims: dims, outChannels, inChannels, rank, outAxis, inAxis };
  const alpha = kind === "Gemm" ? attrFloat(n, "alpha", 1) : 1;
  const beta = kind === "Gemm" ? attrFloat(n, "beta", 1) : 1;
  if (b && kind !== "MatMul") {
    const bt = ed.constant(b);
    if (!bt) return { reason: `bias '${b}' is not a constant` };
    const whyB = ed.notWritable(b);
    if (whyB) return { reason: whyB };
    // Conv/ConvTranspose: B[M]. Gemm: C of [], [1], [N] or [1, N] (not a full [rows, N] matrix).
    const gemmOk = bt.dims.length <= 2 && (prod(bt.dims) === 1 || (prod(bt.dims) === outChannels && bt.dims[bt.dims.length - 1] === outChannels));
    const ok = kind === "Gemm" ? gemmOk : bt.dims.length === 1 && bt.dims[0] === outChannels;
    if (!ok) {
      return { reason: `bias '${b}' of shape [${bt.dims.join(",")}] is not one value per output channel` };
    }
    return { ...base, output: n.outputs[0]!, bias: { name: b, dims: bt.dims, source: "input" }, alpha, beta };
  }
  // A bias Add right after the node.
  const y = n.outputs[0]!;
  const cs = ed.consumers(y);
  const add = cs.length === 1 && ed.readers(y) === 1 && !ed.isGraphOutput(y) ? ed.node(cs[0]!) : undefined;
  if (add && add.opType === "Add" && isDefaultDomain(add)) {
    const c = add.inputs[0] === y ? add.inputs[1]! : add.inputs[0]!;
    const ct = ed.constant(c);
    if (ct && add.inputs.includes(y) && c !== y && !ed.notWritable(c) && perChannelShape(ct.dims, outChannels, outAxis, rank)) {
      return { ...base, addNode: cs[0]!, output: add.outputs[0]!, bias: { name: c, dims: ct.dims, source: "add" }, alpha, beta };
    }
  }
  return { ...base, output: y, alpha, beta };
}

/** True when a constant of these dims, added to a rank-`rank` tensor, gives one value per channel of `axis` without changing the shape. */
export function perChannelShape(dims: readonly number[], channels: number, axis: number, rank: number): boolean {
  if (dims.length > rank) return false;
  const offset = rank - dims.length;
  return dims.every((d, k) => d === 1 || (k + offset === axis && d === channels));
}

/** The layer whose output is `value`, or why there is none. */
export function layerProducing(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, value: string): Layer | { reason: string } {
  const p = ed.producer(value);
  if (p === undefined) return { reason: "its input is not computed by a node" };
  const n = ed.node(p)!;
  let compute = p;
  if (n.opType === "Add" && isDefaultDomain(n)) {
    const q = n.inputs.map((v) => ed.producer(v)).find((k) => k !== undefined && isLayerOp(ed.node(k)!));
    if (q === undefined) return { reason: "its input comes from Add, not from a Conv, ConvTranspose, Gemm or MatMul" };
    compute = q;
  } else if (!isLayerOp(n)) {
    return { reason: `its input comes from ${n.opType}, not from a Conv, ConvTranspose, Gemm or MatMul` };
  }
  const layer = readLayer(ed, types, compute);
  if ("reason" in layer) return { reason: `${ed.label(compute)}: ${layer.reason}` };
  if (layer.output !== value) return { reason: `the output of ${ed.label(compute)} has other consumers` };
  return layer;
}

/** For every weight element, the output channel it feeds and the input channel it reads. */
export function weightLayout(ed: GraphEdit, layer: Layer): WeightLayout {
  const dims = layer.weightDims;
  const count = prod(dims);
  const out = new Int32Array(count);
  const inp = new Int32Array(count);
  const n = ed.node(layer.node)!;
  if (layer.kind === "Conv" || layer.kind === "ConvTranspose") {
    const k = prod(dims.slice(2));
    const group = attrInt(n, "group", 1);
    const [d0, d1] = [dims[0]!, dims[1]!];
    for (let idx = 0; idx < count; idx++) {
      const a = Math.floor(idx / (d1 * k));
      const c = Math.floor(idx / k) % d1;
      if (layer.kind === "Conv") {
        out[idx] = a;
        inp[idx] = Math.floor(a / (d0 / group)) * d1 + c;
      } else {
        out[idx] = Math.floor(a / (d0 / group)) * d1 + c;
        inp[idx] = a;
      }
    }
  } else {
    const transposed = layer.kind === "Gemm" && attrInt(n, "transB", 0) === 1;
    const cols = dims[1]!;
    for (let idx = 0; idx < count; idx++) {
      const r = Math.floor(idx / cols);
      const c = idx % cols;
      out[idx] = transposed ? r : c;
      inp[idx] = transposed ? c : r;
    }
  }
  return { out, in: inp };
}

export function readWeights(ed: GraphEdit, layer: Layer): Float64Array {
  return ed.floats(layer.weight, false)!;
}

export function writeWeights(ed: GraphEdit, layer: Layer, w: ArrayLike<number>): void {
  ed.setConstant(layer.weight, layer.weightDims, w);
}

/** β·b per output channel (zeros when the layer has no bias). */
export function readBias(ed: GraphEdit, layer: Layer): Float64Array {
  const out = new Float64Array(layer.outChannels);
  if (!layer.bias) return out;
  const b = ed.floats(layer.bias.name, false)!;
  for (let c = 0; c < out.length; c++) out[c] = layer.beta * (b.length === 1 ? b[0]! : b[c]!);
  return out;
}

/**
 * Stores `b` as the layer's effective bias (β·b): in place when the layer has
 * a bias, else as a new initializer (Conv/ConvTranspose/Gemm input 2) or a
 * new Add after a MatMul. A Gemm's beta becomes 1.
 */
export function writeBias(ed: GraphEdit, layer: Layer, b: Float64Array): void {
  const n = ed.node(layer.node)!;
  if (layer.bias?.source === "add") {
    ed.setConstant(layer.bias.name, perChannelDims(layer.bias.dims, layer), b);
    return;
  }
  if (layer.kind === "MatMul") {
    const name = ed.addInitializer(`${layer.weight}_bias`, [b.length], b);
    const mid = ed.freshName(`${layer.output}_matmul`);
    ed.replaceNode(layer.node, { ...n, outputs: [mid] });
    const addName = n.name ? ed.freshNodeName(`${n.name}_bias`) : undefined;
    ed.insertAfter(layer.node, { opType: "Add", name: addName, inputs: [mid, name], outputs: [layer.output], attributes: [] });
    return;
  }
  let inputs = n.inputs;
  if (layer.bias) ed.setConstant(layer.bias.name, [b.length], b);
  else inputs = [n.inputs[0]!, n.inputs[1]!, ed.addInitializer(`${layer.weight}_bias`, [b.length], b)];
  const attributes = layer.kind === "Gemm" ? [...n.attributes.filter((a) => a.name !== "beta"), { name: "beta", type: AttrType.FLOAT, f: 1 }] : n.attributes;
  if (inputs !== n.inputs || attributes !== n.attributes) ed.replaceNode(layer.node, { ...n, inputs, attributes });
}

/** Dims for a per-channel Add constant: kept when already per channel, else one value per channel, right-aligned at the channel axis. */
function perChannelDims(dims: readonly number[], layer: Layer): number[] {
  if (prod(dims) === layer.outChannels && layer.outChannels > 1) return [...dims];
  return [layer.outChannels, ...new Array(layer.rank - 1 - layer.outAxis).fill(1)];
}

/** Per output channel, max |w| over the channel's weights (the symmetric quantization range). */
export function channelRanges(w: Float64Array, out: Int32Array, channels: number): Float64Array {
  const r = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]!);
    const c = out[i]!;
    if (a > r[c]!) r[c] = a;
  }
  return r;
}

/** A channel whose weight range is below this fraction of its layer's largest is numerically dead. */
export const DEAD_CHANNEL = 1e-6;

/** max/min of the channel ranges, leaving out dead channels (1 when all are dead). */
export function rangeSpread(r: Float64Array): number {
  const hi = r.reduce((a, b) => Math.max(a, b), 0);
  let lo = hi;
  for (const x of r) if (x > DEAD_CHANNEL * hi) lo = Math.min(lo, x);
  return hi > 0 ? hi / lo : 1;
}

/** The graph's layers, by compute node index (those readLayer accepts). */
export function graphLayers(ed: GraphEdit, types: ReadonlyMap<string, TensorType>): { layers: Layer[]; refused: { layer: string; reason: string }[] } {
  const layers: Layer[] = [];
  const refused: { layer: string; reason: string }[] = [];
  for (let i = 0; i < ed.nodeCount; i++) {
    const n = ed.node(i);
    if (!n || !isLayerOp(n)) continue;
    const l = readLayer(ed, types, i);
    if ("reason" in l) refused.push({ layer: ed.label(i), reason: l.reason });
    else layers.push(l);
  }
  return { layers, refused };
}
