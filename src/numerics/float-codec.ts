/**
 * Encode (float32 → code) and decode (code → float32) for every float format,
 * on whole arrays, with ONNX Cast's semantics:
 *
 *   encode(x) = the code nearest x under `round` (ties to even for every
 *               format but E8M0), then out-of-range handling per `saturate`:
 *               FP8: saturate (default) clamps to ±max, Inf included; otherwise
 *               overflow is ±Inf (E5M2) or NaN (E4M3FN, FNUZ types).
 *               FP4, FP6 always clamp; FP16, BF16 never do (±Inf).
 *               E8M0: see e8m0.ts.
 *   decode(c) = codeValue(c) exactly (NaN codes → quiet NaN).
 *
 * Codes are one per Uint8Array element for formats of ≤ 8 bits (FP4 and FP6
 * codes unpacked; see pack.ts) and one per Uint16Array element for FP16/BF16.
 */
import { encodeE8m0 } from "./e8m0.js";
import { decodeBytes, decodeHalfwords, decodeTable } from "./float-decode.js";
import type { FloatFormat, RoundMode } from "./float-format.js";
import { encodeMinifloat, encodePlan, type EncodePlan } from "./minifloat-encode.js";

export type CodeArray = Uint8Array | Uint16Array;

export interface EncodeOptions {
  /** ONNX Cast `saturate` (default true). Only FP8 and E8M0 have the choice; an explicit contrary value for another format is an error. */
  readonly saturate?: boolean;
  /** Default: the format's first round mode (`nearest-even`; `up` for E8M0, as ONNX Cast). */
  readonly round?: RoundMode;
}

const plans = new Map<string, EncodePlan>();

function planFor(fmt: FloatFormat, saturate: boolean): EncodePlan {
  const key = `${fmt.name}/${saturate}`;
  let p = plans.get(key);
  if (!p) {
    p = encodePlan(fmt, saturate);
    plans.set(key, p);
  }
  return p;
}

/** The saturate flag in effect, rejecting an explicit value the format cannot honour. */
function resolveSaturate(fmt: FloatFormat, saturate: boolean | undefined): boolean {
  switch (fmt.saturation) {
    case "flag":
      return saturate ?? true;
    case "always":
      if (saturate === false) throw new RangeError(`${fmt.name} always saturates (no Inf or NaN to overflow to)`);
      return true;
    case "never":
      if (saturate === true) throw new RangeError(`${fmt.name} does not saturate: ONNX Cast overflows it to ±Inf`);
      return false;
  }
}

function resolveRound(fmt: FloatFormat, round: RoundMode | undefined): RoundMode {
  if (round === undefined) return fmt.roundModes[0]!;
  if (!fmt.roundModes.includes(round)) throw new RangeError(`${fmt.name} has no round mode '${round}' (${fmt.roundModes.join(", ")})`);
  return round;
}

/** A code array of the right element type for `fmt`. */
export function allocCodes(fmt: FloatFormat, length: number): CodeArray {
  return fmt.bits > 8 ? new Uint16Array(length) : new Uint8Array(length);
}

function checkCodes(fmt: FloatFormat, codes: CodeArray, length: number, what: string): void {
  const wide = fmt.bits > 8;
  if (wide !== codes instanceof Uint16Array) throw new TypeError(`${fmt.name} ${what} must be a ${wide ? "Uint16Array" : "Uint8Array"}`);
  if (codes.length !== length) throw new RangeError(`${fmt.name} ${what} has ${codes.length} elements, expected ${length}`);
}

/** Encodes every element of `src`; writes into `out` when given (same length, Uint8Array or Uint16Array as the format needs). */
export function encodeFloats<C extends CodeArray>(fmt: FloatFormat, src: Float32Array, opts: EncodeOptions | undefined, out: C): C;
export function encodeFloats(fmt: FloatFormat, src: Float32Array, opts?: EncodeOptions): CodeArray;
export function encodeFloats(fmt: FloatFormat, src: Float32Array, opts: EncodeOptions = {}, out?: CodeArray): CodeArray {
  const saturate = resolveSaturate(fmt, opts.saturate);
  const round = resolveRound(fmt, opts.round);
  const codes = out ?? allocCodes(fmt, src.length);
  checkCodes(fmt, codes, src.length, "output");
  if (fmt.specials === "e8m0") encodeE8m0(src, codes as Uint8Array, round, saturate);
  else encodeMinifloat(planFor(fmt, saturate), src, codes);
  return codes;
}

/** Decodes every code; writes into `out` when given (same length). */
export function decodeFloats(fmt: FloatFormat, codes: CodeArray, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(codes.length);
  checkCodes(fmt, codes, dst.length, "input");
  const table = decodeTable(fmt);
  if (codes instanceof Uint16Array) decodeHalfwords(table, codes, dst);
  else decodeBytes(table, codes, dst);
  return dst;
}

const scalarIn = new Float32Array(1);
const scalarBits = new Uint32Array(scalarIn.buffer);
const scalarOut8 = new Uint8Array(1);
const scalarOut16 = new Uint16Array(1);

/** Code of one value (`x` is first rounded to float32, as a Float32Array input would be). */
export function encodeFloat(fmt: FloatFormat, x: number, opts?: EncodeOptions): number {
  scalarIn[0] = x;
  return encodeFloats(fmt, scalarIn, opts, fmt.bits > 8 ? scalarOut16 : scalarOut8)[0]!;
}

/** Value of one code, as a float32 value. */
export function decodeFloat(fmt: FloatFormat, code: number): number {
  const t = decodeTable(fmt);
  scalarBits[0] = t[code & (t.length - 1)]!;
  return scalarIn[0]!;
}

/**
 * Whether `x` is exactly the value of some code: a finite value of the format,
 * ±Inf where the format has Inf, NaN where it has NaN, −0 where it has −0.
 */
export function isRepresentable(fmt: FloatFormat, x: number): boolean {
  if (Number.isNaN(x)) return fmt.hasNaN;
  if (Math.fround(x) !== x) return false;
  const round = fmt.specials === "e8m0" ? "down" : undefined;
  const code = encodeFloat(fmt, x, { round, saturate: fmt.saturation === "flag" ? false : undefined });
  return Object.is(decodeFloat(fmt, code), x);
}
