/**
 * Assigning exact values to a fixed type, and reading them back.
 *
 *   T = floor(v · 2^F)                    (F = W − I)
 *   R = T or T + 1 by the rounding mode   (rounding.ts)
 *   V = overflow(R)                       (overflow.ts)
 *   value = V · 2^−F
 *
 * v may be a double, a ratio of bigints, or another fixed value (a cast,
 * which is what assignment and `acc += x` do in HLS). ±Infinity is read as
 * ±2^1024, as ap_fixed's double constructor does; NaN is an error.
 *
 * Cost: the general path is BigInt and exact for any W. `fixedQuantizer`
 * is the fast path for W ≤ 53 (raw values are then exact doubles): one
 * multiply by 2^F, `roundNumber`, and a range check, all in doubles; only
 * AP_WRAP with N > 0, AP_WRAP_SM and inputs whose scaling under- or
 * overflows a double fall back to the BigInt path.
 */
import { type FixedType, fixedMaxRaw, fixedMinRaw, fracBits } from "./fixed.js";
import { overflowRaw } from "./overflow.js";
import { roundNumber, roundRatio, roundShift } from "./rounding.js";

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** x = m · 2^e exactly, with m a bigint; ±Infinity gives ±1 · 2^1024. */
export function decomposeNumber(x: number): [m: bigint, e: number] {
  if (Number.isNaN(x)) throw new RangeError("cannot convert NaN to fixed point");
  f64[0] = x;
  const bits = u64[0]!;
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & 0xfffffffffffffn;
  let m: bigint;
  let e: number;
  if (exp === 0x7ff) [m, e] = [1n, 1024];
  else if (exp === 0) [m, e] = [frac, -1074];
  else [m, e] = [frac | (1n << 52n), exp - 1075];
  return [bits >> 63n ? -m : m, e];
}

/** Assigns the value v · 2^−k (exact) to type t; returns the raw value. */
export function fixedFromScaled(t: FixedType, v: bigint, k: number): bigint {
  const shift = k - fracBits(t); // v·2^F = v / 2^shift
  if (shift <= 0) {
    const r = v << BigInt(-shift);
    return overflowRaw(t, r, r);
  }
  return overflowRaw(t, roundShift(v, shift, t.round), v >> BigInt(shift));
}

/** Assigns a double to t (exact rounding of the double's value); the raw value. */
export function fixedFromNumber(t: FixedType, x: number): bigint {
  const [m, e] = decomposeNumber(x);
  return fixedFromScaled(t, m, -e);
}

/** Assigns the rational n / d to t; the raw value. */
export function fixedFromRational(t: FixedType, n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError("fixedFromRational: zero denominator");
  if (d < 0n) [n, d] = [-n, -d];
  const f = fracBits(t);
  const num = f >= 0 ? n << BigInt(f) : n;
  const den = f >= 0 ? d : d << BigInt(-f);
  let floorT = num / den;
  if (floorT * den > num) floorT -= 1n;
  return overflowRaw(t, roundRatio(num, den, t.round), floorT);
}

/** Assigns a value of type `from` (raw `raw`) to type `to`: rounding and overflow of `to`. */
export function fixedCast(from: FixedType, raw: bigint, to: FixedType): bigint {
  return fixedFromScaled(to, raw, fracBits(from));
}

/** The value of a raw V as a double: V·2^−F rounded to nearest (exact when it fits 53 bits). */
export function fixedToNumber(t: FixedType, raw: bigint | number): number {
  const f = fracBits(t);
  if (typeof raw === "number") return mulPow2(raw, -f);
  const neg = raw < 0n;
  let a = neg ? -raw : raw;
  let e = -f;
  const len = a.toString(2).length;
  if (len > 64) {
    // Keep 64 bits and a sticky bit, so that Number() rounds once, correctly.
    const sh = len - 64;
    const sticky = (a & ((1n << BigInt(sh)) - 1n)) !== 0n ? 1n : 0n;
    a = (a >> BigInt(sh)) | sticky;
    e += sh;
  }
  const v = mulPow2(Number(a), e);
  return neg ? -v : v;
}

/** x · 2^e in two steps, so that 2^e itself never under- or overflows. */
function mulPow2(x: number, e: number): number {
  if (e >= -1000 && e <= 1000) return x * 2 ** e;
  const h = Math.trunc(e / 2);
  return x * 2 ** h * 2 ** (e - h);
}

/** Smallest value of t as a double (rounded to nearest when W > 53). */
export function fixedMin(t: FixedType): number {
  return fixedToNumber(t, fixedMinRaw(t));
}

/** Largest value of t as a double (rounded to nearest when W > 53). */
export function fixedMax(t: FixedType): number {
  return fixedToNumber(t, fixedMaxRaw(t));
}

/** Whether the double x is exactly a value of t. */
export function isRepresentableFixed(t: FixedType, x: number): boolean {
  if (!Number.isFinite(x)) return false;
  const [m, e] = decomposeNumber(x);
  const k = e + fracBits(t); // x·2^F = m·2^k
  let raw: bigint;
  if (k >= 0) raw = m << BigInt(k);
  else {
    raw = m >> BigInt(-k);
    if (raw << BigInt(-k) !== m) return false;
  }
  return raw >= fixedMinRaw(t) && raw <= fixedMaxRaw(t);
}

/**
 * A fast scalar converter double → raw (a number) for W ≤ 53; same results
 * as `fixedFromNumber`.
 */
export function fixedQuantizer(t: FixedType): (x: number) => number {
  if (t.bits > 53) throw new RangeError(`fixedQuantizer: W = ${t.bits} > 53; use fixedFromNumber`);
  const p = 2 ** fracBits(t);
  const scalingSafe = p > 0 && p < Number.POSITIVE_INFINITY;
  const lo = Number(fixedMinRaw(t));
  const hi = Number(fixedMaxRaw(t));
  const symLo = t.signed && t.bits > 1 ? lo + 1 : lo;
  const mod = 2 ** t.bits;
  const { round, overflow, signed } = t;
  const plainWrap = overflow === "AP_WRAP" && t.satBits === 0;
  const slow = (x: number) => Number(fixedFromNumber(t, x));
  return (x: number): number => {
    const y = x * p;
    // Non-finite, or x·2^F underflowed to 0: let the exact path decide (and reject NaN).
    if (!scalingSafe || !Number.isFinite(y) || (y === 0 && x !== 0)) return slow(x);
    const r = roundNumber(y, round);
    if (r >= lo && r <= hi) return overflow === "AP_SAT_SYM" && r === lo ? symLo : r + 0;
    if (overflow === "AP_SAT") return r > hi ? hi : lo;
    if (overflow === "AP_SAT_ZERO") return 0;
    if (overflow === "AP_SAT_SYM") return r > hi ? hi : symLo;
    if (!plainWrap) return slow(x);
    let u = r % mod;
    if (u < 0) u += mod;
    return signed && u > hi ? u - mod : u + 0;
  };
}

/**
 * Converts a whole array to raw values of t, W ≤ 32: an Int32Array for
 * signed types, a Uint32Array for unsigned ones (or `out`, if given).
 */
export function fixedQuantizeArray(
  t: FixedType,
  src: ArrayLike<number>,
  out?: Int32Array | Uint32Array,
): Int32Array | Uint32Array {
  if (t.bits > 32) throw new RangeError(`fixedQuantizeArray: W = ${t.bits} > 32`);
  const dst = out ?? (t.signed ? new Int32Array(src.length) : new Uint32Array(src.length));
  if (dst.length < src.length) throw new RangeError("fixedQuantizeArray: output too short");
  const q = fixedQuantizer(t);
  for (let i = 0; i < src.length; i++) dst[i] = q(src[i]!);
  return dst;
}

/** Raw values (W ≤ 53) → doubles, or float32 when `out` is a Float32Array. */
export function fixedDequantizeArray(
  t: FixedType,
  raw: ArrayLike<number>,
  out?: Float32Array | Float64Array,
): Float32Array | Float64Array {
  const dst = out ?? new Float64Array(raw.length);
  if (dst.length < raw.length) throw new RangeError("fixedDequantizeArray: output too short");
  const f = fracBits(t);
  if (f >= -1000 && f <= 1000) {
    const s = 2 ** -f;
    for (let i = 0; i < raw.length; i++) dst[i] = raw[i]! * s;
  } else {
    for (let i = 0; i < raw.length; i++) dst[i] = fixedToNumber(t, raw[i]!);
  }
  return dst;
}
