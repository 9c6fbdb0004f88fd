/**
 * Per-sample graphs for exports whose batch is not the leading axis of every
 * value (torch's attention: x [S, B, D] → [S, B·H, hd] → [B·H, S, hd]).
 * The integer program is per sample with an implicit leading batch axis
 * (integer/program.ts), so such a graph is lowered as one sample of itself:
 *
 *   G₁ = the graph with its batch dim pinned to 1, its shape arithmetic folded
 *        (passes/fold-shapes.ts: every dim is known), then every value given a
 *        new leading axis of size 1, the program's sample axis:
 *        y = f(x) for x [1, …F₁(x)] with every axis attribute moved by one.
 *
 * Running G₁ on each sample in turn is the model at batch B exactly when no
 * node mixes samples; batch-layout.ts proves that from G₁ and the same graph
 * at batch 3 (or refuses, naming the node). A graph input whose batch had its
 * own axis (size 1 in G₁) reads per-sample data without it: x [S, B, D] is
 * sample-wise [S, D], the Reshape back to [S, 1, D] is part of the program;
 * likewise for graph outputs.
 *
 * A graph with a fixed batch (no symbolic dim) cannot be re-instantiated at
 * batch 1: its whole input is one sample (x [5, 3, 32] runs as one sample of
 * [5, 3, 32]), and nothing can mix.
 *
 * Axis rewrites (a ≥ 0 → a + 1; negative axes count from the end and stay):
 * Transpose perm → [0, perm + 1]; Reshape/Expand targets → [1, target];
 * Flatten → Reshape [1, rows, cols]; Squeeze/Unsqueeze, Concat, Gather (of an
 * activation), Slice, Split, Softmax, LayerNormalization and Reduce* axes;
 * a constant Concat operand gets the leading 1. Elementwise ops, MatMul and
 * Gemm (over the last axis) need none. Conv and pools need NCHW with the batch
 * first and are refused here.
 */
import { attrInt, attrInts } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import { type Attribute, AttrType, type Dim, type Graph, type Model, type Node, type ValueInfo } from "../ir/graph.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { dimSymbols, pinInputShapes } from "../ir/pin-shapes.js";
import { type Tensor, tensorBytes, tensorToFloat64 } from "../ir/tensor.js";
import { formatShape, tensorTypeOf } from "../ir/types.js";
import { batchLayouts } from "./batch-layout.js";
import { foldShapes } from "./fold-shapes.js";

/** The batch size the mixing check instantiates next to 1. */
const BETA = 3;

const REFUSED = new Set(["Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "InstanceNormalization", "Resize"]);
const AXIS_ATTR = new Set(["Concat", "Split", "Softmax", "LogSoftmax", "LayerNormalization", "Flatten"]);

/** The one symbolic dim the graph's inputs declare (the batch), or undefined when none or several. */
export function batchSymbol(g: Graph): string | undefined {
  const inits = new Set(g.initializers.map((t) => t.name));
  const names = new Set(g.inputs.filter((v) => !inits.has(v.name)).flatMap((v) => (dimSymbols(v.type) ?? []).filter((s): s is string => s !== undefined)));
  return names.size === 1 ? [...names][0] : undefined;
}

/** Whether the graph moves its leading axis (a Transpose with perm[0] ≠ 0): the lowering cannot keep the batch implicit there. */
export function movesLeadingAxis(g: Graph): boolean {
  return g.nodes.some((n) => n.opType === "Transpose" && (attrInts(n, "perm")?.[0] ?? 1) !== 0);
}

/** The graph with its batch symbol at `size`, every value_info dropped and the shape arithmetic folded. */
function instanceAt(g: Graph, symbol: string | undefined, size: number): Graph {
  const pins = new Map<string, number[]>();
  for (const v of g.inputs) {
    const shape = tensorTypeOf(v.type)?.shape;
    const syms = dimSymbols(v.type);
    if (symbol !== undefined && shape && syms?.includes(symbol)) pins.set(v.name, shape.map((d, i) => (syms[i] === symbol ? size : (d as number))));
  }
  const pinned = pinInputShapes({ opsets: [], functions: [], graph: g } as Model, pins).graph!;
  const unshaped = (v: ValueInfo): ValueInfo => ({ name: v.name, ...(v.type ? { type: { tensor_type: { elem_type: tensorTypeOf(v.type)?.dtype ?? 0 } } } : {}) });
  return foldShapes({ ...pinned, valueInfo: [], outputs: pinned.outputs.map(unshaped), inferred: undefined }).graph;
}

const ints = (name: string, v: readonly number[]): Tensor => ({ name, dtype: DataType.INT64, dims: [v.length], raw: new Uint8Array(BigInt64Array.from(v, (x) => BigInt(x)).buffer) });
const typeOf = (dtype: number, dims: readonly Dim[]) => ({ tensor_type: { elem_type: dtype, shape: { dim: dims.map((d) => ({ dim_value: d })) } } });
const shift = (a: number) => (a >= 0 ? a + 1 : a);

/** With several symbolic input dims (and a Transpose moving axis 0: batchLeavesAxis0) the batch is not known: the refusal says how to pin all but the batch. */
function refuseSeveralSymbols(g: Graph): void {
  const inits = new Set(g.initializers.map((t) => t.name));
  for (const v of g.inputs) {
    const shape = tensorTypeOf(v.type)?.shape;
    if (inits.has(v.name) || !shape?.some((d) => typeof d === "string")) continue;
    const example = shape.map((d) => (typeof d === "number" ? d : (d ?? "?").toUpperCase())).join("x");
    throw new FixqError("unsupported", `cannot integerize: input '${v.name}' ${formatShape(shape)} has several symbolic dims, and the graph moves its leading axis (a Transpose: torch attention runs seq-first inside, batch_first or not), so which dim is the batch cannot be told; pin every dim with --input-shape ${v.name}=${example}, the batch at 1 (it stays free)`);
  }
}

/** Whether the batch leaves the leading axis somewhere in `g` (an input declares it elsewhere, or a Transpose moves axis 0). */
export function batchLeavesAxis0(g: Graph): boolean {
  const symbol = batchSymbol(g);
  const inits = new Set(g.initializers.map((t) => t.name));
  // every input that declares the batch declares it first (inputs of fixed shape say nothing)
  const leading = symbol === undefined || g.inputs.every((v) => inits.has(v.name) || !dimSymbols(v.type)?.includes(symbol) || dimSymbols(v.type)?.[0] === symbol);
  return !leading || movesLeadingAxis(foldShapes(g).graph);
}

/** The graph at batch 1 (shape arithmetic folded) when its batch is symbolic and leaves the leading axis: what `inspect` counts MACs on. */
export function batchOneInstance(g: Graph): Graph | undefined {
  const symbol = batchSymbol(g);
  return symbol !== undefined && batchLeavesAxis0(g) ? instanceAt(g, symbol, 1) : undefined;
}

/** A per-sample graph, and the axis of each graph input and output along which the model runs its samples (where not 0). */
export interface SampleGraph {
  readonly graph: Graph;
  readonly batchAxes: ReadonlyMap<string, number>;
}

/**
 * The per-sample graph of `g` (see the file comment), or undefined when the
 * batch stays the leading axis (the lowering's usual path applies).
 */
export function sampleGraph(g: Graph): SampleGraph | undefined {
  if (!batchLeavesAxis0(g)) return undefined;
  const symbol = batchSymbol(g);
  if (symbol === undefined) refuseSeveralSymbols(g);
  const one = instanceAt(g, symbol, 1);
  const batchAxes = new Map<string, number>();
  if (symbol !== undefined) {
    const layouts = batchLayouts(one, instanceAt(g, symbol, BETA), BETA);
    const types = inferTypes(one);
    // an IO value whose batch has an axis of its own (size 1 here) is read and written without it
    for (const v of [...one.inputs, ...one.outputs]) {
      const l = layouts.get(v.name);
      if (l && l.q === 1 && types.get(v.name)?.shape?.[l.k] === 1) batchAxes.set(v.name, l.k);
    }
  }
  return { graph: withSampleAxis(one, batchAxes), batchAxes: new Map([...batchAxes].filter(([, k]) => k !== 0)) };
}

/** Adds the leading sample axis to every value of the static graph `g`; IO values in `batchAxes` lose their (size-1) batch axis. */
function withSampleAxis(g: Graph, batchAxes: ReadonlyMap<string, number>): Graph {
  const types = inferTypes(g);
  const consts = constantTensors(g);
  const added: Tensor[] = [];
  const make: Make = {
    ints: (base, v) => {
      const t = ints(`${base}__sample_shape`, v);
      added.push(t);
      return t.name!;
    },
    lift: (name) => {
      const c = consts.get(name)!;
      const t = { ...c, name: `${name}__sample1`, dims: [1, ...c.dims], raw: tensorBytes(c) };
      if (!added.some((x) => x.name === t.name)) added.push(t);
      return t.name;
    },
  };
  const shapeOf = (name: string) => types.get(name)?.shape as number[] | undefined;
  const nodes: Node[] = [];
  const head: Node[] = [];
  const tail: Node[] = [];
  const quant = new Map(g.quant ?? []);
  const renamed = new Map<string, string>();
  // inputs: [1, …F₁ without the batch axis] → Reshape → [1, …F₁]
  const inputs = g.inputs.map((v): ValueInfo => {
    const s = shapeOf(v.name);
    if (!s || inits(g).has(v.name)) return v;
    const k = batchAxes.get(v.name);
    const dtype = types.get(v.name)!.dtype;
    if (k === undefined) return { ...v, type: typeOf(dtype, [1, ...s]) };
    const inner = `${v.name}__sample`;
    renamed.set(v.name, inner);
    if (quant.has(v.name)) quant.set(inner, quant.get(v.name)!);
    head.push({ opType: "Reshape", name: `${v.name}__sample_axis`, inputs: [v.name, make.ints(inner, [1, ...s])], outputs: [inner], attributes: [] });
    return { ...v, type: typeOf(dtype, [1, ...s.filter((_, i) => i !== k)]) };
  });
  // outputs: [1, …F₁] → Reshape → [1, …F₁ without the batch axis]
  const outputs = g.outputs.map((v): ValueInfo => {
    const s = shapeOf(v.name);
    const dtype = types.get(v.name)?.dtype ?? DataType.FLOAT;
    const k = batchAxes.get(v.name);
    if (!s) throw new FixqError("unsupported", `cannot integerize: the shape of output '${v.name}' is not known`);
    if (k === undefined) return { name: v.name, type: typeOf(dtype, [1, ...s]) };
    const inner = `${v.name}__sample`;
    renamed.set(v.name, inner);
    if (quant.has(v.name)) quant.set(inner, quant.get(v.name)!);
    tail.push({ opType: "Reshape", name: `${v.name}__sample_axis`, inputs: [inner, make.ints(v.name, [1, ...s.filter((_, i) => i !== k)])], outputs: [v.name], attributes: [] });
    return { name: v.name, type: typeOf(dtype, [1, ...s.filter((_, i) => i !== k)]) };
  });
  for (const n0 of g.nodes) {
    const n = { ...n0, inputs: n0.inputs.map((i) => renamed.get(i) ?? i), outputs: n0.outputs.map((o) => renamed.get(o) ?? o) };
    if (REFUSED.has(n.opType)) throw new FixqError("unsupported", `cannot integerize: ${n.opType} '${n.name || n.outputs[0]}' needs the batch first, and this graph moves it (per-sample lowering covers transformer ops)`);
    nodes.push(rewriteNode(n, shapeOf, consts, make));
  }
  return { ...g, nodes: [...head, ...nodes, ...tail], inputs, outputs, initializers: [...g.initializers, ...added], valueInfo: [], inferred: undefined, quant };
}

const inits = (g: Graph) => new Set(g.initializers.map((t) => t.name));

/** Makers of the constants a rewrite adds: an int64 vector, and a constant with a leading 1. */
interface Make {
  ints(base: string, v: readonly number[]): string;
  lift(name: string): string;
}

/** One node with the sample axis added in front of its operands. */
function rewriteNode(n: Node, shapeOf: (name: string) => number[] | undefined, consts: ReadonlyMap<string, Tensor>, make: Make): Node {
  const constant = make.ints;
  const rank = shapeOf(n.inputs[0] ?? "")?.length ?? 0;
  const setAttr = (name: string, a: Omit<Attribute, "name">) => [...n.attributes.filter((x) => x.name !== name), { name, ...a }];
  const withInput = (i: number, name: string) => n.inputs.map((x, j) => (j === i ? name : x)).concat(i >= n.inputs.length ? [name] : []);
  const valuesOf = (i: number) => (consts.has(n.inputs[i] ?? "") ? [...tensorToFloat64(consts.get(n.inputs[i]!)!)] : undefined);
  switch (n.opType) {
    case "Transpose": {
      const perm = attrInts(n, "perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      return { ...n, attributes: setAttr("perm", { type: AttrType.INTS, ints: [0, ...perm.map((p) => p + 1)] }) };
    }
    case "Reshape":
    case "Expand": {
      const target = valuesOf(1);
      if (!target) throw new FixqError("unsupported", `cannot integerize: ${n.opType} '${n.name}' has a target that does not fold to a constant`);
      return { ...n, inputs: withInput(1, constant(n.outputs[0]!, [1, ...target])) };
    }
    case "Flatten": {
      const s = shapeOf(n.inputs[0]!)!;
      const a = attrInt(n, "axis", 1) < 0 ? attrInt(n, "axis", 1) + rank : attrInt(n, "axis", 1);
      const dims = [1, s.slice(0, a).reduce((x, y) => x * y, 1), s.slice(a).reduce((x, y) => x * y, 1)];
      return { ...n, opType: "Reshape", attributes: [], inputs: [n.inputs[0]!, constant(n.outputs[0]!, dims)] };
    }
    case "Squeeze":
    case "Unsqueeze": {
      const s = shapeOf(n.inputs[0]!) ?? [];
      const axes = valuesOf(1) ?? attrInts(n, "axes") ?? s.flatMap((d, i) => (d === 1 ? [i] : []));
      if (n.inputs.length > 1 || !attrInts(n, "axes")) return { ...n, attributes: n.attributes.filter((a) => a.name !== "axes"), inputs: withInput(1, constant(n.outputs[0]!, axes.map(shift))) };
      return { ...n, attributes: setAttr("axes", { type: AttrType.INTS, ints: axes.map(shift) }) };
    }
    case "Slice": {
      const starts = valuesOf(1) ?? [];
      const axes = valuesOf(3) ?? starts.map((_, i) => i);
      return { ...n, inputs: withInput(3, constant(`${n.outputs[0]}_axes`, axes.map(shift))) };
    }
    case "Gather":
      return consts.has(n.inputs[0]!) ? n : { ...n, attributes: setAttr("axis", { type: AttrType.INT, i: shift(attrInt(n, "axis", 0)) }) };
    default:
      break;
  }
  if (n.opType.startsWith("Reduce")) {
    const axes = valuesOf(1) ?? attrInts(n, "axes") ?? Array.from({ length: rank }, (_, i) => i);
    if (n.inputs.length > 1) return { ...n, inputs: withInput(1, constant(n.outputs[0]!, axes.map(shift))) };
    return { ...n, attributes: setAttr("axes", { type: AttrType.INTS, ints: axes.map(shift) }) };
  }
  if (AXIS_ATTR.has(n.opType)) {
    const dflt = n.opType === "Concat" || n.opType === "Split" ? 0 : n.opType === "Flatten" ? 1 : -1;
    const a = attrInt(n, "axis", dflt);
    const inputs = n.opType === "Concat" ? n.inputs.map((i) => (consts.has(i) ? make.lift(i) : i)) : n.inputs;
    return { ...n, inputs, attributes: setAttr("axis", { type: AttrType.INT, i: shift(a) }) };
  }
  return n;
}
