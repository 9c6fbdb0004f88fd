/**
 * Shape rules for the index ops of transformer exports (used by
 * infer-types.ts):
 *   Gather(data [d0 … d(r−1)], idx [i…], axis a)  → [d0 … d(a−1), i…, d(a+1) …]
 *   com.microsoft GatherBlockQuantized(data, idx, scales, …; gather_axis a)
 *                                                 → the same shape, scales' dtype
 *   Range(start, limit, delta), all constant      → [max(⌈(limit − start) / delta⌉, 0)]
 *   ConstantOfShape(shape), shape constant        → shape, the value attribute's dtype (float by default)
 */
import { attr, attrInt } from "./attrs.js";
import { DataType } from "./dtype.js";
import type { Dim, Node, TensorType } from "./graph.js";
import { type Tensor, tensorToFloat64 } from "./tensor.js";

type Rule = (n: Node, ins: (TensorType | undefined)[], consts: Map<string, Tensor>) => (TensorType | undefined)[];

/** Ranks above this are not built from a file's claim. */
const MAX_RANK = 64;

/** The values of a constant input as float64 numbers, or undefined when it is not a constant this reader can decode. */
export function constValues(name: string | undefined, consts: Map<string, Tensor>): number[] | undefined {
  const t = name ? consts.get(name) : undefined;
  if (!t) return undefined;
  try {
    return Array.from(tensorToFloat64(t));
  } catch {
    return undefined;
  }
}

function gatherShape(data: readonly Dim[] | undefined, idx: readonly Dim[] | undefined, axis: number): Dim[] | undefined {
  if (!data || !idx) return undefined;
  const a = axis < 0 ? axis + data.length : axis;
  if (a < 0 || a >= data.length) return undefined;
  return [...data.slice(0, a), ...idx, ...data.slice(a + 1)];
}

export const GATHER_RULES: Readonly<Record<string, Rule>> = {
  Gather: (n, ins) => [ins[0] && { dtype: ins[0].dtype, shape: gatherShape(ins[0].shape, ins[1]?.shape, attrInt(n, "axis", 0)) }],
  Range: (_n, ins, consts) => {
    const [start, limit, delta] = [0, 1, 2].map((i) => constValues(_n.inputs[i], consts)?.[0]);
    const dtype = ins[0]?.dtype;
    if (!dtype) return [undefined];
    if (start === undefined || limit === undefined || delta === undefined || delta === 0) return [{ dtype, shape: [undefined] }];
    return [{ dtype, shape: [Math.max(Math.ceil((limit - start) / delta), 0)] }];
  },
  ConstantOfShape: (n, _ins, consts) => {
    const dtype = attr(n, "value")?.t?.dtype ?? DataType.FLOAT;
    const dims = constValues(n.inputs[0], consts);
    return [{ dtype, shape: dims && dims.length <= MAX_RANK ? dims : undefined }];
  },
};

/** Rules of com.microsoft ops. */
export const MICROSOFT_RULES: Readonly<Record<string, Rule>> = {
  GatherBlockQuantized: (n, ins) => [ins[2] && { dtype: ins[2].dtype, shape: gatherShape(ins[0]?.shape, ins[1]?.shape, attrInt(n, "gather_axis", 0)) }],
};
