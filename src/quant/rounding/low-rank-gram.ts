/**
 * A low-rank-plus-diagonal approximation of a layer's Gram matrix, for
 * AdaRound's early steps on wide layers (wide-layers.ts):
 *
 *   H ≈ Uᵀ·Λ·U + diag(d),   U (q×K) orthonormal rows: H's top-q eigenvectors,
 *                            d = diag(H) − diag(Uᵀ·Λ·U) ≥ 0 (the rest's diagonal)
 *
 * so a step's gradient E·H costs 2·R·K·q multiply-adds ((E·Uᵀ)·(Λ·U)) plus
 * one elementwise product, as a minibatch of q samples does, but without
 * sampling noise: the top directions of H exactly, the rest by its diagonal.
 * Found by subspace iteration (Halko, Martinsson and Tropp 2011): a seeded
 * random q×K start, SUBSPACE_ITERS products with H each followed by
 * modified Gram–Schmidt, then Rayleigh–Ritz on the q×q matrix Q·H·Qᵀ
 * (cyclic Jacobi). Float64; the products with H are the caller's (ONNX
 * Runtime's float64 MatMul in the pipeline, loss-pair.ts), so the whole is
 * deterministic for a seed.
 */
import { Rng } from "../../util/random.js";

/** Products with H per subspace iteration run. */
export const SUBSPACE_ITERS = 4;

export interface LowRankGram {
  readonly rank: number;
  /** U, q×K row-major: H's top eigenvectors, largest eigenvalue first. */
  readonly u: Float64Array;
  /** Λ, the q eigenvalues. */
  readonly lambda: Float64Array;
  /** d, K: diag(H) − diag(Uᵀ·Λ·U), clamped at 0. */
  readonly d: Float64Array;
}

/** Orthonormalizes the q rows of a (q×K) in place by modified Gram–Schmidt, twice ("twice is enough" for orthogonality to rounding); a row that was (numerically) in the span of the earlier ones becomes 0. */
function orthonormalRows(a: Float64Array, q: number, k: number): void {
  const norm = (ri: number) => {
    let s = 0;
    for (let c = 0; c < k; c++) s += a[ri + c]! * a[ri + c]!;
    return Math.sqrt(s);
  };
  for (let i = 0; i < q; i++) {
    const ri = i * k;
    const before = norm(ri);
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const rj = j * k;
        let dot = 0;
        for (let c = 0; c < k; c++) dot += a[ri + c]! * a[rj + c]!;
        for (let c = 0; c < k; c++) a[ri + c] -= dot * a[rj + c]!;
      }
    }
    const after = norm(ri);
    const inv = after > 1e-10 * before ? 1 / after : 0;
    for (let c = 0; c < k; c++) a[ri + c] *= inv;
  }
}

/** Eigen-decomposition of a symmetric q×q matrix by cyclic Jacobi rotations: eigenvalues, and eigenvectors as the columns of v. */
export function jacobiEigen(b: Float64Array, q: number): { values: Float64Array; v: Float64Array } {
  const a = Float64Array.from(b);
  const v = new Float64Array(q * q);
  for (let i = 0; i < q; i++) v[i * q + i] = 1;
  let scale = 0;
  for (let i = 0; i < q * q; i++) scale += a[i]! * a[i]!;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let i = 0; i < q; i++) for (let j = i + 1; j < q; j++) off += a[i * q + j]! * a[i * q + j]!;
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < q; p++) {
      for (let r = p + 1; r < q; r++) {
        const apr = a[p * q + r]!;
        if (apr === 0) continue;
        const theta = (a[r * q + r]! - a[p * q + p]!) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < q; k++) {
          const akp = a[k * q + p]!;
          const akr = a[k * q + r]!;
          a[k * q + p] = c * akp - s * akr;
          a[k * q + r] = s * akp + c * akr;
        }
        for (let k = 0; k < q; k++) {
          const apk = a[p * q + k]!;
          const ark = a[r * q + k]!;
          a[p * q + k] = c * apk - s * ark;
          a[r * q + k] = s * apk + c * ark;
        }
        for (let k = 0; k < q; k++) {
          const vkp = v[k * q + p]!;
          const vkr = v[k * q + r]!;
          v[k * q + p] = c * vkp - s * vkr;
          v[k * q + r] = s * vkp + c * vkr;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: q }, (_, i) => a[i * q + i]!), v };
}

/**
 * The rank-q approximation of H (K×K, symmetric) given `times(m, rows)` =
 * m·H for a rows×K matrix m; q is capped at K.
 */
export async function lowRankGram(h: Float64Array, k: number, rank: number, times: (m: Float64Array, rows: number) => Promise<Float64Array>, seed: number): Promise<LowRankGram> {
  const q = Math.min(rank, k);
  const rng = new Rng(seed);
  let basis = Float64Array.from({ length: q * k }, () => rng.float() * 2 - 1);
  orthonormalRows(basis, q, k);
  for (let it = 0; it < SUBSPACE_ITERS; it++) {
    basis = Float64Array.from(await times(basis, q));
    orthonormalRows(basis, q, k);
  }
  // Rayleigh–Ritz: B = Q·H·Qᵀ, B = W·Λ·Wᵀ, U = Wᵀ·Q.
  const y = await times(basis, q);
  const b = new Float64Array(q * q);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += y[i * k + c]! * basis[j * k + c]!;
      b[i * q + j] = s;
      b[j * q + i] = s;
    }
  }
  const { values, v } = jacobiEigen(b, q);
  const order = Array.from({ length: q }, (_, i) => i).sort((x, z) => values[z]! - values[x]! || x - z);
  const u = new Float64Array(q * k);
  const lambda = new Float64Array(q);
  order.forEach((src, i) => {
    lambda[i] = Math.max(0, values[src]!);
    for (let j = 0; j < q; j++) {
      const w = v[j * q + src]!;
      if (w === 0) continue;
      for (let c = 0; c < k; c++) u[i * k + c] += w * basis[j * k + c]!;
    }
  });
  const d = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let i = 0; i < q; i++) s += lambda[i]! * u[i * k + c]! * u[i * k + c]!;
    d[c] = Math.max(0, h[c * k + c]! - s);
  }
  return { rank: q, u, lambda, d };
}
