/**
 * A slow, independent reference for assigning an exact rational to an
 * ap_fixed type, written from the mode definitions (UG1399 and IEEE 1666
 * SystemC) and not from src/numerics: rounding picks between the two
 * neighbouring grid points by comparing exact distances; the wrap modes work
 * on an explicit array of bits.
 */

export interface RefType {
  w: number;
  i: number;
  signed: boolean;
  q: string;
  o: string;
  n: number;
}

/** An exact rational n/d with d > 0. */
export interface Rat {
  n: bigint;
  d: bigint;
}

const pow2 = (k: number): bigint => 2n ** BigInt(k);

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b > a ? q - 1n : q;
}

/** The exact rational value of a finite double, by doubling until it is an integer. */
export function ratOfDouble(x: number): Rat {
  if (!Number.isFinite(x)) throw new Error("ratOfDouble: not finite");
  let d = 0;
  let y = x;
  while (!Number.isInteger(y)) {
    y *= 2;
    d++;
  }
  return { n: BigInt(y), d: pow2(d) };
}

/** The rounded integer R for v·2^F and the floor T it came from. */
function roundScaled(q: string, v: Rat): { r: bigint; t: bigint } {
  const lower = floorDiv(v.n, v.d);
  const upper = lower + 1n;
  if (lower * v.d === v.n) return { r: lower, t: lower };
  const positive = v.n > 0n;
  const dLow = v.n - lower * v.d; // distance to lower, times d
  const dUp = upper * v.d - v.n;
  let r: bigint;
  if (q === "AP_TRN") r = lower;
  else if (q === "AP_TRN_ZERO") r = positive ? lower : upper;
  else if (dLow < dUp) r = lower;
  else if (dUp < dLow) r = upper;
  else if (q === "AP_RND") r = upper;
  else if (q === "AP_RND_ZERO") r = positive ? lower : upper;
  else if (q === "AP_RND_MIN_INF") r = lower;
  else if (q === "AP_RND_INF") r = positive ? upper : lower;
  else if (q === "AP_RND_CONV") r = lower % 2n === 0n ? lower : upper;
  else throw new Error(`unknown mode ${q}`);
  return { r, t: lower };
}

/** Bits 0…w−1 of x in two's complement, LSB first. */
function bitsOf(x: bigint, w: number): number[] {
  let u = ((x % pow2(w)) + pow2(w)) % pow2(w);
  const out: number[] = [];
  for (let k = 0; k < w; k++) {
    out.push(Number(u % 2n));
    u /= 2n;
  }
  return out;
}

function valueOfBits(b: number[], signed: boolean): bigint {
  let v = 0n;
  for (let k = b.length - 1; k >= 0; k--) v = v * 2n + BigInt(b[k]!);
  return signed && b[b.length - 1] === 1 ? v - pow2(b.length) : v;
}

/** Raw value of assigning v to the type. */
export function refAssign(t: RefType, v: Rat): bigint {
  const f = t.w - t.i;
  const scaled: Rat = f >= 0 ? { n: v.n * pow2(f), d: v.d } : { n: v.n, d: v.d * pow2(-f) };
  const { r, t: floorT } = roundScaled(t.q, scaled);
  const min = t.signed ? -pow2(t.w - 1) : 0n;
  const max = t.signed ? pow2(t.w - 1) - 1n : pow2(t.w) - 1n;
  const negMax = t.signed ? (t.w > 1 ? -max : min) : 0n; // ap_fixed forms −max as min|1
  if (r >= min && r <= max) return t.o === "AP_SAT_SYM" && r < negMax ? negMax : r;
  if (t.o === "AP_SAT") return r > max ? max : min;
  if (t.o === "AP_SAT_ZERO") return 0n;
  if (t.o === "AP_SAT_SYM") return r > max ? max : negMax;
  const b = bitsOf(r, t.w);
  const w = t.w;
  const sign = r < 0n ? 1 : 0;
  if (t.o === "AP_WRAP") {
    if (t.n > 0 && !t.signed) for (let k = w - t.n; k < w; k++) b[k] = 1;
    if (t.n > 0 && t.signed) {
      b[w - 1] = sign;
      for (let k = w - t.n; k < w - 1; k++) b[k] = 1 - sign;
    }
    return valueOfBits(b, t.signed);
  }
  if (t.o !== "AP_WRAP_SM") throw new Error(`unknown mode ${t.o}`);
  // SystemC SC_WRAP_SM: the kept bits below the saturated ones are XORed with a flag.
  const sRo = b[w - 1]!;
  let flag: number;
  let kept: number; // bits 0…kept−1 are XORed
  if (t.n === 0) {
    const lD = Number(((floorDiv(floorT, pow2(w)) % 2n) + 2n) % 2n); // least significant deleted bit
    flag = sRo ^ lD;
    b[w - 1] = lD;
    kept = w - 1;
  } else if (t.n === 1) {
    flag = sRo ^ sign;
    b[w - 1] = sign;
    kept = w - 1;
  } else {
    const lNo = b[w - t.n]!;
    flag = lNo ^ (1 - sign);
    b[w - 1] = sign;
    for (let k = w - t.n; k < w - 1; k++) b[k] = 1 - sign;
    kept = w - t.n;
  }
  for (let k = 0; k < kept; k++) b[k] = b[k]! ^ flag;
  return valueOfBits(b, true);
}
