/**
 * Where an integer op's result lands: the value that carries a quantization
 * spec, reached from the op's float output through a chain of clamps
 * (Relu, Clip with constant bounds) that each have this one reader. The
 * clamps become the requant's integer clamp:
 *   Q(clip(v, lo, hi)) = clamp(Q(v), Q(lo), Q(hi))   (Q is monotone)
 * with Relu as clip(v, 0, +∞) and ReLU6 as clip(v, 0, 6).
 *
 * Or, where the chain meets pure layout ops (Transpose, Reshape, Flatten,
 * Squeeze, Unsqueeze, Identity), each the one reader of the last, before any
 * spec: the first value after them that carries a spec lends it to the value
 * before them, which the op's result then lands in, and the layout ops stay
 * to be lowered as they are. Exact, since Q is elementwise and layout ops
 * only move elements: Q(T(v)) = T(Q(v)). (A batch-first torch export's
 * pre-norm LayerNorm → Transpose → MatMul is quantized after the Transpose.)
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { type ActSpec, type LoweringContext, label, quantizeBound } from "./lowering-context.js";
import { attrFloat } from "../ir/attrs.js";

export interface ActivationTail {
  /** The float value carrying the spec (the op's output, or the last clamp's). */
  readonly value: string;
  readonly spec: ActSpec;
  readonly clampLo: number;
  readonly clampHi: number;
  /** The clamp nodes folded in. */
  readonly nodes: readonly Node[];
}


/** The float bounds a Relu or Clip applies, or undefined if they are not constants. */
export function clampBounds(ctx: LoweringContext, n: Node): [number, number] | undefined {
  if (n.opType === "Relu") return [0, Number.POSITIVE_INFINITY];
  if (n.opType !== "Clip") return undefined;
  const bound = (slot: number, attr: string, dflt: number): number | undefined => {
    const name = n.inputs[slot];
    if (name) {
      const t = ctx.consts.get(name);
      return t ? tensorToFloat64(t)[0] : undefined;
    }
    return attrFloat(n, attr) ?? dflt;
  };
  const lo = bound(1, "min", Number.NEGATIVE_INFINITY);
  const hi = bound(2, "max", Number.POSITIVE_INFINITY);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

export function activationTail(ctx: LoweringContext, producer: Node, output: string): ActivationTail {
  let value = output;
  let lo = Number.NEGATIVE_INFINITY;
  let hi = Number.POSITIVE_INFINITY;
  const nodes: Node[] = [];
  for (;;) {
    const spec = ctx.actSpec(value, label(producer));
    if (spec) {
      const clampLo = Math.max(spec.qmin, quantizeBound(lo, spec));
      const clampHi = Math.min(spec.qmax, quantizeBound(hi, spec));
      return { value, spec, clampLo, clampHi, nodes };
    }
    const borrowed = specAfterLayout(ctx, value, label(producer));
    if (borrowed) {
      const clampLo = Math.max(borrowed.qmin, quantizeBound(lo, borrowed));
      const clampHi = Math.min(borrowed.qmax, quantizeBound(hi, borrowed));
      return { value, spec: borrowed, clampLo, clampHi, nodes };
    }
    const next = ctx.soleReader(value);
    const bounds = next ? clampBounds(ctx, next) : undefined;
    if (!next || !bounds || next.inputs[0] !== value) {
      const why = next ? `its reader ${label(next)} is not a clamp with constant bounds` : "it has no single reader";
      throw new FixqError("unsupported", `not fully quantized: the output '${output}' of ${label(producer)} has no integer quantization spec, and ${why}`);
    }
    lo = Math.max(lo, bounds[0]);
    hi = Math.min(hi, bounds[1]);
    nodes.push(next);
    value = next.outputs[0]!;
  }
}

const LAYOUT_OPS: ReadonlySet<string> = new Set(["Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"]);

/** The spec of the first value with one after a chain of layout ops from `value` (each its input's one reader), if any. */
function specAfterLayout(ctx: LoweringContext, value: string, where: string): ActSpec | undefined {
  let v = value;
  for (let next = ctx.soleReader(v); next && LAYOUT_OPS.has(next.opType) && next.inputs[0] === v; next = ctx.soleReader(v)) {
    v = next.outputs[0]!;
    const spec = ctx.actSpec(v, where);
    if (spec) return spec;
  }
  return undefined;
}
