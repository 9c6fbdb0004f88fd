/**
 * Fixed-point formats as quantization choices: `fixed<W,I>`,
 * `fixed<W,I,Q,O[,N]>`, `ufixed<…>` (Xilinx ap_fixed, numerics/fixed.ts; mode
 * names with or without `AP_`, hls4ml spells them without) and `fixed<W>` /
 * `ufixed<W>` / `fixed<W,auto,Q,O[,N]>`, whose integer bits I fixq chooses
 * per tensor.
 *
 * A fixed-point tensor is a power-of-two-scaled integer tensor:
 *   value = V · 2^−(W−I),  zero point 0,  V a W-bit integer
 * stored in the smallest ONNX integer type holding W bits (weights: int4,
 * int8, int16; activations: int8, int16; unsigned for ufixed), its range the
 * W-bit one. Chosen I (`fixed<W>`), from the largest magnitude a = max|x|
 * (calibrated range for activations, max|w| for weights), as hls4ml users do by hand:
 *   I = ⌈log2 a⌉ + 1 (signed), ⌈log2 a⌉ (unsigned);  a = 0 gives I = 1
 * so that a lies within one LSB of the range.
 *
 * Weights take their codes by the type's own rounding and overflow modes (an
 * HLS weight header assigns the float to the type); activations keep the
 * modes for integer code's rescales (integer/lower-fixed.ts).
 */
import { dtypeInfo } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { AffineQuant, IntFormat, QuantSpec } from "../ir/quant.js";
import { type FixedType, fixedType, fixedTypeName, parseFixedType } from "../numerics/fixed.js";
import { fixedQuantizeArray } from "../numerics/fixed-convert.js";
import type { OverflowMode } from "../numerics/overflow.js";
import type { FixedRoundMode } from "../numerics/rounding.js";
import type { IntActType, IntWeightType } from "./format-names.js";

/** A fixed-point choice: I undefined means chosen per tensor. */
export interface FixedSetting {
  readonly bits: number;
  readonly intBits?: number;
  readonly signed: boolean;
  readonly round: FixedRoundMode;
  readonly overflow: OverflowMode;
  readonly satBits: number;
  /** The canonical name: fixedTypeName, or `fixed<W>` / `ufixed<W>`. */
  readonly name: string;
}

/** Widest fixed-point format fixq stores (ONNX's 16-bit integer types). */
export const FIXED_MAX_STORED_BITS = 16;

const LOOKS_FIXED = /^\s*(?:ap_)?u?fixed\s*</i;

/** Whether a format name is a fixed-point one (then parseFixedFormat decides if it is valid). */
export function isFixedFormatName(text: string): boolean {
  return LOOKS_FIXED.test(text);
}

/** Parses a fixed-point format name for `flag`; a bad one is one usage line naming the string and what is wrong. */
export function parseFixedFormat(text: string, flag: string): FixedSetting {
  const bad = (why: string) => new FixqError("usage", `${flag} '${text}': ${why}`);
  const one = /^\s*(?:ap_)?(u?)fixed\s*<\s*([^,<>]*)\s*>\s*$/i.exec(text);
  let s: FixedSetting;
  if (one) {
    if (!/^[0-9]+$/.test(one[2]!)) throw bad(`W must be a positive integer, not '${one[2]}'`);
    const signed = one[1] === "";
    const bits = Number(one[2]);
    s = { bits, signed, round: "AP_TRN", overflow: "AP_WRAP", satBits: 0, name: `${signed ? "" : "u"}fixed<${bits}>` };
  } else {
    // `auto` integer bits: parse the rest with I = W, then forget I
    const auto = /^(\s*(?:ap_)?u?fixed\s*<\s*([0-9]+)\s*,)\s*auto\s*([,>])/i.exec(text);
    const parsed = auto ? `${auto[1]}${auto[2]}${auto[3]}${text.slice(auto[0].length)}` : text;
    let t: FixedType;
    try {
      t = parseFixedType(parsed);
    } catch (e) {
      if (e instanceof SyntaxError) throw bad(e.message.replace(/^'.*?' is not a fixed-point type: /, ""));
      throw e;
    }
    const name = auto ? fixedTypeName(t).replace(/<([0-9]+),-?[0-9]+/, "<$1,auto").replace(/^(u?fixed<[0-9]+),auto>$/, "$1>") : fixedTypeName(t);
    s = { bits: t.bits, ...(auto ? {} : { intBits: t.intBits }), signed: t.signed, round: t.round, overflow: t.overflow, satBits: t.satBits, name };
  }
  if (s.bits < 2 || s.bits > FIXED_MAX_STORED_BITS) throw bad(`W = ${s.bits}; fixed-point formats of 2…${FIXED_MAX_STORED_BITS} bits are stored in ONNX integer types`);
  if (s.overflow === "AP_WRAP_SM") throw bad("AP_WRAP_SM (sign-magnitude wrap) is not supported by fixq's integer code; use SAT, SAT_ZERO, SAT_SYM or WRAP");
  // UG1399: AP_SAT_SYM clamps to ±max, a symmetric range only a signed type has; on ufixed it is plain AP_SAT
  if (s.overflow === "AP_SAT_SYM" && !s.signed) throw bad("AP_SAT_SYM (symmetric saturation) is for signed types (fixed<…>); ufixed saturates to [0, max] with SAT");
  return s;
}

/** The ONNX storage type of a fixed-point weight. */
export function fixedWeightStorage(s: FixedSetting, flag: string): IntWeightType {
  if (!s.signed && s.bits > 8) throw new FixqError("usage", `${flag} '${s.name}': unsigned weights are stored in uint4 or uint8; W = ${s.bits} needs ${FIXED_MAX_STORED_BITS}-bit signed (fixed<…>)`);
  if (s.bits <= 4) return s.signed ? "int4" : "uint4";
  if (s.bits <= 8) return s.signed ? "int8" : "uint8";
  return "int16";
}

/** The ONNX storage type of a fixed-point activation (no 4-bit activations in ONNX Runtime's kernels). */
export function fixedActStorage(s: FixedSetting): IntActType {
  if (s.bits <= 8) return s.signed ? "int8" : "uint8";
  return s.signed ? "int16" : "uint16";
}

/** The W-bit range inside storage `f`. */
export function fixedFormat(s: FixedSetting, storage: IntFormat): IntFormat {
  const qmin = s.signed ? -(2 ** (s.bits - 1)) : 0;
  const qmax = s.signed ? 2 ** (s.bits - 1) - 1 : 2 ** s.bits - 1;
  return { ...storage, bits: s.bits, qmin, qmax };
}

/** I for a largest magnitude `amax`: ⌈log2 amax⌉ + 1 signed, ⌈log2 amax⌉ unsigned (1 for amax = 0). */
export function chosenIntBits(amax: number, signed: boolean): number {
  if (!(amax > 0) || !Number.isFinite(amax)) return 1;
  return Math.ceil(Math.log2(amax)) + (signed ? 1 : 0);
}

/** The exact type of a tensor whose largest magnitude is `amax`. */
export function fixedTypeOf(s: FixedSetting, amax: number): FixedType {
  const intBits = s.intBits ?? chosenIntBits(amax, s.signed);
  return fixedType(s.bits, intBits, { signed: s.signed, round: s.round, overflow: s.overflow, satBits: s.satBits });
}

function specOf(t: FixedType, format: IntFormat, where: string, axis?: number): AffineQuant {
  const scale = 2 ** (t.intBits - t.bits);
  if (Math.fround(scale) !== scale || scale === 0) throw new FixqError("unsupported", `${where}: the scale 2^${t.intBits - t.bits} of ${fixedTypeName(t)} is not a float32`);
  return { kind: "affine", format, scale: Float32Array.of(scale), zeroPoint: Int32Array.of(0), fixed: t, ...(axis === undefined ? {} : { axis }) };
}

/** A fixed-point activation spec over the calibrated range [lo, hi]. */
export function fixedActivationSpec(lo: number, hi: number, s: FixedSetting, format: IntFormat): AffineQuant {
  return specOf(fixedTypeOf(s, Math.max(Math.abs(lo), Math.abs(hi))), format, `activation format ${s.name}`);
}

/** A fixed-point weight (per tensor), its codes by the type's modes. */
export function fixedWeightSpec(values: ArrayLike<number>, s: FixedSetting, format: IntFormat): { spec: AffineQuant; q: Int32Array } {
  let amax = 0;
  for (let i = 0; i < values.length; i++) amax = Math.max(amax, Math.abs(values[i]!));
  const spec = specOf(fixedTypeOf(s, amax), format, `weight format ${s.name}`);
  return { spec, q: fixedCodes(values, spec.fixed!) };
}

/** Codes of float values in fixed type t, by its rounding and overflow modes. */
export function fixedCodes(values: ArrayLike<number>, t: FixedType): Int32Array {
  return Int32Array.from(fixedQuantizeArray(t, values));
}

/**
 * Where the QDQ model (QuantizeLinear: round half to even, saturate to the
 * stored range) differs from the exact design `t`, one phrase each; empty when
 * it is the same arithmetic.
 */
export function qdqDifferences(t: FixedType, storageBits: number): string[] {
  const out: string[] = [];
  if (t.round !== "AP_RND_CONV") out.push(`rounds half to even where the design rounds by ${t.round}`);
  if (t.overflow !== "AP_SAT") out.push(`saturates where the design overflows by ${t.overflow}${t.satBits ? ` (N = ${t.satBits})` : ""}`);
  if (t.bits !== storageBits) out.push(`saturates at ${storageBits} bits where the design keeps ${t.bits}`);
  return out;
}

/**
 * One line per distinct fixed-point type among the formats (`format` as the
 * format table names it), saying where the QDQ model's arithmetic differs
 * from the exact design that `emulate`, `eval --engine emulator` and
 * `compile` run; none where they agree (AP_RND_CONV, AP_SAT at a storage width).
 */
export function fixedDesignNotes(formats: readonly { readonly format: string; readonly role: string }[]): string[] {
  const seen = new Map<string, string>();
  for (const f of formats) {
    if (f.role !== "activation" || !isFixedFormatName(f.format) || seen.has(f.format)) continue;
    const t = parseFixedType(f.format);
    const storage = t.bits <= 8 ? 8 : 16;
    const diffs = qdqDifferences(t, storage);
    if (diffs.length > 0) seen.set(f.format, `${f.format} activations: the QDQ model ${diffs.join("; ")}; emulate, eval --engine emulator and compile run the exact design`);
  }
  return [...seen.values()];
}

/**
 * The float range [qmin·S, qmax·S] a fixed-point activation spec is clipped
 * to before its QuantizeLinear when W is narrower than its storage type
 * (QuantizeLinear saturates only at the storage range); undefined otherwise.
 */
export function fixedClipBounds(spec: QuantSpec): [number, number] | undefined {
  if (spec.kind !== "affine" || !spec.fixed) return undefined;
  const storageBits = dtypeInfo(spec.format.dtype)?.bits;
  if (storageBits === undefined || storageBits === spec.fixed.bits) return undefined;
  const s = spec.scale[0]!;
  return [spec.format.qmin * s, spec.format.qmax * s];
}
