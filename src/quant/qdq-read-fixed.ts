/**
 * Reads back a fixed-point design from a tensor's `fixq_fixed` annotation
 * (format-annotation.ts) and checks it against what the QDQ pair says: one
 * scale equal to 2^(I−W), zero point 0, and the integer format's W-bit range
 * of the type's signedness. A design that disagrees is an error naming the
 * tensor and the key; no annotation gives undefined.
 */
import type { AnnotationEntries } from "../ir/annotations.js";
import { FixqError } from "../ir/errors.js";
import type { IntFormat } from "../ir/quant.js";
import { type FixedType, fixedMaxRaw, fixedMinRaw, parseFixedType } from "../numerics/fixed.js";
import { FIXQ_FIXED } from "./format-annotation.js";

export function readFixedDesign(
  name: string,
  entries: AnnotationEntries | undefined,
  format: IntFormat,
  scale: Float32Array,
  zeroPoint: Int32Array,
): FixedType | undefined {
  const text = entries?.get(FIXQ_FIXED);
  if (text === undefined) return undefined;
  const bad = (why: string) => new FixqError("model", `quantization_annotation ${FIXQ_FIXED} '${text}': ${why}`, `tensor '${name}'`);
  let t: FixedType;
  try {
    t = parseFixedType(text);
  } catch (e) {
    if (e instanceof SyntaxError) throw bad(e.message);
    throw e;
  }
  if (scale.length !== 1 || scale[0] !== 2 ** (t.intBits - t.bits)) throw bad(`the tensor's scale ${scale[0]} is not 2^(I−W) = 2^${t.intBits - t.bits}`);
  if (zeroPoint.some((z) => z !== 0)) throw bad("a fixed-point tensor has zero point 0");
  if (t.signed !== format.signed || format.qmin !== Number(fixedMinRaw(t)) || format.qmax !== Number(fixedMaxRaw(t))) {
    throw bad(`its ${t.bits}-bit range does not match the integer format [${format.qmin}, ${format.qmax}]`);
  }
  return t;
}
