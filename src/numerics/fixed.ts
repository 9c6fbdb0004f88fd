/**
 * Fixed-point types `fixed<W,I,Q,O,N>` / `ufixed<W,I,Q,O,N>`, as Xilinx
 * ap_fixed / ap_ufixed (UG1399, "Arbitrary Precision Fixed-Point Data Types").
 *
 *   value = V · 2^−F,  F = W − I
 *   V a W-bit integer: signed [−2^(W−1), 2^(W−1) − 1], unsigned [0, 2^W − 1]
 *
 * W ≥ 1 total bits; I integer bits including the sign bit, any integer (I < 0
 * puts the MSB below the binary point, I > W puts the LSB above it). Q is the
 * rounding mode (rounding.ts), O the overflow mode and N the saturation bits of
 * the wrap modes (overflow.ts); they act only when a value is assigned to the
 * type. Defaults, as in ap_fixed: AP_TRN, AP_WRAP, N = 0.
 *
 * Width rules (ap_fixed_base RType, Vitis HLS): arithmetic is exact and the
 * result carries the default modes.
 *   a · b:  W = W1 + W2, I = I1 + I2, signed if either is
 *   a ± b:  I = max(I1 + [s2 ∧ ¬s1], I2 + [s1 ∧ ¬s2]) + 1, F = max(F1, F2);
 *           a + b is signed if either is, a − b always signed
 *
 * Canonical names omit trailing defaults, like C++ template arguments:
 * `fixed<8,3>`, `fixed<16,6,AP_RND_CONV,AP_SAT>`, `ufixed<8,8,AP_TRN,AP_WRAP,2>`.
 */
import { OVERFLOW_MODES, type OverflowMode } from "./overflow.js";
import { FIXED_ROUND_MODES, type FixedRoundMode } from "./rounding.js";

export interface FixedType {
  readonly kind: "fixed";
  /** W: total bits. */
  readonly bits: number;
  /** I: integer bits, including the sign bit. */
  readonly intBits: number;
  readonly signed: boolean;
  readonly round: FixedRoundMode;
  readonly overflow: OverflowMode;
  /** N: saturation bits of AP_WRAP / AP_WRAP_SM (0 otherwise). */
  readonly satBits: number;
}

export interface FixedOptions {
  signed?: boolean;
  round?: FixedRoundMode;
  overflow?: OverflowMode;
  satBits?: number;
}

/** W is at most 4096 bits (ap_fixed's AP_INT_MAX_W ceiling); |I| at most 8192. */
export const FIXED_MAX_BITS = 4096;
const MAX_INT_BITS = 8192;

export function fixedType(bits: number, intBits: number, opts: FixedOptions = {}): FixedType {
  const t: FixedType = {
    kind: "fixed",
    bits,
    intBits,
    signed: opts.signed ?? true,
    round: opts.round ?? "AP_TRN",
    overflow: opts.overflow ?? "AP_WRAP",
    satBits: opts.satBits ?? 0,
  };
  const where = () => `fixed type <${bits},${intBits}>`;
  if (!Number.isInteger(bits) || bits < 1 || bits > FIXED_MAX_BITS) {
    throw new RangeError(`${where()}: W must be an integer in 1…${FIXED_MAX_BITS}`);
  }
  if (!Number.isInteger(intBits) || Math.abs(intBits) > MAX_INT_BITS) {
    throw new RangeError(`${where()}: I must be an integer in −${MAX_INT_BITS}…${MAX_INT_BITS}`);
  }
  if (!FIXED_ROUND_MODES.includes(t.round)) throw new RangeError(`${where()}: unknown rounding mode '${t.round}'`);
  if (!OVERFLOW_MODES.includes(t.overflow)) throw new RangeError(`${where()}: unknown overflow mode '${t.overflow}'`);
  const wraps = t.overflow === "AP_WRAP" || t.overflow === "AP_WRAP_SM";
  if (!Number.isInteger(t.satBits) || t.satBits < 0 || t.satBits > bits || (!wraps && t.satBits !== 0)) {
    throw new RangeError(`${where()}: N must be 0…W, and 0 unless the overflow mode is AP_WRAP or AP_WRAP_SM`);
  }
  // ap_ufixed rejects AP_WRAP_SM (ap_fixed_base.h: "ap_ufixed<...> cannot support AP_WRAP_SM").
  if (!t.signed && t.overflow === "AP_WRAP_SM") throw new RangeError(`${where()}: AP_WRAP_SM needs a signed type`);
  return t;
}

/** F = W − I, the weight of the LSB is 2^−F. */
export function fracBits(t: FixedType): number {
  return t.bits - t.intBits;
}

export function fixedTypeName(t: FixedType): string {
  const args = [String(t.bits), String(t.intBits), t.round, t.overflow, String(t.satBits)];
  let n = args.length;
  const defaults = [undefined, undefined, "AP_TRN", "AP_WRAP", "0"];
  while (n > 2 && args[n - 1] === defaults[n - 1]) n--;
  return `${t.signed ? "" : "u"}fixed<${args.slice(0, n).join(",")}>`;
}

/**
 * Parses `fixed<W,I[,Q[,O[,N]]]>` / `ufixed<…>`. Also accepts the C++ spelling
 * (`ap_fixed<16, 6, AP_RND>`, spaces, mode names without the `AP_` prefix);
 * `fixedTypeName` gives the canonical form back.
 */
export function parseFixedType(s: string): FixedType {
  const m = /^\s*(?:ap_)?(u?)fixed\s*<([^<>]*)>\s*$/.exec(s);
  const bad = (why: string) => new SyntaxError(`'${s}' is not a fixed-point type: ${why}`);
  if (!m) throw bad("expected fixed<W,I[,Q[,O[,N]]]> or ufixed<…>");
  const args = m[2]!.split(",").map((a) => a.trim());
  if (args.length < 2 || args.length > 5) throw bad("expected 2 to 5 template arguments");
  const int = (a: string, what: string) => {
    if (!/^[+-]?[0-9]+$/.test(a)) throw bad(`${what} must be an integer, not '${a}'`);
    return Number(a);
  };
  const mode = <T extends string>(a: string | undefined, all: readonly T[], what: string): T | undefined => {
    if (a === undefined) return undefined;
    const name = a.toUpperCase().startsWith("AP_") ? a.toUpperCase() : `AP_${a.toUpperCase()}`;
    const found = all.find((x) => x === name);
    if (!found) throw bad(`unknown ${what} '${a}' (one of ${all.join(", ")})`);
    return found;
  };
  try {
    return fixedType(int(args[0]!, "W"), int(args[1]!, "I"), {
      signed: m[1] === "",
      round: mode(args[2], FIXED_ROUND_MODES, "rounding mode"),
      overflow: mode(args[3], OVERFLOW_MODES, "overflow mode"),
      satBits: args[4] === undefined ? 0 : int(args[4], "N"),
    });
  } catch (e) {
    if (e instanceof RangeError) throw bad(e.message);
    throw e;
  }
}

/** Smallest raw value V. */
export function fixedMinRaw(t: FixedType): bigint {
  return t.signed ? -(1n << BigInt(t.bits - 1)) : 0n;
}

/** Largest raw value V. */
export function fixedMaxRaw(t: FixedType): bigint {
  return t.signed ? (1n << BigInt(t.bits - 1)) - 1n : (1n << BigInt(t.bits)) - 1n;
}

/** The type with the same W, I and signedness and the default modes (what arithmetic returns). */
function plain(bits: number, intBits: number, signed: boolean): FixedType {
  return fixedType(bits, intBits, { signed });
}

/** Result type of a · b (exact). */
export function fixedMulType(a: FixedType, b: FixedType): FixedType {
  return plain(a.bits + b.bits, a.intBits + b.intBits, a.signed || b.signed);
}

function sumIntBits(a: FixedType, b: FixedType): number {
  // An unsigned operand needs one more integer bit once the result is signed.
  const ia = a.intBits + (b.signed && !a.signed ? 1 : 0);
  const ib = b.intBits + (a.signed && !b.signed ? 1 : 0);
  return Math.max(ia, ib) + 1;
}

/** Result type of a + b (exact). */
export function fixedAddType(a: FixedType, b: FixedType): FixedType {
  const i = sumIntBits(a, b);
  return plain(i + Math.max(fracBits(a), fracBits(b)), i, a.signed || b.signed);
}

/** Result type of a − b (exact; always signed). */
export function fixedSubType(a: FixedType, b: FixedType): FixedType {
  const i = sumIntBits(a, b);
  return plain(i + Math.max(fracBits(a), fracBits(b)), i, true);
}

/** Raw value of a · b in `fixedMulType(a, b)`. */
export function fixedMulRaw(ra: bigint, rb: bigint): bigint {
  return ra * rb;
}

/** Raw value of a + b (or a − b with `negate`) in `fixedAddType(a, b)` / `fixedSubType(a, b)`. */
export function fixedAddRaw(a: FixedType, ra: bigint, b: FixedType, rb: bigint, negate = false): bigint {
  const f = Math.max(fracBits(a), fracBits(b));
  const x = ra << BigInt(f - fracBits(a));
  const y = rb << BigInt(f - fracBits(b));
  return negate ? x - y : x + y;
}
