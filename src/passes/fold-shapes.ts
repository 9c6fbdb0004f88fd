/**
 * Folds the shape arithmetic of torch / Hugging Face exports at compile time.
 * Such exports compute reshape targets and broadcasts in the graph, on int64:
 *   Shape(x) → Gather(·, 0) → Unsqueeze → Concat(·, [16, 64]) → Reshape(y, ·)
 *   … → ConstantOfShape, Mul, Equal, Where → Expand(pos_embed, ·)
 * With the per-sample shapes known and the batch dim N kept symbolic, every
 * such value is a vector whose entries are integers or N. The pass evaluates
 * them element by element (N · anything other than 1, N + k, … do not fold) and:
 *   - a Reshape target [N, d1, …] becomes the constant [0, d1, …]
 *     (ONNX Reshape: 0 copies the input's dim, here its batch dim);
 *   - a fully known int64 value read by a kept node becomes an initializer;
 *   - Expand(C, [N, r1, …]) of a constant C with leading dim 1 that the
 *     expansion does not grow past the batch, read only by broadcasting
 *     elementwise ops, becomes C itself (the readers broadcast it over N);
 *     with `perSample` (the integer program, whose values have no batch
 *     axis) also when read by a Concat along another axis: the ViT cls
 *     token Concat(Expand(cls, [N, 1, D]), patches) joins C to each sample;
 *   - ConstantOfShape([N, d1, …]) (or [1, d1, …], the batch pinned to 1: the
 *     zeros of torch's key padding mask) read only as the indices of a Gather (the
 *     token type ids of BERT exports) or by broadcasting ops becomes the
 *     constant [1, d1, …]: the Gather's result then has batch dim 1, and the
 *     ops after it broadcast it over N;
 *   - nodes left without readers are dropped.
 * With every dim known (a graph pinned to one batch size, passes/sample-axis.ts)
 * the whole of torch's attention arithmetic folds too: Slice and Mod of
 * shapes, integer Div (truncating, as ONNX), and the float scale
 * Sqrt(1 / Sqrt(Cast(head_dim))): float results are rounded to float32 at
 * every op (IEEE sqrt and division are correctly rounded, as in ONNX
 * Runtime; only scalars fold), and a folded float value that carries an activation spec becomes
 * its fake-quantized value, as the QDQ model reads it.
 * What cannot fold stays in the graph (the integer lowering then names it).
 */
import { attrInt } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import type { Graph, Node } from "../ir/graph.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { quantizeValue } from "../numerics/int-group.js";

/** An entry of a folded value: an integer, or a symbolic dim by its name (the batch N). */
type Entry = number | string;
/** A folded int64/bool value: dims (rank ≤ 1 here) and its entries. */
interface Sym {
  readonly dims: readonly number[];
  readonly v: readonly Entry[];
}

export interface ShapeFoldReport {
  readonly pass: "fold-shapes";
  /** Nodes removed (their results became constants, or were unused). */
  readonly removed: number;
  /** Reshape targets rewritten with 0 for the batch dim. */
  readonly reshapes: number;
  /** Expands of a constant replaced by the constant. */
  readonly expands: number;
}

const BROADCASTING = new Set(["Add", "Sub", "Mul", "Div", "Where"]);

function known(s: Sym): s is { dims: number[]; v: number[] } {
  return s.v.every((e) => typeof e === "number");
}

function binary(a: Sym, b: Sym, f: (x: number, y: number) => number | undefined, symbolic?: (x: Entry, y: Entry) => Entry | undefined): Sym | undefined {
  const len = Math.max(a.v.length, b.v.length);
  if ((a.v.length !== len && a.v.length !== 1) || (b.v.length !== len && b.v.length !== 1)) return undefined;
  const v: Entry[] = [];
  for (let i = 0; i < len; i++) {
    const x = a.v[a.v.length === 1 ? 0 : i]!;
    const y = b.v[b.v.length === 1 ? 0 : i]!;
    const r = typeof x === "number" && typeof y === "number" ? f(x, y) : symbolic?.(x, y);
    if (r === undefined) return undefined;
    v.push(r);
  }
  return { dims: a.dims.length >= b.dims.length ? a.dims : b.dims, v };
}

/** Evaluates one shape-arithmetic node on folded inputs; undefined when it does not fold. */
function evaluate(n: Node, ins: (Sym | undefined)[], shapeOf: (name: string) => Entry[] | undefined, float: boolean): Sym | undefined {
  const [a, b, c] = ins;
  const r = float ? Math.fround : (x: number) => x;
  switch (n.opType) {
    case "Shape": {
      const s = a ? [...a.dims] : shapeOf(n.inputs[0]!);
      if (!s) return undefined;
      const start = attrInt(n, "start", 0);
      const end = n.attributes.some((x) => x.name === "end") ? attrInt(n, "end", s.length) : s.length;
      const v = s.slice(start < 0 ? start + s.length : start, end < 0 ? end + s.length : end);
      return { dims: [v.length], v };
    }
    case "Gather": {
      if (!a || !b || !known(b) || attrInt(n, "axis", 0) !== 0 || a.dims.length !== 1) return undefined;
      const v = b.v.map((i) => a.v[i < 0 ? i + a.v.length : i]);
      if (v.some((e) => e === undefined)) return undefined;
      return { dims: b.dims, v: v as Entry[] };
    }
    case "Unsqueeze":
    case "Squeeze": {
      if (a?.v.length !== 1) return undefined;
      return { dims: n.opType === "Unsqueeze" ? [1] : [], v: a.v };
    }
    case "Concat":
      if (ins.some((x) => !x || x.dims.length > 1)) return undefined;
      return { dims: [ins.reduce((s, x) => s + x!.v.length, 0)], v: ins.flatMap((x) => x!.v) };
    case "Reshape":
    case "Cast":
    case "Identity":
      if (!a || (n.opType === "Reshape" && (!b || !known(b) || b.v.length !== 1))) return undefined;
      return { dims: n.opType === "Reshape" ? [a.v.length] : a.dims, v: a.v };
    case "ConstantOfShape": {
      if (!a || !known(a) || a.v.length !== 1) return undefined;
      const value = n.attributes.find((x) => x.name === "value")?.t;
      const fill = value ? tensorToFloat64(value)[0]! : 0;
      return { dims: [a.v[0]!], v: Array<Entry>(a.v[0]!).fill(fill) };
    }
    case "Mul":
      return a && b ? binary(a, b, (x, y) => r(x * y), (x, y) => (x === 1 ? y : y === 1 ? x : undefined)) : undefined;
    case "Add":
      return a && b ? binary(a, b, (x, y) => r(x + y), (x, y) => (x === 0 ? y : y === 0 ? x : undefined)) : undefined;
    case "Sub":
      return a && b ? binary(a, b, (x, y) => r(x - y)) : undefined;
    case "Div":
      // ONNX integer Div truncates toward zero
      return a && b ? binary(a, b, (x, y) => (float ? r(x / y) : y === 0 ? undefined : Math.trunc(x / y))) : undefined;
    case "Mod":
      // fmod = 0 (integers): the remainder takes the divisor's sign, as Python's %
      return a && b && !float && attrInt(n, "fmod", 0) === 0 ? binary(a, b, (x, y) => (y === 0 ? undefined : x - Math.floor(x / y) * y)) : undefined;
    case "Sqrt":
      return a && known(a) && float ? { dims: a.dims, v: a.v.map((x) => r(Math.sqrt(x))) } : undefined;
    case "Slice":
      return a ? sliceVector(a, ins.slice(1)) : undefined;
    case "Equal":
      // N is a positive size: it equals no constant ≤ 0 (the −1 torch compares against)
      return a && b ? binary(a, b, (x, y) => Number(x === y), (x, y) => (x === y ? 1 : typeof x === "number" && x <= 0 ? 0 : typeof y === "number" && y <= 0 ? 0 : undefined)) : undefined;
    case "Where": {
      if (!a || !b || !c || !known(a)) return undefined;
      const len = Math.max(a.v.length, b.v.length, c.v.length);
      const at = (s: Sym, i: number) => s.v[s.v.length === 1 ? 0 : i];
      const v = Array.from({ length: len }, (_, i) => (at(a, i) ? at(b, i) : at(c, i)));
      if (v.some((e) => e === undefined)) return undefined;
      return { dims: [len], v: v as Entry[] };
    }
    case "Range": {
      // position ids: Range(0, sequence length, 1), a per-sample constant
      if (!a || !b || !c || !known(a) || !known(b) || !known(c) || c.v[0] === 0) return undefined;
      const [start, limit, delta] = [a.v[0]!, b.v[0]!, c.v[0]!];
      const len = Math.max(Math.ceil((limit - start) / delta), 0);
      return { dims: [len], v: Array.from({ length: len }, (_, i) => start + i * delta) };
    }
    default:
      return undefined;
  }
}

/** Slice of a folded vector (axis 0 only; starts, ends, steps known and clamped as ONNX does). */
function sliceVector(a: Sym, args: (Sym | undefined)[]): Sym | undefined {
  const [starts, ends, axes, steps] = args;
  if (a.dims.length !== 1 || !starts || !ends || !known(starts) || !known(ends) || starts.v.length !== 1) return undefined;
  if ((axes && (!known(axes) || (axes.v[0] !== 0 && axes.v[0] !== -1))) || (steps && !known(steps))) return undefined;
  const len = a.v.length;
  const step = steps ? (steps.v[0] as number) : 1;
  if (step === 0) return undefined;
  const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x < 0 ? x + len : x, lo), hi);
  const [lo, hi] = step > 0 ? [0, len] : [-1, len - 1];
  const start = clamp(starts.v[0] as number, lo, hi);
  const end = clamp(ends.v[0] as number, lo, hi);
  const v: Entry[] = [];
  for (let i = start; step > 0 ? i < end : i > end; i += step) v.push(a.v[i]!);
  return { dims: [v.length], v };
}

/** The element type of a folded node's result (only int64 results become initializers). */
function resultDtype(n: Node, dtypeOf: (name: string) => number | undefined): number | undefined {
  switch (n.opType) {
    case "Shape":
      return DataType.INT64;
    case "Cast":
      return attrInt(n, "to", 0);
    case "ConstantOfShape":
      return n.attributes.find((x) => x.name === "value")?.t?.dtype ?? DataType.FLOAT;
    case "Equal":
      return DataType.BOOL;
    case "Where":
      return dtypeOf(n.inputs[1]!);
    default:
      return dtypeOf(n.inputs[0]!);
  }
}

function int64Tensor(name: string, dims: readonly number[], v: readonly number[]): Tensor {
  const data = BigInt64Array.from(v.map((x) => BigInt(x)));
  return { name, dtype: DataType.INT64, dims: [...dims], raw: new Uint8Array(data.buffer) };
}

/** A folded float32 value; with a per-tensor integer spec on it, its fake-quantized value (what the QDQ model's DequantizeLinear gives). */
function floatTensor(g: Graph, name: string, dims: readonly number[], v: readonly number[]): Tensor {
  const q = g.quant?.get(name);
  const fq = (x: number) => {
    if (q?.kind !== "affine" || q.scale.length !== 1) return x;
    const [s, z] = [q.scale[0]!, q.zeroPoint[0] ?? 0];
    return Math.fround(Math.fround(quantizeValue(x, s, z, q.format.qmin, q.format.qmax) - z) * s);
  };
  return { name, dtype: DataType.FLOAT, dims: [...dims], raw: new Uint8Array(Float32Array.from(v, fq).buffer) };
}

/** A reshape target whose only symbolic entry is the first, the input's own batch dim (Reshape's 0 copies it). */
function batchReshape(target: readonly Entry[], input: readonly Entry[]): boolean {
  return typeof target[0] === "string" && target[0] === input[0] && target.slice(1).every((e) => typeof e === "number");
}

/**
 * A per-sample reshape target with its −1 made explicit, from the input's
 * per-sample size (shape inference cannot solve −1 next to a symbolic batch).
 */
function resolveMinusOne(target: number[], input: Entry[] | undefined): number[] {
  const at = target.indexOf(-1);
  if (at < 0 || !input || input.slice(1).some((d) => typeof d !== "number")) return target;
  const size = (input.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const rest = target.reduce((p, d, i) => (i === at ? p : p * d), 1);
  if (rest <= 0 || size % rest !== 0) return target;
  return target.map((d, i) => (i === at ? size / rest : d));
}

/** Dims of a constant Expand input and its folded target, when the Expand only adds the batch (see the file comment). */
function batchOnlyExpand(c: Tensor | undefined, s: Sym | undefined): boolean {
  if (!c || !s || typeof s.v[0] !== "string" || s.v.length !== c.dims.length || c.dims[0] !== 1) return false;
  return s.v.slice(1).every((e, i) => e === 1 || e === c.dims[i + 1]);
}

/** A ConstantOfShape target [N, d1, …]: the batch (or, in a graph pinned to one batch size, its size), then known dims (at most 2^20 elements per sample). */
function batchFill(s: Sym | undefined): boolean {
  if (!s || s.v.length === 0 || s.v.slice(1).some((e) => typeof e !== "number" || e < 0)) return false;
  if (typeof s.v[0] === "number" && s.v[0] !== 1) return false;
  return (s.v.slice(1) as number[]).reduce((a, b) => a * b, 1) <= 2 ** 20;
}

/** Whether `m` reads `name` as Gather indices (ONNX Gather or com.microsoft GatherBlockQuantized). */
function gathersBy(m: Node, name: string): boolean {
  return (m.opType === "Gather" || m.opType === "GatherBlockQuantized") && m.inputs[1] === name && m.inputs[0] !== name;
}

/** ConstantOfShape's result for known dims: its value attribute (0.0 float by default) repeated; int64, int32 and float only. */
function filledTensor(n: Node, dims: readonly number[]): Tensor | undefined {
  const value = n.attributes.find((x) => x.name === "value")?.t;
  const count = dims.reduce((a, b) => a * b, 1);
  const v = value ? tensorToFloat64(value)[0]! : 0;
  const name = n.outputs[0]!;
  switch (value?.dtype ?? DataType.FLOAT) {
    case DataType.INT64:
      return int64Tensor(name, dims, new Array<number>(count).fill(v));
    case DataType.INT32:
      return { name, dtype: DataType.INT32, dims: [...dims], raw: new Uint8Array(new Int32Array(count).fill(v).buffer) };
    case DataType.FLOAT:
      return { name, dtype: DataType.FLOAT, dims: [...dims], raw: new Uint8Array(new Float32Array(count).fill(v).buffer) };
    default:
      return undefined;
  }
}

/**
 * Runs the fold to a fixed point (a rewritten Reshape target lets shape
 * inference see the shapes after it); returns the graph unchanged (same
 * object) when nothing folds.
 */
export function foldShapes(g: Graph, perSample = false): { graph: Graph; report: ShapeFoldReport } {
  let graph = g;
  const total = { removed: 0, reshapes: 0, expands: 0 };
  for (;;) {
    const r = foldOnce(graph, perSample);
    if (r.graph === graph) break;
    graph = r.graph;
    total.removed += r.report.removed;
    total.reshapes += r.report.reshapes;
    total.expands += r.report.expands;
  }
  return { graph, report: { pass: "fold-shapes", ...total } };
}

/** A Concat that joins along an axis other than the batch (axis 0) of rank-`rank` values. */
function concatsPerSample(m: Node, rank: number): boolean {
  const axis = attrInt(m, "axis", 0);
  return m.opType === "Concat" && m.attributes.some((a) => a.name === "axis") && (axis < 0 ? axis + rank : axis) > 0;
}

function foldOnce(g: Graph, perSample: boolean): { graph: Graph; report: ShapeFoldReport } {
  const types = inferTypes(g);
  const consts = constantTensors(g);
  const folded = new Map<string, Sym>();
  const dtypes = new Map<string, number | undefined>();
  const intConst = (name: string): Sym | undefined => {
    const t = consts.get(name);
    if (!t || t.dims.length > 1 || (t.dtype !== DataType.INT64 && t.dtype !== DataType.INT32 && t.dtype !== DataType.BOOL && t.dtype !== DataType.FLOAT)) return undefined;
    const v = [...tensorToFloat64(t)];
    return { dims: t.dims, v };
  };
  const shapeOf = (name: string): Entry[] | undefined => {
    const s = types.get(name)?.shape;
    if (!s) return undefined;
    return s.every((d) => d !== undefined) ? (s as Entry[]) : undefined;
  };
  for (const n of g.nodes) {
    if ((n.domain ?? "") !== "" || n.opType === "Constant" || n.outputs.length !== 1) continue;
    const dtype = resultDtype(n, (i) => dtypes.get(i) ?? consts.get(i)?.dtype);
    // float arithmetic folds only on shape-derived values (constants alone are fold-constants' and fold-affine's business)
    if (dtype === DataType.FLOAT && !n.inputs.some((i) => folded.has(i))) continue;
    const r = evaluate(n, n.inputs.map((i) => folded.get(i) ?? intConst(i)), shapeOf, dtype === DataType.FLOAT);
    // a float result folds when it is a scalar (the attention scale); float vectors (position ids cast to float) stay nodes
    if (!r || (dtype === DataType.FLOAT && r.v.length !== 1)) continue;
    folded.set(n.outputs[0]!, r);
    dtypes.set(n.outputs[0]!, dtype);
  }
  let reshapes = 0;
  let expands = 0;
  const replaced = new Map<string, Tensor>();
  const nodes: Node[] = [];
  const readersOf = (name: string) => g.nodes.filter((m) => m.inputs.includes(name));
  for (const n of g.nodes) {
    const target = folded.get(n.inputs[1] ?? "");
    const input = shapeOf(n.inputs[0] ?? "");
    if (n.opType === "Reshape" && target && input && !folded.has(n.outputs[0]!) && batchReshape(target.v, input)) {
      const name = `${n.outputs[0]}__target`;
      replaced.set(name, int64Tensor(name, [target.v.length], [0, ...resolveMinusOne(target.v.slice(1) as number[], shapeOf(n.inputs[0]!))]));
      nodes.push({ ...n, inputs: [n.inputs[0]!, name] });
      reshapes++;
    } else if (
      n.opType === "Expand" &&
      batchOnlyExpand(consts.get(n.inputs[0]!), target) &&
      readersOf(n.outputs[0]!).every((m) => BROADCASTING.has(m.opType) || (perSample && concatsPerSample(m, consts.get(n.inputs[0]!)!.dims.length)))
    ) {
      const c = consts.get(n.inputs[0]!)!;
      replaced.set(n.outputs[0]!, { ...c, name: n.outputs[0]! });
      expands++;
    } else if (n.opType === "ConstantOfShape" && batchFill(folded.get(n.inputs[0] ?? "")) && readersOf(n.outputs[0]!).every((m) => BROADCASTING.has(m.opType) || gathersBy(m, n.outputs[0]!)) && filledTensor(n, [])) {
      replaced.set(n.outputs[0]!, filledTensor(n, [1, ...(folded.get(n.inputs[0]!)!.v.slice(1) as number[])])!);
      expands++;
    } else nodes.push(n);
  }
  // int64 and float values still read by kept nodes become initializers
  const becomesConstant = (name: string) => {
    const s = folded.get(name);
    return s !== undefined && known(s) && (dtypes.get(name) === DataType.INT64 || dtypes.get(name) === DataType.FLOAT);
  };
  const reads = new Set(nodes.filter((n) => !becomesConstant(n.outputs[0]!)).flatMap((n) => n.inputs));
  for (const o of g.outputs) reads.add(o.name);
  for (const [name, s] of folded) {
    if (!reads.has(name) || !becomesConstant(name)) continue;
    replaced.set(name, dtypes.get(name) === DataType.FLOAT ? floatTensor(g, name, s.dims, s.v as number[]) : int64Tensor(name, s.dims, s.v as number[]));
  }
  // drop nodes whose outputs are now constants, then folded nodes and Constants nothing reads any more (other dead nodes stay)
  const readBefore = new Set(g.nodes.flatMap((n) => n.inputs));
  const droppable = (n: Node) => folded.has(n.outputs[0]!) || (n.opType === "Constant" && readBefore.has(n.outputs[0]!));
  let kept = nodes.filter((n) => !n.outputs.every((o) => replaced.has(o)));
  for (;;) {
    const live = new Set([...kept.flatMap((n) => n.inputs), ...g.outputs.map((o) => o.name)]);
    const next = kept.filter((n) => n.outputs.some((o) => live.has(o)) || !droppable(n));
    if (next.length === kept.length) break;
    kept = next;
  }
  const removed = g.nodes.length - kept.length;
  if (removed === 0 && reshapes === 0 && expands === 0) return { graph: g, report: { pass: "fold-shapes", removed, reshapes, expands } };
  const live = new Set(kept.flatMap((n) => n.inputs));
  const initializers = [...g.initializers, ...[...replaced.values()].filter((t) => live.has(t.name!))];
  return { graph: { ...g, nodes: kept, initializers, inferred: undefined }, report: { pass: "fold-shapes", removed, reshapes, expands } };
}
