/**
 * Where a per-channel smoothing scale can travel (passes/smooth.ts): from a
 * norm's output, whose channel axis is its last, through layout ops that move
 * elements without mixing channels, to the linear layers that contract it.
 * The channel axis a (of length C) is tracked exactly:
 *
 *   Transpose(perm)  a ← perm.indexOf(a)                 (output axis i holds input axis perm[i])
 *   Reshape          a ← b where out[b] = C and Π out[b+1…] = Π in[a+1…]   (the axis neither split nor merged;
 *                    both trailing products must be known numbers)
 *   Identity         a unchanged
 *   Shape            reads the shape only: any scale passes
 *
 * A linear reader (MatMul with a constant [C, N] weight, or Gemm transB with a
 * constant [N, C] weight, alpha 1, no transA) qualifies when a is the last axis
 * of what it reads: it then contracts exactly the channels, and scaling its
 * weight row j by s_j undoes X_j / s_j. A Reshape that splits or merges the
 * channel axis, a Transpose that leaves it elsewhere before a linear layer,
 * or any other reader stops the walk, with a reason naming the node.
 */
import { attrFloat, attrInt, attrInts } from "../ir/attrs.js";
import type { Dim, Graph, Node } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";

/** A value's inferred dims, undefined when unknown. */
export type Shape = readonly Dim[] | undefined;

export interface LayoutWalk {
  /** The linear layers reached, each reading its input with the channels on the last axis. */
  readonly readers: readonly Node[];
  /** The layout ops passed through (Transpose, Reshape, Identity). */
  readonly via: readonly Node[];
}

const label = (n: Node) => `${n.opType} '${n.name || n.outputs[0]}'`;

/** Product of dims, or undefined when one is not a known number. */
function product(dims: Shape): number | undefined {
  if (!dims) return undefined;
  let p = 1;
  for (const d of dims) {
    if (typeof d !== "number") return undefined;
    p *= d;
  }
  return p;
}

/** The output axis of a Reshape that carries input axis `a` (of length C) unchanged, or a reason it is split or merged. */
export function reshapedAxis(inShape: Shape, outShape: Shape, a: number): number | string {
  if (!inShape || !outShape) return "its shapes are not known";
  const C = inShape[a];
  const after = product(inShape.slice(a + 1));
  if (typeof C !== "number" || after === undefined) return "the dims after the channel axis are not known";
  for (let b = outShape.length - 1; b >= 0; b--) {
    const tail = product(outShape.slice(b + 1));
    if (tail === undefined) return "its output dims are not known";
    if (tail > after) break;
    // size-1 dims leave the trailing product alone: keep looking past them
    if (tail === after && outShape[b] === C) return b;
  }
  return `it splits or merges the channel axis (${C} channels, ${after} elements after it, output [${outShape.map((d) => d ?? "?").join(", ")}])`;
}

/**
 * What reader r of v (its C channels on axis a of `rank`, a = −1 for the last
 * axis of an unknown rank) does with them: "linear" (it contracts them), "shape" (reads
 * the shape only), the axis they land on in r's output, a reason they cannot
 * travel, or undefined when r is no layout op or linear layer at all.
 */
function nextAxis(
  r: Node,
  v: string,
  at: { a: number; rank: number | undefined; C: number },
  shapes: (v: string) => Shape,
  consts: ReadonlyMap<string, Tensor>,
): "linear" | "shape" | number | string | undefined {
  const { a, rank, C } = at;
  if ((r.domain ?? "") !== "") return undefined;
  switch (r.opType) {
    case "Shape":
      return "shape";
    case "Identity":
      return a;
    case "Transpose": {
      if (rank === undefined || a < 0) return `the rank of '${v}' is not known`;
      const perm = attrInts(r, "perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      return perm.indexOf(a);
    }
    case "Reshape":
      if (r.inputs[0] !== v) return undefined;
      if (a < 0) return `the shape of '${v}' is not known`;
      return reshapedAxis(shapes(v), shapes(r.outputs[0]!), a);
    case "MatMul":
    case "Gemm": {
      const w = consts.get(r.inputs[1] ?? "");
      if (r.inputs[0] !== v || !w || w.dims.length !== 2) return undefined;
      const k = r.opType === "MatMul" ? Number(w.dims[0]) : Number(w.dims[1]);
      const fits = r.opType === "MatMul" || (attrInt(r, "transB", 0) === 1 && attrInt(r, "transA", 0) === 0 && (attrFloat(r, "alpha") ?? 1) === 1);
      if (!fits || k !== C) return undefined;
      return (rank === undefined ? a === -1 : a === rank - 1) ? "linear" : `it contracts axis ${rank === undefined ? "?" : rank - 1} but the channels are on axis ${a}`;
    }
    default:
      return undefined;
  }
}

/**
 * Follows `value`, whose last axis holds C channels, to its linear readers.
 * `shapes` gives inferred shapes (a value of unknown rank can still reach
 * linear layers directly, not through layout ops), `consts` the constant
 * tensors; returns the walk, or a reason (naming the node) the scale cannot
 * travel, or undefined when some reader is simply not a linear layer.
 */
export function followChannels(g: Graph, value: string, C: number, shapes: (v: string) => Shape, consts: ReadonlyMap<string, Tensor>): LayoutWalk | string | undefined {
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of new Set(n.inputs)) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const linear: Node[] = [];
  const via: Node[] = [];
  let plain = false;
  let reason: string | undefined;
  /** a: the channel axis of v, −1 for the last axis of a value of unknown rank. */
  const visit = (v: string, a: number): void => {
    const rs = readers.get(v) ?? [];
    if (outputs.has(v) || rs.length === 0) {
      plain = true;
      return;
    }
    const rank = shapes(v)?.length;
    for (const r of rs) {
      const next = nextAxis(r, v, { a, rank, C }, shapes, consts);
      if (next === "linear") {
        if (!linear.includes(r)) linear.push(r);
      } else if (next === "shape") continue;
      else if (next === undefined) plain = true;
      else if (typeof next === "string") reason ??= `${label(r)}: ${next}`;
      else if (typeof next === "number") {
        via.push(r);
        visit(r.outputs[0]!, next);
      }
    }
  };
  const rank = shapes(value)?.length;
  visit(value, rank === undefined ? -1 : rank - 1);
  if (plain) return undefined;
  return reason ?? (linear.length ? { readers: linear, via } : undefined);
}
