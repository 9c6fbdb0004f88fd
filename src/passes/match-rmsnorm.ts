/**
 * The decomposed RMSNorm that torch and Hugging Face (Llama-style) exports
 * write, matched from its ReduceMean for fuse-layernorm.ts:
 *
 *   [x = Cast(x₀, to=FLOAT), x₀ float32]              (Llama's `.to(torch.float32)`)
 *   m = ReduceMean(x², axes=[−1], keepdims=1)        (x² as Pow(x, 2) or Mul(x, x))
 *   r = Sqrt(m + ε)
 *   n = x / r   or   x · Reciprocal(r)   or   x · (1 / r)
 *   [Cast(n, to=FLOAT)]                             (Llama's `.to(input_dtype)` on float32)
 *   y = n [· γ]
 *     = RMSNormalization(x₀ or x, γ (ones when absent); axis=−1, epsilon=ε)     (opset 23)
 *
 * Every intermediate value must be read by the chain alone (x itself may have
 * other readers: the residual stream); the means over the last axis only, ε a
 * float32 scalar ≥ 0, γ a float32 constant whose only non-1 dim is the last.
 * The mean of squares inside a decomposed LayerNorm (x = X − ReduceMean(X)) is
 * left to the LayerNorm match.
 */
import { attrInt, isDefaultDomain } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import type { GraphEdit } from "./graph-edit.js";
import { type Chain, meanOverLastAxis, other, perLastAxis, powerOf, scalarFloat, soleReader } from "./norm-chain.js";

/** The first opset with RMSNormalization. */
export const RMSNORM_OPSET = 23;

/** The node reading `value` alone, whatever its op (default domain). */
function onlyReader(ed: GraphEdit, value: string): number | undefined {
  if (ed.isGraphOutput(value) || ed.readers(value) !== 1) return undefined;
  const i = ed.consumers(value)[0];
  return i !== undefined && isDefaultDomain(ed.node(i)!) ? i : undefined;
}

/** The square node feeding ReduceMean node `mean`, and what it squares. */
function squared(ed: GraphEdit, mean: number): { sq: number; x: string } | undefined {
  const sq = ed.producer(ed.node(mean)!.inputs[0] ?? "");
  const n = sq === undefined ? undefined : ed.node(sq);
  if (sq === undefined || !n || !isDefaultDomain(n) || ed.readers(n.outputs[0]!) !== 1 || ed.isGraphOutput(n.outputs[0]!)) return undefined;
  const x = n.inputs[0] ?? "";
  if (n.opType === "Pow" && powerOf(ed, n.inputs[1] ?? "") === 2) return { sq, x };
  if (n.opType === "Mul" && n.inputs.length === 2 && n.inputs[1] === x) return { sq, x };
  return undefined;
}

/** True when `x` is X − ReduceMean(X): the centred value of a decomposed LayerNorm. */
function centred(ed: GraphEdit, x: string): boolean {
  const p = ed.producer(x);
  const sub = p === undefined ? undefined : ed.node(p);
  if (sub?.opType !== "Sub") return false;
  const m = ed.producer(sub.inputs[1] ?? "");
  return m !== undefined && ed.node(m)!.opType === "ReduceMean" && ed.node(m)!.inputs[0] === sub.inputs[0];
}

/**
 * From 1/r (Reciprocal, or Div(1, r)) or r itself (Div(x, r)) to the
 * normalized value n = x / r: the nodes after Sqrt and n's name.
 */
function normalized(ed: GraphEdit, sqrtOut: string, x: string): { nodes: number[]; out: string } | undefined {
  const k = onlyReader(ed, sqrtOut);
  const n = k === undefined ? undefined : ed.node(k)!;
  if (!n) return undefined;
  if (n.opType === "Div" && n.inputs[0] === x && n.inputs[1] === sqrtOut) return { nodes: [k!], out: n.outputs[0]! };
  const inverse = n.opType === "Reciprocal" || (n.opType === "Div" && n.inputs[1] === sqrtOut && powerOf(ed, n.inputs[0] ?? "") === 1);
  if (!inverse) return undefined;
  const mul = soleReader(ed, n.outputs[0]!, "Mul");
  if (mul === undefined || other(ed.node(mul)!, n.outputs[0]!) !== x) return undefined;
  return { nodes: [k!, mul], out: ed.node(mul)!.outputs[0]! };
}

/** A Cast to float32 of a float32 value producing x, read only by the chain's `uses` nodes: x's own input, and the Cast's index. */
function leadingCast(ed: GraphEdit, x: string, uses: readonly number[], dtypeOf: (v: string) => number | undefined): { x: string; cast: number } | undefined {
  const k = ed.producer(x);
  const c = k === undefined ? undefined : ed.node(k)!;
  if (c?.opType !== "Cast" || !isDefaultDomain(c) || attrInt(c, "to") !== DataType.FLOAT || dtypeOf(c.inputs[0] ?? "") !== DataType.FLOAT) return undefined;
  if (ed.isGraphOutput(x) || ed.consumers(x).some((n) => !uses.includes(n))) return undefined;
  return { x: c.inputs[0]!, cast: k! };
}

/** The RMSNorm chain whose mean of squares is ReduceMean node i, a reason it cannot fuse, or undefined when it is none. */
export function matchRmsChain(
  ed: GraphEdit,
  i: number,
  types: { rankOf: (v: string) => number | undefined; widthOf: (v: string) => number | undefined; dtypeOf: (v: string) => number | undefined },
): Chain | string | undefined {
  const { rankOf, widthOf, dtypeOf } = types;
  const mean = ed.node(i)!;
  const sq = squared(ed, i);
  if (!sq || centred(ed, sq.x)) return undefined;
  const add = soleReader(ed, mean.outputs[0] ?? "", "Add");
  if (add === undefined) return undefined;
  const sqrt = soleReader(ed, ed.node(add)!.outputs[0]!, "Sqrt");
  if (sqrt === undefined) return undefined;
  const norm = normalized(ed, ed.node(sqrt)!.outputs[0]!, sq.x);
  if (!norm) return undefined;
  // From here on it is a decomposed RMSNorm; what does not fit is a reason.
  if (!meanOverLastAxis(ed, mean, rankOf(sq.x))) return "a mean is not over the last axis alone with keepdims 1";
  const eps = scalarFloat(ed, other(ed.node(add)!, mean.outputs[0]!) ?? "");
  if (eps === undefined || !(eps >= 0)) return "ε is not a float32 scalar constant ≥ 0";
  // Llama's `.to(torch.float32)` on a float32 input: a Cast the fused node can read through
  const cast = leadingCast(ed, sq.x, [sq.sq, norm.nodes.at(-1)!], dtypeOf);
  const nodes = [...(cast ? [cast.cast] : []), sq.sq, i, add, sqrt, ...norm.nodes];
  let out = norm.out;
  const back = soleReader(ed, out, "Cast");
  if (back !== undefined && attrInt(ed.node(back)!, "to") === DataType.FLOAT) {
    nodes.push(back);
    out = ed.node(back)!.outputs[0]!;
  }
  let c = widthOf(sq.x) ?? -1;
  const k = soleReader(ed, out, "Mul");
  const gamma = k === undefined ? undefined : perLastAxis(ed, other(ed.node(k)!, out) ?? "", c);
  if (gamma) {
    c = Math.max(c, gamma.length);
    nodes.push(k!);
    out = ed.node(k!)!.outputs[0]!;
  }
  if (c < 0) return "the normalized axis' length is unknown";
  const g = gamma && gamma.length === c ? gamma : new Float64Array(c).fill(gamma ? gamma[0]! : 1);
  return { kind: "rms", x: cast?.x ?? sq.x, eps, nodes, gamma: g, out };
}
