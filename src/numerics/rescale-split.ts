/**
 * An int32 form of the rescale (definitions.ts, rescaleDef: residual adds and
 * other sums of rescaled inputs),
 *   y = clamp(z + rshr(Σ_i (x_i − z_i)·m_i, s), lo, hi),  rshr(t, s) = ⌊(t + 2^(s−1)) / 2^s⌋,  s ≥ 1
 * whose products need ~40 bits with 31-bit multipliers, for inputs whose
 * |x_i − z_i| ≤ A_i (narrow types). With k = min(16, s) and each multiplier
 * split as m_i = h_i·2^k + l_i (h_i = ⌊m_i / 2^k⌋, 0 ≤ l_i < 2^k):
 *   H = Σ_i a_i·h_i,   L = Σ_i a_i·l_i + 2^(s−1),   a_i = x_i − z_i
 *   rshr(t, s) = ⌊(2^k·H + L) / 2^s⌋ = ⌊(H + ⌊L / 2^k⌋) / 2^(s−k)⌋
 * (the last step: ⌊(2^k·H + L) / 2^k⌋ = H + ⌊L / 2^k⌋ as H is an integer, and
 * ⌊⌊u / p⌋ / q⌋ = ⌊u / (p·q)⌋ for positive integers p, q). Every intermediate
 * fits int32 when Σ A_i·|h_i| + ⌈ΣA_i·(2^k − 1) + 2^(s−1)⌉/2^k < 2^31 and
 * Σ A_i·(2^k − 1) + 2^(s−1) < 2^31 (checked here, with the actual l_i), and the
 * floors are arithmetic right shifts. The result before the clamp,
 * z + that quotient, is bounded the same way.
 */

export interface SplitRescale {
  readonly k: number;
  readonly h: readonly number[];
  readonly l: readonly number[];
  /** 2^(s−1). */
  readonly r: number;
  /** s − k. */
  readonly s2: number;
}

const LIM = 2 ** 31;

/** The split form's constants for multipliers `m`, shift `s`, input spans `spans` (max |x_i − z_i|) and output zero z, or undefined where an intermediate could leave int32. */
export function splitRescale(m: readonly number[], s: number, spans: readonly number[], z: number): SplitRescale | undefined {
  if (!Number.isInteger(s) || s < 1 || s > 62 || m.some((x) => !Number.isSafeInteger(x))) return undefined;
  const k = Math.min(16, s);
  const p = 2 ** k;
  const h = m.map((x) => Math.floor(x / p));
  const l = m.map((x, i) => x - h[i]! * p);
  const r = 2 ** (s - 1);
  const lMax = l.reduce((a, x, i) => a + spans[i]! * x, 0) + r; // L ∈ [r − Σ A·l, r + Σ A·l]
  const lMin = r - (lMax - r);
  const hMax = h.reduce((a, x, i) => a + spans[i]! * Math.abs(x), 0);
  if (lMax >= LIM || lMin < -LIM) return undefined;
  const q = Math.max(Math.abs(Math.floor(lMax / p)), Math.abs(Math.floor(lMin / p)));
  if (hMax + q >= LIM) return undefined;
  if (Math.abs(z) + hMax + q >= LIM) return undefined;
  return { k, h, l, r, s2: s - k };
}

/** The split form on one element (a_i = x_i − z_i), step by step as the C takes it (int32, arithmetic shifts as floors). */
export function splitRescaleApply(a: readonly number[], f: SplitRescale, z: number, lo: number, hi: number): number {
  let H = 0;
  let L = f.r;
  a.forEach((ai, i) => {
    H += ai * f.h[i]!;
    L += ai * f.l[i]!;
  });
  const t = Math.floor((H + Math.floor(L / 2 ** f.k)) / 2 ** f.s2) + z;
  return Math.min(Math.max(t, lo), hi);
}
