/**
 * Operand packing for the SIMD GEMM (module.ts `gemm`): K taps are taken in
 * pairs (kp = ⌈K/2⌉ pairs), positions padded to P8 = ⌈P/8⌉·8, weight rows
 * padded to blocks of 4; missing taps, positions and rows are zeros.
 *
 *   gather[(kp·P8 + p)·2 + t] = byte offset of tap 2·kp + t at position p, or −1
 *   Wp[((ob·KP) + kp)·8 + 2·j + t] = w[4·ob + j][2·kp + t]   (int16)
 */

export interface GemmPlan {
  readonly KP: number;
  readonly P8: number;
  readonly OB: number;
}

export function gemmPlan(K: number, P: number, M: number): GemmPlan {
  return { KP: Math.ceil(K / 2), P8: Math.ceil(P / 8) * 8, OB: Math.ceil(M / 4) };
}

/** Pair-interleaved gather map from src(p, k) = element index or −1. */
export function packGather(K: number, P: number, plan: GemmPlan, src: (p: number, k: number) => number): Int32Array {
  const { KP, P8 } = plan;
  const g = new Int32Array(KP * P8 * 2).fill(-1);
  for (let kp = 0; kp < KP; kp++) {
    for (let p = 0; p < P; p++) {
      for (let t = 0; t < 2; t++) {
        const k = 2 * kp + t;
        if (k >= K) continue;
        const s = src(p, k);
        g[(kp * P8 + p) * 2 + t] = s < 0 ? -1 : s * 4;
      }
    }
  }
  return g;
}

/** Weight rows [M, K] (row m at w[base + m·K]) packed in blocks of 4 rows. */
export function packWeights(w: Int32Array, base: number, M: number, K: number, plan: GemmPlan): Int16Array {
  const { KP, OB } = plan;
  const out = new Int16Array(OB * KP * 8);
  for (let m = 0; m < M; m++) {
    const ob = m >> 2;
    const j = m & 3;
    for (let k = 0; k < K; k++) out[(ob * KP + (k >> 1)) * 8 + 2 * j + (k & 1)] = w[base + m * K + k]!;
  }
  return out;
}
