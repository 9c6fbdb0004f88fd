/**
 * Folds the layout ops that compute from constants only into initializers.
 * Exports often store a weight in another layout and fix it in the graph:
 *   W' = Transpose(W)  → MatMul(x, W')      (torch.onnx Linear, IR < 4)
 *   W' = Reshape(C, s) → Conv(x, W')        (the ONNX model zoo's mnist)
 * Left as is, W' looks like an activation to quantization (a per-tensor
 * uint8 range from calibration) and the integer lowering refuses the float
 * Transpose. With every data input a constant (an initializer that is not a
 * graph input, or a Constant node), the node's result is the constant
 *   y = op(c₁, …, cₖ)
 * computed here once; y becomes an initializer under the node's output name,
 * so every later stage sees a weight (an Identity read by nodes only is
 * removed instead, its readers reading its input: shared weights, tied
 * LayerNorm parameters, stay one tensor). Folded: Identity, Reshape, Flatten,
 * Squeeze, Unsqueeze, Transpose, Concat (element moves: the bytes are copied,
 * never recomputed) and Cast where the conversion is exact (to the same type,
 * or float16/bfloat16 → float32). Arithmetic on constants (Mul, Add, …) is
 * not folded: a moved element is bit-identical by construction, a computed
 * one would have to match ONNX Runtime's kernels, and the Mul/Add by a
 * constant next to a layer is fold-affine's job. On request (`select`: the
 * integer lowering folds an attention mask's condition with it) Slice (a
 * move), Equal, Not and Cast to bool (comparisons, exact) fold too. A node whose output is a
 * graph output stays (the graph keeps its outputs); a value a subgraph reads
 * keeps its name, and constants left unread are dropped (graph-edit.ts).
 */

import { attrInt, attrInts, isDefaultDomain } from "../ir/attrs.js";
import { DataType, dtypeInfo } from "../ir/dtype.js";
import type { Graph, Node } from "../ir/graph.js";
import { type Tensor, tensorBytes, tensorToFloat64 } from "../ir/tensor.js";
import { permutationSources } from "../numerics/permute.js";
import { GraphEdit } from "./graph-edit.js";

export interface ConstantFoldReport {
  readonly pass: "fold-constants";
  /** The folded nodes (name, or op and output when unnamed) and their ops. */
  readonly folded: readonly { node: string; op: string }[];
}

const FOLDABLE = new Set(["Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Cast"]);

/** Ops folded only where a caller selects them (see the file comment). */
export const EXACT_FOLDABLE: ReadonlySet<string> = new Set(["Slice", "Equal", "Not"]);

/** Bytes per element, or undefined for types without a whole-byte element (strings, 4/6-bit). */
function itemSize(dtype: number): number | undefined {
  const bits = dtypeInfo(dtype)?.bits ?? 0;
  return dtype !== DataType.STRING && bits > 0 && bits % 8 === 0 ? bits / 8 : undefined;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const withDims = (t: Tensor, dims: readonly number[]): Tensor => ({ dtype: t.dtype, dims, raw: tensorBytes(t) });
const ints = (t: Tensor | undefined): number[] | undefined => (t ? Array.from(tensorToFloat64(t)) : undefined);
/** Axes from the second input (opset ≥ 13) or the `axes` attribute (before). */
const axesOf = (n: Node, second: Tensor | undefined): number[] | undefined => ints(second) ?? attrInts(n, "axes");

/** ONNX Reshape's target: 0 copies the input dim (unless allowzero), one -1 takes what is left. */
function reshapeDims(input: readonly number[], target: readonly number[], allowZero: boolean): number[] | undefined {
  const dims = target.map((d, i) => (d === 0 && !allowZero ? input[i] : d));
  if (dims.some((d) => d === undefined || d < -1) || dims.filter((d) => d === -1).length > 1) return undefined;
  const known = product((dims as number[]).filter((d) => d !== -1));
  const total = product(input);
  const out = (dims as number[]).map((d) => (d === -1 ? (known === 0 ? -1 : total / known) : d));
  return out.every((d) => Number.isInteger(d) && d >= 0) && product(out) === total ? out : undefined;
}

/** y[i₀…] = x[i_perm…]: moves whole elements of `size` bytes. */
function transpose(t: Tensor, perm: readonly number[], size: number): Tensor | undefined {
  const r = t.dims.length;
  if (perm.length !== r || new Set(perm).size !== r || perm.some((p) => p < 0 || p >= r)) return undefined;
  const src = tensorBytes(t);
  const dims = perm.map((p) => t.dims[p]!);
  const map = permutationSources(t.dims, perm);
  const out = new Uint8Array(src.length);
  for (let o = 0; o < map.length; o++) out.set(src.subarray(map[o]! * size, (map[o]! + 1) * size), o * size);
  return { dtype: t.dtype, dims, raw: out };
}

/** Concatenation along `axis`: for each outer index, each input's block in turn. */
function concat(ts: readonly Tensor[], axis: number, size: number): Tensor | undefined {
  const r = ts[0]!.dims.length;
  const a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) return undefined;
  const same = (t: Tensor) => t.dtype === ts[0]!.dtype && t.dims.length === r && t.dims.every((d, i) => i === a || d === ts[0]!.dims[i]);
  if (!ts.every(same)) return undefined;
  const outer = product(ts[0]!.dims.slice(0, a));
  const blocks = ts.map((t) => product(t.dims.slice(a)) * size);
  const srcs = ts.map(tensorBytes);
  const out = new Uint8Array(outer * blocks.reduce((x, y) => x + y, 0));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    srcs.forEach((s, k) => {
      out.set(s.subarray(i * blocks[k]!, (i + 1) * blocks[k]!), o);
      o += blocks[k]!;
    });
  }
  const dims = ts[0]!.dims.map((d, i) => (i === a ? ts.reduce((x, t) => x + t.dims[i]!, 0) : d));
  return { dtype: ts[0]!.dtype, dims, raw: out };
}

const boolTensor = (dims: readonly number[], v: ArrayLike<number>): Tensor => ({ dtype: DataType.BOOL, dims, raw: Uint8Array.from(v) });

function cast(t: Tensor, to: number): Tensor | undefined {
  if (to === t.dtype) return withDims(t, t.dims);
  if (to === DataType.BOOL) return boolTensor(t.dims, tensorToFloat64(t).map((v) => (v !== 0 ? 1 : 0)));
  if (to !== DataType.FLOAT || (t.dtype !== DataType.FLOAT16 && t.dtype !== DataType.BFLOAT16)) return undefined;
  const f = Float32Array.from(tensorToFloat64(t));
  return { dtype: DataType.FLOAT, dims: t.dims, raw: new Uint8Array(f.buffer) };
}

/** ONNX Slice: per listed axis, elements start, start + step, … before end (clamped as ONNX does); whole elements are copied. */
function slice(t: Tensor, args: readonly (Tensor | undefined)[], size: number): Tensor | undefined {
  const [starts, ends, axesT, stepsT] = args.map(ints);
  const r = t.dims.length;
  if (!starts || !ends || starts.length !== ends.length) return undefined;
  const axes = (axesT ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + r : a));
  const steps = stepsT ?? starts.map(() => 1);
  const first = t.dims.map(() => 0);
  const step = t.dims.map(() => 1);
  const dims = [...t.dims];
  for (let k = 0; k < axes.length; k++) {
    const a = axes[k]!;
    const d = t.dims[a]!;
    const st = steps[k]!;
    if (a < 0 || a >= r || st === 0 || st === undefined) return undefined;
    const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x < 0 ? x + d : x, lo), hi);
    const [lo, hi] = st > 0 ? [0, d] : [-1, d - 1];
    const b = clamp(starts[k]!, lo, hi);
    const e = clamp(ends[k]!, lo, hi);
    first[a] = b;
    step[a] = st;
    dims[a] = Math.max(0, Math.ceil((e - b) / st));
  }
  const src = tensorBytes(t);
  const strides = t.dims.map((_, i) => product(t.dims.slice(i + 1)));
  const count = product(dims);
  const out = new Uint8Array(count * size);
  const idx = dims.map(() => 0);
  for (let o = 0; o < count; o++) {
    const from = idx.reduce((acc, j, a) => acc + (first[a]! + j * step[a]!) * strides[a]!, 0);
    out.set(src.subarray(from * size, (from + 1) * size), o * size);
    for (let a = r - 1; a >= 0; a--) {
      if (++idx[a]! < dims[a]!) break;
      idx[a] = 0;
    }
  }
  return { dtype: t.dtype, dims, raw: out };
}

/** ONNX Equal where one side is a single element or both have the same dims (the mask conditions exports write). */
function equal(x: Tensor, y: Tensor): Tensor | undefined {
  const [a, b] = [tensorToFloat64(x), tensorToFloat64(y)];
  const same = x.dims.length === y.dims.length && x.dims.every((d, i) => d === y.dims[i]);
  if (b.length === 1 && (same || y.dims.length <= x.dims.length)) return boolTensor(x.dims, a.map((v) => (v === b[0] ? 1 : 0)));
  if (a.length === 1 && x.dims.length <= y.dims.length) return boolTensor(y.dims, b.map((v) => (v === a[0] ? 1 : 0)));
  return same ? boolTensor(x.dims, a.map((v, i) => (v === b[i] ? 1 : 0))) : undefined;
}

/** The node's result on constant inputs, or undefined when it does not fold. */
function evaluate(n: Node, ins: readonly Tensor[]): Tensor | undefined {
  const [x, second] = ins;
  const size = x ? itemSize(x.dtype) : undefined;
  if (!x || size === undefined) return undefined;
  const r = x.dims.length;
  switch (n.opType) {
    case "Identity":
      return withDims(x, x.dims);
    case "Reshape": {
      const target = ints(second) ?? attrInts(n, "shape");
      const dims = target && reshapeDims(x.dims, target, attrInt(n, "allowzero", 0) === 1);
      return dims && withDims(x, dims);
    }
    case "Flatten": {
      const axis = attrInt(n, "axis", 1);
      const a = axis < 0 ? axis + r : axis;
      return a < 0 || a > r ? undefined : withDims(x, [product(x.dims.slice(0, a)), product(x.dims.slice(a))]);
    }
    case "Squeeze": {
      const axes = (axesOf(n, second) ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => (a < 0 ? a + r : a));
      if (axes.some((a) => x.dims[a] !== 1)) return undefined;
      return withDims(x, x.dims.filter((_, i) => !axes.includes(i)));
    }
    case "Unsqueeze": {
      const axes = axesOf(n, second);
      if (!axes) return undefined;
      const outRank = r + axes.length;
      const at = new Set(axes.map((a) => (a < 0 ? a + outRank : a)));
      if (at.size !== axes.length || [...at].some((a) => a < 0 || a >= outRank)) return undefined;
      const rest = [...x.dims];
      return withDims(x, Array.from({ length: outRank }, (_, i) => (at.has(i) ? 1 : rest.shift()!)));
    }
    case "Transpose":
      return transpose(x, attrInts(n, "perm") ?? x.dims.map((_, i) => r - 1 - i), size);
    case "Concat":
      return concat(ins, attrInt(n, "axis", 0), size);
    case "Cast":
      return cast(x, attrInt(n, "to", 0));
    case "Slice":
      return slice(x, ins.slice(1), size);
    case "Equal":
      return second && equal(x, second);
    case "Not":
      return x.dtype === DataType.BOOL ? boolTensor(x.dims, tensorToFloat64(x).map((v) => (v !== 0 ? 0 : 1))) : undefined;
  }
  return undefined;
}

/** Points the nodes reading `from` at `to` (an Identity of a shared constant then adds no copy of it). */
function aliasReaders(edit: GraphEdit, from: string, to: string): void {
  for (const j of new Set(edit.consumers(from))) {
    const m = edit.node(j)!;
    edit.replaceNode(j, { ...m, inputs: m.inputs.map((v) => (v === from ? to : v)) });
  }
}

/**
 * Folds every layout node whose inputs are all constants, in graph order (so
 * chains fold whole); with `select`, the nodes it picks among the layout ops
 * and EXACT_FOLDABLE instead.
 */
export function foldConstants(g: Graph, select?: (n: Node) => boolean): { graph: Graph; report: ConstantFoldReport } {
  const edit = new GraphEdit(g);
  const folded: { node: string; op: string }[] = [];
  for (let i = 0; i < edit.nodeCount; i++) {
    const n = edit.node(i)!;
    const wanted = select ? (FOLDABLE.has(n.opType) || EXACT_FOLDABLE.has(n.opType)) && select(n) : FOLDABLE.has(n.opType);
    if (!wanted || !isDefaultDomain(n) || n.outputs.length !== 1 || edit.isGraphOutput(n.outputs[0]!)) continue;
    const ins = n.inputs.filter((v) => v).map((v) => edit.constant(v));
    if (ins.length === 0 || ins.some((t) => t === undefined)) continue;
    const y = evaluate(n, ins as Tensor[]);
    if (!y) continue;
    const out = n.outputs[0]!;
    edit.removeNode(i);
    if (n.opType === "Identity" && edit.readers(out) === edit.consumers(out).length) aliasReaders(edit, out, n.inputs[0]!);
    else edit.addConstant({ ...y, name: out });
    folded.push({ node: edit.label(i), op: n.opType });
  }
  return { graph: edit.finish(), report: { pass: "fold-constants", folded } };
}
