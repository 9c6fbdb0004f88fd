/**
 * The exact format of a quantized tensor, as the QDQ writer records it in the
 * graph's `quantization_annotation` (ir/annotations.ts) and the reader
 * restores it. Two keys:
 *
 * - `fixq_format`, always: fixq's canonical name of the format.
 *     integer:  the narrowest type t = int<b> / uint<b> holding [qmin, qmax],
 *               then `[qmin,qmax]` when the range is not all of t:
 *               `int8`, `int3`, `int8[-64,64]` (the default weights), `int7[-63,63]`
 *     FP8, MX, NVFP4: the format's name (`fp8e4m3fn`, `mxfp4`, `nvfp4`)
 *     fixed point (on the dequantized tensor, see below): fixedTypeName of
 *               fixed<W,I,AP_RND_CONV,AP_SAT> (QuantizeLinear rounds half to
 *               even and saturates), then `[qmin,qmax]` when narrowed
 * - `finn_datatype`, only where a qonnx DataType name is exact:
 *     on the integer tensor: INT<n> / UINT<n> (BINARY for UINT1), the
 *               narrowest whose range covers [qmin, qmax] (qonnx names a type,
 *               not a range: [−64, 64] is INT8);
 *     on the dequantized tensor (the DequantizeLinear output), FIXED<W,I>
 *               when its values are exactly V·2^(I−W): signed, zero point 0,
 *               one scale 2^(I−W) for every channel or block, I < W, with W
 *               the width of INT<W> above. qonnx reads an annotation as the
 *               set of values the tensor holds, so FIXED belongs on the real
 *               values, never on the integer codes.
 * - `fixq_fixed`, on the integer tensor of a fixed-point design
 *     (quant/fixed-formats.ts): the exact ap type, `fixed<16,6>` (AP_TRN,
 *     AP_WRAP), whose modes integer code applies; the QDQ graph itself can
 *     only round half to even and saturate, which `fixq_format` describes.
 */
import { type AnnotationEntries, pruneQuantAnnotations, quantAnnotations, withQuantAnnotations } from "../ir/annotations.js";
import { DataType, dtypeInfo } from "../ir/dtype.js";
import type { Graph } from "../ir/graph.js";
import type { IntFormat, QuantSpec } from "../ir/quant.js";
import { fixedType, fixedTypeName } from "../numerics/fixed.js";
import { parseFloatFormat } from "../numerics/float-formats.js";
import { MX_FORMATS } from "../numerics/mx.js";
import { INT_MAX_BITS, INT_MIN_BITS, intMax, intMin, intType, intTypeName, type IntType } from "../numerics/int.js";

export const FIXQ_FORMAT = "fixq_format";
export const FINN_DATATYPE = "finn_datatype";
export const FIXQ_FIXED = "fixq_fixed";
export const FORMAT_KEYS = [FIXQ_FORMAT, FINN_DATATYPE, FIXQ_FIXED] as const;

/** The narrowest integer type (at least 2 bits) of the given signedness holding [lo, hi]. */
export function narrowestIntType(lo: number, hi: number, signed: boolean): IntType {
  for (let b = INT_MIN_BITS; b <= INT_MAX_BITS; b++) {
    const t = intType(b, signed);
    if (lo >= intMin(t) && hi <= intMax(t)) return t;
  }
  throw new RangeError(`no ${signed ? "signed" : "unsigned"} integer type of at most ${INT_MAX_BITS} bits holds [${lo}, ${hi}]`);
}

/** The exact type of an integer format: the narrowest holding [qmin, qmax]. */
export function formatType(f: IntFormat): IntType {
  return narrowestIntType(f.qmin, f.qmax, f.signed);
}

function rangeSuffix(f: IntFormat, t: IntType): string {
  return f.qmin === intMin(t) && f.qmax === intMax(t) ? "" : `[${f.qmin},${f.qmax}]`;
}

/** fixq's canonical name of an integer format: `int8`, `int3`, `int8[-64,64]`. */
export function intFormatName(f: IntFormat): string {
  const t = formatType(f);
  return `${intTypeName(t)}${rangeSuffix(f, t)}`;
}

/** The ONNX integer storage types a quantized tensor may have (their bits and signedness: ir/dtype.ts). */
const INT_STORAGE = new Set<number>([DataType.INT4, DataType.UINT4, DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32]);

const storageInfo = (dtype: number) => (INT_STORAGE.has(dtype) ? dtypeInfo(dtype) : undefined);

/** The full range of an ONNX integer storage type, as a format. */
export function storageFormat(dtype: number): IntFormat | undefined {
  const info = storageInfo(dtype);
  if (!info) return undefined;
  const { bits, signed } = info;
  const t = intType(bits, signed);
  return { dtype, bits, signed, qmin: intMin(t), qmax: intMax(t) };
}

/** The format stored as `dtype` with range [lo, hi] (the type's bits are the narrowest holding it). */
export function rangeFormat(dtype: number, lo: number, hi: number): IntFormat {
  const signed = storageInfo(dtype)?.signed ?? true;
  return { dtype, bits: narrowestIntType(lo, hi, signed).bits, signed, qmin: lo, qmax: hi };
}

/**
 * Parses a `fixq_format` integer name for a tensor stored as `dtype`, or
 * says why it does not fit: the name's signedness must be the storage's and
 * its range inside the storage's.
 */
export function parseIntFormatName(name: string, dtype: number): IntFormat | string {
  const storage = storageFormat(dtype);
  if (!storage) return `'${name}' names an integer format, but the tensor is not stored as an integer type`;
  const m = /^(u?)int([0-9]+)(?:\[(-?[0-9]+),(-?[0-9]+)\])?$/.exec(name);
  if (!m) return `'${name}' is not an integer format name (int<b>, uint<b>, int<b>[lo,hi])`;
  const bits = Number(m[2]);
  const signed = m[1] === "";
  if (bits < INT_MIN_BITS || bits > INT_MAX_BITS) return `'${name}': integer formats have ${INT_MIN_BITS}…${INT_MAX_BITS} bits`;
  const t = intType(bits, signed);
  const lo = m[3] === undefined ? intMin(t) : Number(m[3]);
  const hi = m[4] === undefined ? intMax(t) : Number(m[4]);
  if (!(lo <= hi) || lo < intMin(t) || hi > intMax(t)) return `'${name}': the range [${lo}, ${hi}] is not inside ${intTypeName(t)}`;
  if (narrowestIntType(lo, hi, signed).bits !== bits) return `'${name}' is not canonical: [${lo}, ${hi}] fits a narrower type`;
  if (signed !== storage.signed || lo < storage.qmin || hi > storage.qmax) return `'${name}' does not fit the tensor's storage type ${intFormatName(storage)}`;
  return { dtype, bits, signed, qmin: lo, qmax: hi };
}

/** The qonnx name of the narrowest INT<n> / UINT<n> covering [qmin, qmax]. */
export function finnIntName(f: IntFormat): string {
  if (!f.signed && f.qmin >= 0 && f.qmax <= 1) return "BINARY";
  const t = formatType(f);
  return `${t.signed ? "" : "U"}INT${t.bits}`;
}

/**
 * Parses a qonnx integer DataType name (INT<n>, UINT<n>, BINARY, BIPOLAR,
 * TERNARY) into the format it covers, for a tensor stored as `dtype`; other
 * names (FIXED, FLOAT32, …) do not describe integer codes: undefined.
 */
export function formatOfFinnName(name: string, dtype: number): IntFormat | string | undefined {
  const storage = storageFormat(dtype);
  if (!storage) return undefined;
  let lo: number;
  let hi: number;
  const m = /^(U?)INT([0-9]+)$/.exec(name);
  if (m) {
    const bits = Number(m[2]);
    if (bits < 1 || bits > INT_MAX_BITS) return `'${name}' has ${bits} bits`;
    lo = m[1] === "U" ? 0 : -(2 ** (bits - 1));
    hi = m[1] === "U" ? 2 ** bits - 1 : 2 ** (bits - 1) - 1;
  } else if (name === "BINARY") [lo, hi] = [0, 1];
  else if (name === "BIPOLAR" || name === "TERNARY") [lo, hi] = [-1, 1];
  else return undefined;
  if (lo < storage.qmin || hi > storage.qmax) return `'${name}' does not fit the tensor's storage type ${intFormatName(storage)}`;
  return rangeFormat(dtype, lo, hi);
}

/** fixq_format of a spec's codes tensor; undefined for specs with no codes tensor (dynamic block activations). */
export function specFormatName(spec: QuantSpec): string | undefined {
  switch (spec.kind) {
    case "affine":
    case "block":
      return intFormatName(spec.format);
    case "float":
    case "mx":
      return spec.format.name;
    case "nvfp4":
      return "nvfp4";
    case "dynamic-block":
      return undefined;
  }
}

/** The annotation of a spec's integer (or code) tensor: fixq_format, and finn_datatype for integer formats. */
export function codesAnnotation(spec: QuantSpec): Map<string, string> | undefined {
  const name = specFormatName(spec);
  if (name === undefined) return undefined;
  const out = new Map([[FIXQ_FORMAT, name]]);
  if (spec.kind === "affine" || spec.kind === "block") out.set(FINN_DATATYPE, finnIntName(spec.format));
  if (spec.kind === "affine" && spec.fixed) out.set(FIXQ_FIXED, fixedTypeName(spec.fixed));
  return out;
}

/** A fixq_format of a float, MX, NVFP4 or fixed-point format (not an integer one). */
export function isNonIntegerFormatName(name: string): boolean {
  return parseFloatFormat(name)?.name === name || MX_FORMATS.some((f) => f.name === name) || name === "nvfp4" || /^u?fixed<[^<>]*>/.test(name);
}

/** The annotation of a tensor whose values all lie in integer type t (integer back ends' weight constants). */
export function intTypeAnnotation(t: IntType): Map<string, string> {
  const f: IntFormat = { dtype: DataType.UNDEFINED, bits: t.bits, signed: t.signed, qmin: intMin(t), qmax: intMax(t) };
  return new Map([
    [FIXQ_FORMAT, intTypeName(t)],
    [FINN_DATATYPE, finnIntName(f)],
  ]);
}

/** The annotations a QDQ writer collects as it writes, then puts into the graph. */
export class FormatAnnotations {
  private readonly added = new Map<string, AnnotationEntries>();

  /** The codes tensor's annotation and, for fixed-point values, the dequantized tensor's. */
  add(codes: string, dequantized: string | undefined, spec: QuantSpec): void {
    const a = codesAnnotation(spec);
    if (a) this.added.set(codes, a);
    const f = dequantized === undefined ? undefined : fixedPointAnnotation(spec);
    if (f && dequantized !== undefined) this.added.set(dequantized, f);
  }

  /** g with its annotations of live tensors kept and the collected ones merged in (their keys win). */
  applyTo(g: Graph): Graph {
    const merged = new Map(quantAnnotations(pruneQuantAnnotations(g, new Set(), [])));
    for (const [tensor, entries] of this.added) merged.set(tensor, new Map([...(merged.get(tensor) ?? []), ...entries]));
    return withQuantAnnotations(g, merged);
  }
}

/** The exponent e with x = 2^e exactly, or undefined. */
function log2Exact(x: number): number | undefined {
  if (!(x > 0) || !Number.isFinite(x)) return undefined;
  const e = Math.round(Math.log2(x));
  return 2 ** e === x ? e : undefined;
}

/**
 * The annotation of the dequantized tensor of an integer spec whose values
 * are fixed point (signed, zero point 0, one power-of-two scale 2^(I−W) < 1),
 * else undefined.
 */
export function fixedPointAnnotation(spec: QuantSpec): Map<string, string> | undefined {
  if (spec.kind !== "affine" && spec.kind !== "block") return undefined;
  const f = spec.format;
  if (!f.signed || spec.zeroPoint.some((z) => z !== 0) || spec.scale.length === 0) return undefined;
  const s = spec.scale[0]!;
  if (spec.scale.some((x) => x !== s)) return undefined;
  const e = log2Exact(s);
  if (e === undefined || e >= 0) return undefined;
  const t = formatType(f);
  const intBits = t.bits + e; // scale 2^(I − W)
  const fixed = fixedTypeName(fixedType(t.bits, intBits, { round: "AP_RND_CONV", overflow: "AP_SAT" }));
  return new Map([
    [FIXQ_FORMAT, `${fixed}${rangeSuffix(f, t)}`],
    [FINN_DATATYPE, `FIXED<${t.bits},${intBits}>`],
  ]);
}
