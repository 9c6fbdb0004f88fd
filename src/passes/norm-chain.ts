/**
 * The pieces the norm fusions (fuse-layernorm.ts, match-rmsnorm.ts) match
 * decomposed norms with: sole readers, scalar constants, means over the last
 * axis, per-channel γ/β, and the chain they find.
 */
import { attrInt, attrInt64s, isDefaultDomain } from "../ir/attrs.js";
import { DataType } from "../ir/dtype.js";
import type { Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import type { GraphEdit } from "./graph-edit.js";

export interface Chain {
  /** LayerNormalization, or RMSNormalization (no mean, no β). */
  readonly kind: "layer" | "rms";
  readonly x: string;
  readonly eps: number;
  /** Node indices of the chain, first to last. */
  readonly nodes: readonly number[];
  readonly gamma?: Float64Array;
  readonly beta?: Float64Array;
  /** The last node's output: the fused node's output. */
  readonly out: string;
}

/** The single default-domain node reading `value` with the given op, when `value` has exactly that one reader. */
export function soleReader(ed: GraphEdit, value: string, op: string): number | undefined {
  if (ed.isGraphOutput(value) || ed.readers(value) !== 1) return undefined;
  const i = ed.consumers(value)[0];
  const n = i === undefined ? undefined : ed.node(i);
  return n && n.opType === op && isDefaultDomain(n) ? i : undefined;
}

/** The one-element float32 value of constant `value`, or undefined. */
export function scalarFloat(ed: GraphEdit, value: string): number | undefined {
  return ed.constantThrough(value)?.dtype === DataType.FLOAT ? powerOf(ed, value) : undefined;
}

/** The operand of a two-input node that is not `value`. */
export const other = (n: Node, value: string): string | undefined => (n.inputs.length !== 2 ? undefined : n.inputs[0] === value ? n.inputs[1] : n.inputs[1] === value ? n.inputs[0] : undefined);

/** True when ReduceMean node n averages over the last axis only (of an input of rank `rank`), keeping dims. */
export function meanOverLastAxis(ed: GraphEdit, n: Node, rank: number | undefined): boolean {
  if ((attrInt(n, "keepdims") ?? 1) !== 1) return false;
  let axes: number[] | undefined;
  if (n.inputs[1]) {
    const t = ed.constantThrough(n.inputs[1]);
    axes = t ? Array.from(tensorToFloat64(t)) : undefined;
  } else {
    const a = attrInt64s(n, "axes");
    axes = a ? a.map(Number) : undefined;
  }
  if (axes?.length !== 1) return false;
  return axes[0] === -1 || (rank !== undefined && axes[0] === rank - 1);
}

/** γ or β as a vector when its only non-1 dim is the last one, of length C or 1 (C = -1: unknown, any length but 1). */
export function perLastAxis(ed: GraphEdit, value: string, c: number): Float64Array | undefined {
  const t = ed.constantThrough(value);
  if (t?.dtype !== DataType.FLOAT || t.dims.length === 0) return undefined;
  const last = Number(t.dims.at(-1));
  if (t.dims.slice(0, -1).some((d) => Number(d) !== 1) || (c >= 0 ? last !== c && last !== 1 : last === 1)) return undefined;
  return tensorToFloat64(t);
}

/** A constant's single value (float or integer: Pow's exponent), or undefined. */
export function powerOf(ed: GraphEdit, value: string): number | undefined {
  const t = ed.constantThrough(value);
  if (!t) return undefined;
  const v = tensorToFloat64(t);
  return v.length === 1 ? v[0] : undefined;
}

