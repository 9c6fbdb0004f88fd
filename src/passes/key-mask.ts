/**
 * Additive attention masks: an Add of attention scores S and a mask term M
 * that is computed from boolean or integer graph inputs and constants only,
 * whose one reader is a Softmax:
 *
 *   torch src_key_padding_mask  M = Where(mask, −inf, 0) → Reshape → Expand → Reshape   (bool [B, L])
 *   BERT attention_mask          M = (1 − Cast(mask)) · −10000 → Unsqueeze …            (int64 [B, L])
 *
 *   P = Softmax(S + M)
 *
 * A key whose M is −inf (or a finite value that exp underflows to 0) gets
 * probability 0 and leaves the others untouched. The quantizer keeps such an
 * Add and the mask arithmetic float (no Q/DQ on −inf; plan.ts), and the
 * integer lowering turns M into a per-key exclusion flag of the integer
 * Softmax (numerics/transformer.ts maskedSoftmax, integer/lower-key-mask.ts).
 *
 * MaskDerived(v) ⇔ v is a bool or integer graph input, or v = op(…) with op
 * elementwise (Cast, Where, Not, Equal, Add, Sub, Mul, Div, Neg) or data
 * movement (Reshape, Unsqueeze, Squeeze, Flatten, Identity, Expand,
 * Transpose), every input constant, shape arithmetic or MaskDerived, and at
 * least one MaskDerived (an embedding gathered by int64 ids is not). Shape arithmetic is a Shape/Size output or computed
 * from such values and constants only: ConstantOfShape(Shape(mask)), the
 * zeros of torch's Where, is not a mask term but a constant of known shape.
 *
 * A constant mask (GPT-2's causal mask: the tril buffer sliced to the
 * sequence length) selects instead of adding, and reads no input:
 *
 *   P = Softmax(Where(C, S, −inf))     (or Where(C', −inf, S), C' = ¬C)
 *
 * C computed from constants and shape arithmetic only (the slice bounds
 * come from Shape(x)), the fill a uniform constant that excludes a key
 * (numerics/transformer.ts maskedKey), the Where read by one Softmax. Once
 * the sequence length is pinned C folds to a constant [query, key] tensor.
 */
import { DataType } from "../ir/dtype.js";
import { type Graph, type Node, readersOf } from "../ir/graph.js";
import { constantTensors } from "../ir/infer-types.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { tensorTypeOf } from "../ir/types.js";
import { maskedKey } from "../numerics/transformer.js";

/** The ops mask arithmetic may use: elementwise with constants, and data movement (a Gather of an embedding by ids is data, not a mask). */
const MASK_OPS = new Set(["Cast", "Where", "Not", "Equal", "Add", "Sub", "Mul", "Div", "Neg", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity", "Expand", "Transpose"]);
const MASK_INPUT_TYPES = new Set<number>([DataType.BOOL, DataType.INT64, DataType.INT32, DataType.INT8, DataType.UINT8]);

/** One masked Add: the scores operand, the mask term, the Softmax reading the sum, and the graph input the mask comes from. */
export interface KeyMaskAdd {
  readonly add: Node;
  readonly scores: string;
  readonly term: string;
  readonly softmax: Node;
  readonly source: string;
}

/** The values computed from bool/integer graph inputs and constants only (see the file comment), each with its source input. */
export function maskDerivedValues(g: Graph): Map<string, string> {
  return maskValueKinds(g).derived;
}

/** Mask-derived values (with their source) and shape-only values: Shape/Size outputs and what is computed from them and constants alone. */
function maskValueKinds(g: Graph): { derived: Map<string, string>; shapeOnly: Set<string> } {
  const inits = new Set(g.initializers.map((t) => t.name));
  const consts = constantTensors(g);
  const derived = new Map<string, string>();
  for (const v of g.inputs) {
    const t = tensorTypeOf(v.type)?.dtype;
    if (!inits.has(v.name) && t !== undefined && MASK_INPUT_TYPES.has(t)) derived.set(v.name, v.name);
  }
  const shapeOnly = new Set<string>();
  for (const n of g.nodes) {
    const outs = n.outputs.filter((o) => o !== "");
    if (n.opType === "Constant") continue;
    if (n.opType === "Shape" || n.opType === "Size") {
      for (const o of outs) shapeOnly.add(o);
      continue;
    }
    const ins = n.inputs.filter((i) => i !== "" && !consts.has(i));
    if (n.attributes.some((a) => a.g || a.graphs?.length)) continue;
    const source = ins.map((i) => derived.get(i)).find((s) => s !== undefined);
    if (source !== undefined && MASK_OPS.has(n.opType) && ins.every((i) => derived.has(i) || shapeOnly.has(i))) for (const o of outs) derived.set(o, source);
    else if (ins.every((i) => shapeOnly.has(i))) for (const o of outs) shapeOnly.add(o); // constants computed by nodes count too
  }
  return { derived, shapeOnly };
}

/** The one value of a constant whose elements are all equal (NaN counts as equal to NaN), or undefined. */
export function uniformValue(t: Tensor | undefined): number | undefined {
  if (!t) return undefined;
  const v = tensorToFloat64(t);
  return v.length > 0 && v.every((x) => x === v[0] || (Number.isNaN(x) && Number.isNaN(v[0]))) ? v[0] : undefined;
}

/** One constant-masked Where (see the file comment): the scores it keeps, its condition, and where the condition excludes a key. */
export interface ConstantMaskWhere {
  readonly where: Node;
  readonly scores: string;
  readonly condition: string;
  /** True when the fill is Where's second input (a key is excluded where C is true), false when it is the third. */
  readonly excludeWhenTrue: boolean;
  readonly softmax: Node;
}

/** Every Where of scores and an excluding fill under a constant condition whose one reader is a Softmax, by Where output. */
export function constantMaskWheres(g: Graph): Map<string, ConstantMaskWhere> {
  const { shapeOnly } = maskValueKinds(g);
  const consts = constantTensors(g);
  const readers = readersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const found = new Map<string, ConstantMaskWhere>();
  for (const n of g.nodes) {
    if (n.opType !== "Where" || (n.domain ?? "") !== "" || n.inputs.length !== 3) continue;
    const [c, a, b] = n.inputs as [string, string, string];
    if (!consts.has(c) && !shapeOnly.has(c)) continue;
    const fill = [a, b].map((v) => maskedKey(uniformValue(consts.get(v)) ?? 0) === "exclude");
    if (fill[0] === fill[1]) continue;
    const scores = fill[0] ? b : a;
    const y = n.outputs[0]!;
    const r = readers.get(y) ?? [];
    if (consts.has(scores) || shapeOnly.has(scores) || r.length !== 1 || outputs.has(y) || r[0]!.opType !== "Softmax") continue;
    found.set(y, { where: n, scores, condition: c, excludeWhenTrue: fill[0]!, softmax: r[0]! });
  }
  return found;
}

/** Every Add of scores and a mask term whose one reader is a Softmax over the last axis, by Add output. */
export function keyMaskAdds(g: Graph, derived: ReadonlyMap<string, string> = maskDerivedValues(g)): Map<string, KeyMaskAdd> {
  const readers = readersOf(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const found = new Map<string, KeyMaskAdd>();
  for (const n of g.nodes) {
    if (n.opType !== "Add" || (n.domain ?? "") !== "" || n.inputs.length !== 2) continue;
    const masked = n.inputs.map((i) => derived.has(i));
    if (masked[0] === masked[1]) continue;
    const y = n.outputs[0]!;
    const r = readers.get(y) ?? [];
    if (r.length !== 1 || outputs.has(y) || r[0]!.opType !== "Softmax") continue;
    const t = masked[0] ? 0 : 1;
    const term = n.inputs[t]!;
    found.set(y, { add: n, scores: n.inputs[1 - t]!, term, softmax: r[0]!, source: derived.get(term)! });
  }
  return found;
}

/** The mask arithmetic of the masked Adds: every mask-derived value a term is computed from (itself included), with its source input. */
export function maskTermValues(g: Graph, adds: ReadonlyMap<string, KeyMaskAdd>, derived: ReadonlyMap<string, string>): Map<string, string> {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const out = new Map<string, string>();
  const stack = [...adds.values()].map((a) => a.term);
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (out.has(v) || !derived.has(v)) continue;
    out.set(v, derived.get(v)!);
    for (const i of producer.get(v)?.inputs ?? []) if (i) stack.push(i);
  }
  return out;
}
