/**
 * Where the batch sits in every value of a graph, and whether any node mixes
 * samples. torch's attention moves the batch off the leading axis and merges
 * it with the heads: x [S, B, D] → [S, B·H, hd] → [B·H, S, hd] → … → [S·B, D].
 * A value's layout is (k, q): its axis k has size p·B·q and index
 * (i·B + b)·q + j for sample b (q: the size of what is merged inside the
 * batch on that axis, H for B·H; p what is merged outside it).
 *
 * The layouts come from the same graph instantiated at batch 1 and at batch β
 * (shapes F₁ and F_β, every dim known): the batch axis is the one axis with
 * F_β[k] = β·F₁[k]. A node keeps samples apart when, run at batch B, it is B
 * runs of itself at batch 1, one per sample:
 * - Transpose moves (k, q) with its axis; elementwise ops and MatMul keep it
 *   (a constant or batch-free operand must have size 1 on axis k);
 * - a reshape keeps the element order, so the sample's block of the flat
 *   index, of stride st = q·∏F₁[k+1:], must fall on one output axis k′:
 *   st divisible by R′ = ∏F₁[k′+1:], q′ = st / R′ dividing F₁[k′];
 * - Softmax, LayerNormalization, Reduce*, Concat, Gather, Slice and Split
 *   must act on axes other than k, and MatMul must not contract over it.
 * Anything else that carries the batch is refused, naming the node.
 */
import { attrInt, attrInts } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Dim, Graph, Node } from "../ir/graph.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { tensorToFloat64 } from "../ir/tensor.js";

/** The batch's axis and its inner factor; null: the value holds no batch (a constant, or computed from constants). */
export type Layout = { readonly k: number; readonly q: number } | null;

const ELEMENTWISE = new Set([
  ...["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where", "Equal", "Less", "Greater", "And", "Or", "Not"],
  ...["Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Gelu", "Exp", "Log", "Sqrt", "Reciprocal"],
  ...["Neg", "Abs", "Floor", "Ceil", "Round", "Softplus", "Softsign", "Elu", "Selu", "Clip", "Cast", "Identity", "Dropout"],
]);
const RESHAPES = new Set(["Reshape", "Flatten", "Squeeze", "Unsqueeze"]);

const product = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
const norm = (a: number, r: number) => (a < 0 ? a + r : a);

function label(n: Node): string {
  return `${n.opType} '${n.name || n.outputs[0] || "?"}'`;
}

function mixes(n: Node, why: string): FixqError {
  return new FixqError("unsupported", `cannot integerize: ${label(n)} ${why}, so it mixes the samples of a batch; integer programs run each sample on its own`);
}

/** The axis where the batch-β shape is β times the batch-1 shape; null when none; undefined when unknown or not of that form. */
function shapeAxis(one: readonly Dim[] | undefined, many: readonly Dim[] | undefined, beta: number): number | null | undefined {
  if (!one || !many || one.length !== many.length || [...one, ...many].some((d) => typeof d !== "number")) return undefined;
  const diff = one.map((_, i) => i).filter((i) => one[i] !== many[i]);
  if (diff.length === 0) return null;
  const k = diff[0]!;
  return diff.length === 1 && (many[k] as number) === beta * (one[k] as number) ? k : undefined;
}

/** The axes a reducing node acts on (normalized), or undefined when it reduces none. */
function reducedAxes(n: Node, rank: number, consts: ReturnType<typeof constantTensors>): number[] | undefined {
  switch (n.opType) {
    case "Softmax":
    case "LogSoftmax":
      return [norm(attrInt(n, "axis", -1), rank)];
    case "LayerNormalization": {
      const a = norm(attrInt(n, "axis", -1), rank);
      return Array.from({ length: rank - a }, (_, i) => a + i);
    }
    case "Concat":
    case "Split":
      return [norm(attrInt(n, "axis", 0), rank)];
    case "Slice": {
      const t = consts.get(n.inputs[3] ?? "");
      const starts = consts.get(n.inputs[1] ?? "");
      return t ? [...tensorToFloat64(t)].map((a) => norm(a, rank)) : Array.from({ length: starts?.dims[0] ?? rank }, (_, i) => i);
    }
    default: {
      if (!n.opType.startsWith("Reduce")) return undefined;
      const t = consts.get(n.inputs[1] ?? "");
      const axes = t ? [...tensorToFloat64(t)] : attrInts(n, "axes");
      return axes && axes.length > 0 ? axes.map((a) => norm(a, rank)) : Array.from({ length: rank }, (_, i) => i);
    }
  }
}

/**
 * The layout of every value of `one` (the graph at batch 1) given `many` (the
 * same graph at batch β, node for node); throws naming the first node that
 * mixes samples. `inputs` gives the batch axis of each graph input.
 */
export function batchLayouts(one: Graph, many: Graph, beta: number): Map<string, Layout> {
  const t1 = inferTypes(one);
  const tb = inferTypes(many);
  const consts = constantTensors(one);
  const layouts = new Map<string, Layout>();
  const shape1 = (name: string) => t1.get(name)?.shape as number[] | undefined;
  for (const v of one.inputs) {
    const k = shapeAxis(shape1(v.name), tb.get(v.name)?.shape, beta);
    if (k !== undefined) layouts.set(v.name, k === null ? null : { k, q: 1 });
  }
  for (const n of one.nodes) {
    if (n.opType === "Constant") continue;
    const ins = n.inputs.map((i): Layout => (i && !consts.has(i) ? (layouts.get(i) ?? null) : null));
    const carrier = ins.findIndex((l) => l !== null);
    for (const out of n.outputs) {
      if (!out) continue;
      const k = shapeAxis(shape1(out), tb.get(out)?.shape, beta);
      if (k === undefined) throw mixes(n, `gives '${out}' a shape that does not scale with the batch`);
      if (carrier < 0) {
        // computed from batch-free values: a broadcast (Expand) may add the batch, one sample's copy each
        if (k !== null && shape1(out)![k] !== 1) throw mixes(n, `spreads a batch-free value over the batch axis ${k}`);
        layouts.set(out, k === null ? null : { k, q: 1 });
        continue;
      }
      layouts.set(out, outputLayout(n, ins, carrier, shape1, k, consts));
    }
  }
  return layouts;
}

/** The layout of n's output (shape-derived batch axis `k`), or a throw when n mixes samples. */
function outputLayout(
  n: Node,
  ins: readonly Layout[],
  carrier: number,
  shape1: (name: string) => number[] | undefined,
  k: number | null,
  consts: ReturnType<typeof constantTensors>,
): Layout {
  const inLayout = ins[carrier]!;
  const inShape = shape1(n.inputs[carrier]!);
  const outShape = shape1(n.outputs[0]!);
  if (!inShape || !outShape) throw mixes(n, "has a value of unknown shape");
  if (k === null) throw mixes(n, `reduces or drops the batch axis ${inLayout.k}`);
  const r = inShape.length;
  const reduced = reducedAxes(n, r, consts);
  if (reduced?.includes(inLayout.k)) throw mixes(n, `acts along the batch axis ${inLayout.k}`);
  let want: Layout;
  if (n.opType === "Transpose") {
    const perm = attrInts(n, "perm") ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    want = { k: perm.indexOf(inLayout.k), q: inLayout.q };
  } else if (RESHAPES.has(n.opType)) {
    const st = inLayout.q * product(inShape.slice(inLayout.k + 1));
    const inner = product(outShape.slice(k + 1));
    if (st % inner !== 0 || outShape[k]! % (st / inner) !== 0) throw mixes(n, "splits one sample's elements across the batch");
    want = { k, q: st / inner };
  } else if (n.opType === "MatMul" || n.opType === "Gemm") {
    want = matmulLayout(n, ins, shape1, outShape.length);
  } else if (n.opType === "Gather") {
    const axis = norm(attrInt(n, "axis", 0), shape1(n.inputs[0]!)?.length ?? 0);
    const idxRank = shape1(n.inputs[1]!)?.length ?? 0;
    want = carrier === 1 ? { k: inLayout.k + axis, q: inLayout.q } : { k: inLayout.k < axis ? inLayout.k : inLayout.k + idxRank - 1, q: inLayout.q };
  } else if (ELEMENTWISE.has(n.opType) || reduced || n.opType === "Expand") {
    want = broadcastLayout(n, ins, shape1, outShape.length);
  } else {
    throw mixes(n, "is not known to keep samples apart");
  }
  if (!want || want.k !== k) throw mixes(n, `moves the batch to axis ${k} in a way that is not per sample`);
  return want;
}

/** Elementwise with numpy broadcasting: every batch-carrying operand agrees; every other operand has size 1 on the batch axis. */
function broadcastLayout(n: Node, ins: readonly Layout[], shape1: (name: string) => number[] | undefined, rank: number): Layout {
  let out: Layout = null;
  n.inputs.forEach((name, i) => {
    const s = name ? shape1(name) : undefined;
    if (!name || !s) return;
    const l = ins[i];
    if (l) {
      const k = l.k + rank - s.length;
      if (out && (out.k !== k || out.q !== l.q)) throw mixes(n, "combines operands whose batch axes differ");
      out = { k, q: l.q };
    }
  });
  const o = out as Layout;
  n.inputs.forEach((name, i) => {
    const s = name ? shape1(name) : undefined;
    if (!o || !s || ins[i]) return;
    const d = s[o.k - (rank - s.length)];
    if (d !== undefined && d !== 1) throw mixes(n, `broadcasts '${name}' (size ${d} on the batch axis ${o.k}) against the batch`);
  });
  return o;
}

/** MatMul/Gemm: the batch may sit on a leading (batched) axis or the left operand's rows, never on the contracted axis. */
function matmulLayout(n: Node, ins: readonly Layout[], shape1: (name: string) => number[] | undefined, rank: number): Layout {
  const [a, b] = ins;
  const ra = shape1(n.inputs[0]!)?.length ?? 0;
  const rb = shape1(n.inputs[1]!)?.length ?? 0;
  const transA = n.opType === "Gemm" && attrInt(n, "transA", 0) === 1;
  if (a && a.k === (transA ? 0 : ra - 1)) throw mixes(n, "contracts over the batch axis of its left operand");
  if (b && (n.opType === "Gemm" || b.k === rb - 2)) throw mixes(n, "contracts over the batch axis of its right operand");
  const la = a && { k: a.k + rank - ra, q: a.q };
  const lb = b && { k: b.k + rank - rb, q: b.q };
  if (la && lb && (la.k !== lb.k || la.q !== lb.q || la.k >= rank - 2)) throw mixes(n, "multiplies operands whose batch axes differ");
  return la ?? lb;
}
