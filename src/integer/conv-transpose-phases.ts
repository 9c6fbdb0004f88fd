/**
 * ConvTranspose as stride-1 convolutions, one per output phase (sub-pixel
 * decomposition), along one spatial axis. With input length H, kernel k,
 * stride s, dilation d, head padding p and output length O:
 *
 *   y[o] = Σ_{i, t : i·s + t·d = o + p} x[i]·w[t]
 *
 * Output positions o ≡ r (mod s) form phase r: o = q·s + r, q < Q_r. Only the
 * taps T_r = {t : t·d ≡ r + p (mod s)} reach them, each from input
 * i = q + e_t, e_t = (r + p − t·d)/s. Consecutive taps of T_r differ by
 * s/gcd(d, s), their e_t by d' = d/gcd(d, s), so phase r is a stride-1
 * convolution with dilation d' of the flipped taps (kernel index m reads
 * tap t_{J−1−m}):
 *
 *   y_r[q] = Σ_m x[q + e_last + m·d']·w[t_{J−1−m}]      (e_last = e of the largest tap)
 *
 * computed as a Conv with head padding P = max(0, −e_last), whose output q'
 * = q + off holds y_r[q] for off = P + e_last ≥ 0. Every phase of an axis
 * produces the same length Q' (tail padding fills the difference), so the
 * phases stack into one tensor and one remap interleaves them. The MACs are
 * the ConvTranspose's own (every tap once per output), not s² times more as
 * with a zero-inserted input. A phase without taps (k < s) is a one-tap
 * convolution with a zero weight: its outputs are the bias alone.
 */
export interface AxisPhase {
  /** Taps of the original kernel, in the phase kernel's order (flipped); empty when none reach the phase. */
  readonly taps: readonly number[];
  readonly dilation: number;
  /** Conv head and tail padding. */
  readonly padHead: number;
  readonly padTail: number;
  /** The conv's output q' = q + offset holds phase output q. */
  readonly offset: number;
  /** Outputs of the phase within the ConvTranspose's output. */
  readonly count: number;
}

export interface AxisPlan {
  readonly phases: readonly AxisPhase[];
  /** The common conv output length Q' of every phase. */
  readonly length: number;
}

/** Where each phase's outputs sit along one axis: phase r's output q is at q + phases[r].offset of `length`. */
export interface PhaseLayout {
  readonly phases: readonly { readonly offset: number }[];
  readonly length: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const mod = (a: number, m: number): number => ((a % m) + m) % m;

export function axisPlan(H: number, k: number, s: number, d: number, padHead: number, O: number): AxisPlan {
  const parts = Array.from({ length: s }, (_, r) => {
    const count = r < O ? Math.floor((O - 1 - r) / s) + 1 : 0;
    const taps: number[] = [];
    for (let t = 0; t < k; t++) if (mod(r + padHead - t * d, s) === 0) taps.push(t);
    if (taps.length === 0) return { taps, dilation: 1, padHead: 0, offset: 0, count, natural: H };
    const dilation = d / gcd(d, s);
    const eLast = (r + padHead - taps[taps.length - 1]! * d) / s;
    const P = Math.max(0, -eLast);
    return { taps: taps.reverse(), dilation, padHead: P, offset: P + eLast, count, natural: H + P - dilation * (taps.length - 1) };
  });
  const length = Math.max(1, ...parts.map((p) => Math.max(p.offset + p.count, p.natural)));
  return {
    length,
    phases: parts.map(({ natural, ...p }) => ({ ...p, padTail: length - natural })),
  };
}

/**
 * The phase conv's weight [M, C/g, J_h, J_w] (OIHW) from a ConvTranspose
 * weight [C, M/g, k_h, k_w]: W'[o, c, m_h, m_w] = W[g·(C/g) + c, o − g·(M/g),
 * taps_h[m_h], taps_w[m_w]], g = ⌊o/(M/g)⌋; one zero tap on an axis without taps.
 */
export function phaseWeight(w: Int32Array, dims: readonly number[], group: number, th: readonly number[], tw: readonly number[]): { weight: Int32Array; shape: [number, number, number, number] } {
  const [C, Mg, kh, kw] = dims as [number, number, number, number];
  const Cg = C / group;
  const M = Mg * group;
  const Jh = Math.max(1, th.length);
  const Jw = Math.max(1, tw.length);
  const weight = new Int32Array(M * Cg * Jh * Jw);
  if (th.length > 0 && tw.length > 0) {
    for (let o = 0; o < M; o++) {
      const g = Math.floor(o / Mg);
      for (let c = 0; c < Cg; c++) {
        for (let mh = 0; mh < Jh; mh++) {
          for (let mw = 0; mw < Jw; mw++) {
            weight[((o * Cg + c) * Jh + mh) * Jw + mw] = w[(((g * Cg + c) * Mg + (o - g * Mg)) * kh + th[mh]!) * kw + tw[mw]!]!;
          }
        }
      }
    }
  }
  return { weight, shape: [M, Cg, Jh, Jw] };
}

/**
 * The remap tables reading output [c, o_h, o_w] from the stacked phases
 * [(r_h·s_w + r_w)·M + c, q_h, q_w]: phase (o_h mod s_h, o_w mod s_w), position
 * (⌊o_h/s_h⌋ + off_h, ⌊o_w/s_w⌋ + off_w).
 */
export function interleaveOffsets([ph, pw]: readonly [PhaseLayout, PhaseLayout], M: number, shape: readonly number[]): Int32Array[] {
  const sh = ph.phases.length;
  const sw = pw.phases.length;
  const plane = ph.length * pw.length;
  const phaseSize = M * plane;
  const ch = Int32Array.from({ length: M }, (_, c) => c * plane);
  const rows = Int32Array.from({ length: shape[1]! }, (_, o) => (o % sh) * sw * phaseSize + (Math.floor(o / sh) + ph.phases[o % sh]!.offset) * pw.length);
  const cols = Int32Array.from({ length: shape[2]! }, (_, o) => (o % sw) * phaseSize + Math.floor(o / sw) + pw.phases[o % sw]!.offset);
  return [ch, rows, cols];
}
