/**
 * Attention masks (passes/key-mask.ts) lowered to the key mask of the integer
 * Softmax: P = Softmax(S + M), M computed from a bool or integer input m.
 *
 * The mask input is read as 0/1 (its `quantize` clamps to [0, 1]). The chain
 * from m to M must be elementwise ops with uniform constants (Cast, Where of
 * m with two constant branches, Not, Equal, Add, Sub, Mul, Div) and data
 * movement (Reshape, Unsqueeze, Squeeze, Flatten, Identity, Expand,
 * Transpose). So M = move(f(m)) for a scalar function f, and the flag of a key
 * is a table of m's two codes:
 *   flag[v] = 1 where f(v) excludes the key (−inf, or ≤ −10000), 0 where f(v) = 0
 *   (numerics/transformer.ts maskedKey); any other f(v) is refused
 * followed by the same movement of the flags, broadcast to the scores' shape
 * by copies. The Softmax then runs on S alone (its spec is the scores'), with
 * the flagged keys excluded: probability 0, as the float Softmax gives them.
 */
import { attrInt, attrInts } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { intMax, intMin, intType } from "../numerics/int.js";
import { maskedKey } from "../numerics/transformer.js";
import { type ConstantMaskWhere, type KeyMaskAdd, uniformValue } from "../passes/key-mask.js";
import { lowerSoftmax } from "./lower-attention.js";
import { broadcastToSample } from "./lower-addconst.js";
import { constantValue } from "./lower-constant.js";
import { broadcastInto } from "./lower-elementwise.js";
import { type ActSpec, type LoweringContext, label } from "./lowering-context.js";

const RESHAPES = new Set(["Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity"]);
const INT_TYPES = new Set<number>([DataType.INT64, DataType.INT32, DataType.INT16, DataType.INT8, DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64]);
/** The spec of a mask input and of the flags: the integers 0 and 1. */
export const MASK_SPEC: ActSpec = { scale: 1, zeroPoint: 0, qmin: 0, qmax: 1, type: intType(8, true) };

type Step = { node: Node; fn?: (v: number) => number };

/** The scalar function of one chain node applied to its carrier input `at`, or undefined for data movement; throws naming the node when neither. */
function stepFunction(ctx: LoweringContext, n: Node, at: number, source: string): ((v: number) => number) | undefined {
  if (RESHAPES.has(n.opType) || n.opType === "Expand" || n.opType === "Transpose") {
    if (at !== 0) throw refuse(n, source, "reads the mask as its shape operand");
    return undefined;
  }
  const other = n.inputs.map((i, k) => (k === at || !i ? 0 : uniformValue(ctx.consts.get(i))));
  const bad = other.indexOf(undefined);
  if (bad >= 0) throw refuse(n, source, `reads '${n.inputs[bad]}', which is not a constant of one value`);
  const c = other as number[];
  const f32 = Math.fround;
  switch (n.opType) {
    case "Cast": {
      const to = attrInt(n, "to", 0);
      if (to === DataType.BOOL) return (v) => (v !== 0 ? 1 : 0);
      if (INT_TYPES.has(to)) return (v) => Math.trunc(v);
      if (to === DataType.FLOAT || to === DataType.DOUBLE || to === DataType.FLOAT16) return (v) => f32(v);
      throw refuse(n, source, `casts it to element type ${to}`);
    }
    case "Not":
      return (v) => (v === 0 ? 1 : 0);
    case "Where":
      if (at !== 0) throw refuse(n, source, "selects by a condition that is not the mask");
      return (v) => (v !== 0 ? c[1]! : c[2]!);
    case "Equal":
      return (v) => (v === c[1 - at] ? 1 : 0);
    case "Add":
      return (v) => f32(v + c[1 - at]!);
    case "Mul":
      return (v) => f32(v * c[1 - at]!);
    case "Sub":
      return at === 0 ? (v) => f32(v - c[1]!) : (v) => f32(c[0]! - v);
    case "Div":
      return at === 0 ? (v) => f32(v / c[1]!) : (v) => f32(c[0]! / v);
    default:
      throw refuse(n, source, "is not an elementwise op of the mask and constants, nor data movement");
  }
}

function refuse(n: Node, source: string, why: string): FixqError {
  return new FixqError("unsupported", `cannot integerize: ${label(n)} computes the attention mask of input '${source}' and ${why}; integer code follows Cast, Where, Not, Equal, Add, Sub, Mul, Div, Reshape, Expand and Transpose there`);
}

/** The nodes from the mask input to the term, in graph order, each with its scalar function (none for movement). */
function chainOf(ctx: LoweringContext, m: KeyMaskAdd, terms: ReadonlyMap<string, string>): Step[] {
  const producer = new Map<string, Node>();
  for (const n of ctx.graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const steps: Step[] = [];
  for (let v = m.term; v !== m.source; ) {
    const n = producer.get(v)!;
    const carriers = n.inputs.flatMap((i, k) => (i && terms.has(i) ? [k] : []));
    if (carriers.length !== 1) throw refuse(n, m.source, "combines two values computed from it");
    steps.unshift({ node: n, fn: stepFunction(ctx, n, carriers[0]!, m.source) });
    v = n.inputs[carriers[0]!]!;
  }
  return steps;
}

/** Every node that computes a mask term (integerize skips them; lowerMaskedSoftmax lowers the chain). */
export function maskChainNodes(g: Graph, terms: ReadonlyMap<string, string>): Set<Node> {
  return new Set(g.nodes.filter((n) => n.outputs.some((o) => o && terms.has(o))));
}

/**
 * Lowers Add(S, M) → Softmax as the masked integer Softmax of S (see the file
 * comment); `terms` holds the mask arithmetic (passes/key-mask.ts maskTermValues).
 */
export function lowerMaskedSoftmax(ctx: LoweringContext, m: KeyMaskAdd, terms: ReadonlyMap<string, string>): void {
  const steps = chainOf(ctx, m, terms);
  const f = (v: number) => steps.reduce((x, s) => (s.fn ? s.fn(x) : x), v);
  const flags = new Int32Array(2);
  for (const v of [0, 1]) {
    const t = f(v);
    const what = maskedKey(t);
    if (what === undefined) throw refuse(m.add, m.source, `adds ${t} for input value ${v}; an attention mask adds 0 or excludes the key (−inf, or at most −10000)`);
    flags[v] = what === "exclude" ? 1 : 0;
  }
  const src = ctx.intInput(m.source, m.add);
  let cur = ctx.addValue(`${m.source}_keymask`, ctx.values.get(src)!.shape, MASK_SPEC.type, MASK_SPEC);
  // the table spans the whole int8 type, as every back end's table does; the input's clamp keeps it at 0 and 1
  const [lo, hi] = [intMin(MASK_SPEC.type), intMax(MASK_SPEC.type)];
  const table = Int32Array.from({ length: hi - lo + 1 }, (_, i) => flags[Math.min(1, Math.max(0, lo + i))]!);
  ctx.ops.push({ kind: "table", source: `${label(m.add)} (attention mask of '${m.source}': 1 = key excluded)`, input: src, output: cur, inputMin: lo, table });
  for (const { node: n, fn } of steps) {
    if (fn) continue;
    const shape = ctx.sampleShape(n.outputs[0]!, label(n));
    if (n.opType === "Expand") {
      cur = broadcastInto(ctx, n, cur, shape);
      continue;
    }
    const out = ctx.addValue(`${n.outputs[0]}_keymask`, shape, MASK_SPEC.type, MASK_SPEC);
    if (n.opType === "Transpose") {
      const perm = attrInts(n, "perm") ?? [...Array(shape.length + 1).keys()].reverse();
      if (perm[0] !== 0) throw refuse(n, m.source, "moves the batch axis");
      ctx.ops.push({ kind: "transpose", source: label(n), input: cur, output: out, perm: perm.slice(1).map((p) => p - 1) });
    } else ctx.ops.push({ kind: "reshape", source: label(n), input: cur, output: out });
    cur = out;
  }
  const scores = ctx.intInput(m.scores, m.add);
  const mask = broadcastInto(ctx, m.add, cur, ctx.values.get(scores)!.shape);
  ctx.consumed.add(m.add);
  ctx.consumed.add(m.softmax);
  lowerSoftmax(ctx, m.softmax, { scores: m.scores, mask });
}

/**
 * Lowers Softmax(Where(C, S, fill)) of a constant mask C (passes/key-mask.ts
 * constantMaskWheres; C folded once the sequence length is pinned) as the
 * masked integer Softmax of S: flag = C where the fill is Where's second input,
 * ¬C where it is the third, broadcast to one sample of S (C's batch axis is 1)
 * and held as a constant value (lower-constant.ts).
 */
export function lowerConstantMaskedSoftmax(ctx: LoweringContext, m: ConstantMaskWhere): void {
  const c = ctx.consts.get(m.condition);
  if (!c) {
    throw new FixqError("unsupported", `cannot integerize: ${label(m.where)} masks attention by '${m.condition}', which is not a constant once shapes are folded; pin the sequence length with --input-shape`);
  }
  const scores = ctx.intInput(m.scores, m.where);
  const shape = ctx.values.get(scores)!.shape;
  const flags = tensorToFloat64(c).map((v) => ((v !== 0) === m.excludeWhenTrue ? 1 : 0));
  const full = broadcastToSample(flags, c.dims.map(Number), shape, label(m.where));
  const mask = constantValue(ctx, `${label(m.where)} (constant attention mask: 1 = key excluded)`, `${m.where.outputs[0]}_keymask`, scores, full, MASK_SPEC);
  ctx.consumed.add(m.where);
  ctx.consumed.add(m.softmax);
  lowerSoftmax(ctx, m.softmax, { scores: m.scores, mask });
}
