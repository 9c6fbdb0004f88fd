/**
 * 1-D windows (Conv1d, MaxPool1d, AvgPool1d, global pools over [C, L]) as
 * the 2-D windows of one row: the per-sample activation [C, L] is reshaped
 * to [C, 1, L], the 2-D op runs with kernel [1, k] (node-attrs.ts
 * windowRow), and its [C', 1, L'] result is reshaped back to [C', L']. Over a
 * height of 1 the second spatial axis adds no tap and no padding, so
 *   y_2d[c, 0, l] = y_1d[c, l]
 * for every l, with no arithmetic beyond the 2-D op's own (reshapes are data
 * movement, and every back end already runs the 2-D ops).
 */
import type { Node } from "../ir/graph.js";
import { type LoweringContext, label } from "./lowering-context.js";

/** A reshape of integer value `x` (same type and spec) to the per-sample `shape`; returns the new value. */
export function reshapeInt(ctx: LoweringContext, n: Node, x: string, base: string, shape: readonly number[]): string {
  const v = ctx.values.get(x)!;
  const out = ctx.addValue(base, shape, v.type, v.scale === undefined ? undefined : ctx.specOfInt(x));
  ctx.ops.push({ kind: "reshape", source: label(n), input: x, output: out });
  return out;
}

/** [C, L] → [C, 1, L]. */
export function rowShape(shape: readonly number[]): number[] {
  return [shape[0]!, 1, shape[1]!];
}

/** Integer activation `x` of per-sample shape [C, L] as one row [C, 1, L]. */
export function asRow(ctx: LoweringContext, n: Node, x: string): string {
  return reshapeInt(ctx, n, x, `${x}_row`, rowShape(ctx.values.get(x)!.shape));
}
