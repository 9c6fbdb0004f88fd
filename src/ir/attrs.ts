/**
 * Reading a node's attributes and domain, once for every layer (ir, passes,
 * integer, back ends). An absent attribute reads as `undefined`, or as the
 * default the caller passes (the ONNX schema's default):
 *
 *   attr(n, k)            the Attribute named k, or undefined
 *   attrInt(n, k, d?)     Number(attr.i)            (d when absent)
 *   attrFloat(n, k, d?)   attr.f                    (d when absent)
 *   attrInts(n, k)        attr.ints as numbers      attrInt64s: as stored (number | bigint)
 *   attrFloats(n, k)      attr.floats as numbers
 *   attrString(n, k)      attr.s decoded as UTF-8
 *   isDefaultDomain(n)    domain "" (or absent) or "ai.onnx": the standard operator set
 */
import type { Attribute, Int64, Node } from "./graph.js";

type Named = Pick<Node, "attributes">;

/** True for a node (or opset import) of the default ONNX domain: "" / absent, or "ai.onnx". */
export function isDefaultDomain(n: { readonly domain?: string }): boolean {
  return !n.domain || n.domain === "ai.onnx";
}

export function attr(n: Named, name: string): Attribute | undefined {
  return n.attributes.find((a) => a.name === name);
}

export function attrInt(n: Named, name: string): number | undefined;
export function attrInt(n: Named, name: string, dflt: number): number;
export function attrInt(n: Named, name: string, dflt?: number): number | undefined {
  const i = attr(n, name)?.i;
  return i === undefined ? dflt : Number(i);
}

export function attrFloat(n: Named, name: string): number | undefined;
export function attrFloat(n: Named, name: string, dflt: number): number;
export function attrFloat(n: Named, name: string, dflt?: number): number | undefined {
  return attr(n, name)?.f ?? dflt;
}

/** The INTS attribute as numbers (exact: ONNX axes, shapes and pads are far below 2^53). */
export function attrInts(n: Named, name: string): number[] | undefined {
  return attr(n, name)?.ints?.map(Number);
}

/** The INTS attribute as stored (numbers or bigints), for values copied into a new tensor unchanged. */
export function attrInt64s(n: Named, name: string): readonly Int64[] | undefined {
  return attr(n, name)?.ints;
}

export function attrFloats(n: Named, name: string): number[] | undefined {
  const f = attr(n, name)?.floats;
  return f ? Array.from(f) : undefined;
}

export function attrString(n: Named, name: string): string | undefined {
  const s = attr(n, name)?.s;
  return s ? new TextDecoder().decode(s) : undefined;
}
