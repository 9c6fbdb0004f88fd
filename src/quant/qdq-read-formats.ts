/**
 * The exact integer format of a tensor the QDQ reader meets, from the
 * graph's quantization annotations (format-annotation.ts):
 *
 * 1. `fixq_format` on the integer tensor, when present (fixq's own files);
 * 2. else an integer qonnx `finn_datatype` (INT<n>, UINT<n>, BINARY, BIPOLAR,
 *    TERNARY) on it: the full range of that type;
 * 3. else, for a constant (a weight), the narrowest format of the storage's
 *    signedness holding every stored code and zero point, and a note saying so:
 *    another tool's 3-bit weight stored as INT8 reads as int3, not int8 (no
 *    note when that is the storage type itself).
 *    int32 constants (biases, at the accumulator's scale) stay int32;
 * 4. else, for an activation, the storage type's full range: that is the
 *    range its QuantizeLinear saturates to.
 * A `fixq_format` naming a float, block or fixed-point format (an MXINT8
 * weight's int8 elements are `mxint8`) says nothing about integer codes: the
 * storage type's range stands. An integer annotation that does not parse, does not fit the storage type, or does
 * not hold the stored codes is an error naming the tensor and the key.
 */
import type { AnnotationEntries } from "../ir/annotations.js";
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { IntFormat } from "../ir/quant.js";
import { intMax, intMin } from "../numerics/int.js";
import {
  FINN_DATATYPE,
  FIXQ_FORMAT,
  formatOfFinnName,
  intFormatName,
  isNonIntegerFormatName,
  narrowestIntType,
  parseIntFormatName,
  storageFormat,
} from "./format-annotation.js";

export interface FormatReading {
  readonly format: IntFormat;
  /** Set when the format was inferred rather than read from an annotation. */
  readonly note?: string;
}

function annotated(name: string, dtype: number, entries: AnnotationEntries | undefined): IntFormat | undefined {
  const bad = (key: string, why: string) => new FixqError("model", `quantization_annotation ${key}: ${why}`, `tensor '${name}'`);
  const fixq = entries?.get(FIXQ_FORMAT);
  // MXINT8 elements are int8 codes under fixq_format 'mxint8': read at their storage type, as before annotations
  if (fixq !== undefined && isNonIntegerFormatName(fixq)) return undefined;
  if (fixq !== undefined) {
    const f = parseIntFormatName(fixq, dtype);
    if (typeof f === "string") throw bad(FIXQ_FORMAT, f);
    return f;
  }
  const finn = entries?.get(FINN_DATATYPE);
  if (finn === undefined) return undefined;
  const f = formatOfFinnName(finn, dtype);
  if (typeof f === "string") throw bad(FINN_DATATYPE, f);
  return f;
}

/**
 * The format of integer tensor `name` stored as `dtype`. `codes` are its
 * stored values when it is a constant (with the zero points it is read with);
 * absent for an activation.
 */
export function readIntFormat(
  name: string,
  dtype: number,
  entries: AnnotationEntries | undefined,
  codes?: { readonly values: ArrayLike<number>; readonly zeroPoints: ArrayLike<number> },
): FormatReading {
  const storage = storageFormat(dtype);
  if (!storage) throw new Error(`internal: ${dtypeName(dtype)} is not an integer storage type`);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  if (codes) {
    for (const arr of [codes.values, codes.zeroPoints]) {
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  const f = annotated(name, dtype, entries);
  if (f) {
    if (codes && (lo < f.qmin || hi > f.qmax)) {
      const key = entries?.has(FIXQ_FORMAT) ? FIXQ_FORMAT : FINN_DATATYPE;
      throw new FixqError("model", `quantization_annotation ${key} '${entries?.get(key)}' does not hold the stored codes and zero points, which span [${lo}, ${hi}]`, `tensor '${name}'`);
    }
    return { format: f };
  }
  if (!codes || dtype === DataType.INT32 || !(lo <= hi)) return { format: storage };
  // The narrowest type holding the codes, all of its range (the codes do not show how far the quantizer's range went).
  const t = narrowestIntType(lo, hi, storage.signed);
  const format: IntFormat = { dtype, bits: t.bits, signed: t.signed, qmin: intMin(t), qmax: intMax(t) };
  if (format.qmin === storage.qmin && format.qmax === storage.qmax) return { format: storage };
  return { format, note: `weight '${name}' (${dtypeName(dtype)} codes in [${lo}, ${hi}]) has no format annotation; read as ${intFormatName(format)}, the narrowest format holding its codes` };
}
