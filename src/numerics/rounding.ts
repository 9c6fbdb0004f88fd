/**
 * Rounding an exact value v to an integer in one of the seven ap_fixed
 * quantization modes (Xilinx UG1399, "Quantization Modes").
 *
 * Write v = T + f with T = floor(v) and f ∈ [0, 1). Every mode returns T or T + 1:
 *
 *   AP_TRN          floor                        +1 never
 *   AP_TRN_ZERO     toward zero                  +1 iff f > 0 and v < 0
 *   AP_RND          nearest, ties toward +∞      +1 iff f ≥ ½
 *   AP_RND_ZERO     nearest, ties toward 0       +1 iff f > ½, or f = ½ and v < 0
 *   AP_RND_MIN_INF  nearest, ties toward −∞      +1 iff f > ½
 *   AP_RND_INF      nearest, ties away from 0    +1 iff f > ½, or f = ½ and v > 0
 *   AP_RND_CONV     nearest, ties to even        +1 iff f > ½, or f = ½ and T odd
 *
 * Only the class of f matters (the `Tail`), so one decision function serves
 * doubles, bigints shifted right, and exact ratios alike. With f > 0, v < 0
 * exactly when T < 0.
 */

export const FIXED_ROUND_MODES = [
  "AP_RND",
  "AP_RND_ZERO",
  "AP_RND_MIN_INF",
  "AP_RND_INF",
  "AP_RND_CONV",
  "AP_TRN",
  "AP_TRN_ZERO",
] as const;
export type FixedRoundMode = (typeof FIXED_ROUND_MODES)[number];

/** Where the discarded fraction f lies: 0 exact, 1 in (0, ½), 2 exactly ½, 3 in (½, 1). */
export type Tail = 0 | 1 | 2 | 3;

/** Whether rounding adds one to T = floor(v), given the tail of v and whether T is negative / odd. */
export function roundsUp(mode: FixedRoundMode, tail: Tail, negative: boolean, odd: boolean): boolean {
  if (tail === 0) return false;
  switch (mode) {
    case "AP_TRN":
      return false;
    case "AP_TRN_ZERO":
      return negative;
    case "AP_RND":
      return tail >= 2;
    case "AP_RND_ZERO":
      return tail === 3 || (tail === 2 && negative);
    case "AP_RND_MIN_INF":
      return tail === 3;
    case "AP_RND_INF":
      return tail === 3 || (tail === 2 && !negative);
    case "AP_RND_CONV":
      return tail === 3 || (tail === 2 && odd);
  }
}

/**
 * Rounds a double to an integer-valued double. Exact for every finite input
 * (f = v − floor(v) is computed without error). NaN and ±Infinity pass through.
 */
export function roundNumber(v: number, mode: FixedRoundMode): number {
  const t = Math.floor(v);
  const f = v - t;
  if (!(f > 0)) return t; // exact, or non-finite
  const tail: Tail = f < 0.5 ? 1 : f === 0.5 ? 2 : 3;
  return roundsUp(mode, tail, t < 0, t % 2 !== 0) ? t + 1 : t;
}

/** round(v / 2^k) for k ≥ 0, exactly. */
export function roundShift(v: bigint, k: number, mode: FixedRoundMode): bigint {
  if (k <= 0) return v << BigInt(-k);
  const bk = BigInt(k);
  const t = v >> bk; // arithmetic shift: floor
  const rem = v - (t << bk);
  return roundsUp(mode, tailOf(rem, 1n << bk), t < 0n, (t & 1n) === 1n) ? t + 1n : t;
}

/** round(n / d) for d ≠ 0, exactly. */
export function roundRatio(n: bigint, d: bigint, mode: FixedRoundMode): bigint {
  if (d === 0n) throw new RangeError("roundRatio: division by zero");
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  let t = n / d; // truncates toward zero
  if (n - t * d < 0n) t -= 1n; // floor
  const rem = n - t * d;
  return roundsUp(mode, tailOf(rem, d), t < 0n, (t & 1n) === 1n) ? t + 1n : t;
}

/**
 * round(a / b) for integer-valued doubles with |a| + |b| < 2^53, exactly
 * (the double quotient is off by at most one from the true floor; the
 * remainder check repairs that).
 */
export function roundRatioNumber(a: number, b: number, mode: FixedRoundMode): number {
  if (b === 0) throw new RangeError("roundRatioNumber: division by zero");
  if (b < 0) {
    a = -a;
    b = -b;
  }
  let t = Math.floor(a / b);
  let rem = a - t * b;
  if (rem < 0) {
    t -= 1;
    rem += b;
  } else if (rem >= b) {
    t += 1;
    rem -= b;
  }
  const twice = 2 * rem;
  const tail: Tail = rem === 0 ? 0 : twice < b ? 1 : twice === b ? 2 : 3;
  return roundsUp(mode, tail, t < 0, t % 2 !== 0) ? t + 1 : t;
}

/** Tail class of a remainder 0 ≤ rem < d. */
function tailOf(rem: bigint, d: bigint): Tail {
  if (rem === 0n) return 0;
  const twice = rem << 1n;
  return twice < d ? 1 : twice === d ? 2 : 3;
}
