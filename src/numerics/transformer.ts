/**
 * The integer arithmetic of the transformer ops of the integer program, stated
 * once. Each kernel is a self-contained function over whole row blocks (no
 * calls outside its own body, only Math): the emulator calls it, and the
 * generated JS embeds its source text (`fn.toString()`), so both run the same
 * arithmetic. Every integer intermediate stays below 2^53 in magnitude over the
 * domain the lowering checks (integer/lower-transformer.ts), so doubles hold
 * each exactly; divisions are floor divisions corrected to be exact.
 *
 *   matmul     acc[b, i, j] = Σ_k (a[b, i, k] − za)·(c[b, k, j] − zc)                       (int32)
 *   mul        acc[b, i] = (a[b, i_a] − za)·(c[b, i_c] − zc), i_a and i_c the ONNX (numpy) broadcast
 *              of the output index i over per-sample shapes of one rank, an axis of a or c equal
 *              to the output's or 1 (int32: the lowering bounds |a − za|·|c − zc| < 2^31)
 *   table      y = T[x − xmin]                                  (an exact table of an 8-bit input)
 *   softmax    per row of L: d_i = max − x_i, e_i = E[d_i] (E[d] = round(2^15·exp(−d·S_x))),
 *              Σ = Σ e_i, y_i = clamp(z + ⌊(e_i·c + Σ·2^(r−1)) / (Σ·2^r)⌋, lo, hi)
 *              with c·2^−r ≈ 1/S_y: round(e_i / (Σ·S_y)), half up; with a key mask m (m_i ≠ 0: excluded),
 *              max and Σ run over the kept keys and an excluded key's y_i = clamp(z, lo, hi) (probability 0)
 *   layernorm  per row of C: s = Σ x_j (RMSNorm: s = C·z_x, no mean), c_i = C·x_i − s, V = Σ c_i²,
 *              D = ⌊√(V·4^k + E)⌋ (exact floor square root),
 *              y_i = clamp(z + ⌊(c_i·g_i + b_i·D + D·2^(F−1)) / (D·2^F)⌋, lo, hi)
 *              with g_i = round(γ_i·√C·2^(k+F) / S_y), b_i = round(β_i·2^F / S_y),
 *              E = round(ε·C³·4^k / S_x²) ≥ 1; the real result is
 *              (γ_i·(x_i − mean)/√(var + ε) + β_i) / S_y + z, the error of D is < 1 in 2^k·√V;
 *              for RMSNorm (s = C·z_x, β = 0) c_i = C·(x_i − z_x) and the same steps give
 *              γ_i·x_i/√(mean(x²) + ε) / S_y + z: RMSNorm is this LayerNorm without the mean
 *   addconst   y = clamp(z + rshr((x − zx)·m + o[i], s), lo, hi), o the constant pre-scaled
 *              (o[i] = round(C[i]·2^s / S_y) over the trailing axes C spans, repeated: o[i mod |o|])
 */

/** a [rows·M·K] times c [rows·K·N] → acc [rows·M·N], zero points subtracted first. */
export function matmulKernel(a: ArrayLike<number>, za: number, c: ArrayLike<number>, zc: number, acc: Int32Array | Float64Array, rows: number, M: number, K: number, N: number): void {
  for (let b = 0; b < rows; b++) {
    const ao = b * M * K;
    const co = b * K * N;
    const yo = b * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (a[ao + i * K + k]! - za) * (c[co + k * N + j]! - zc);
        acc[yo + i * N + j] = s;
      }
    }
  }
}

/** Elementwise product a ⊙ c over `batch` samples of shape `yShape` (see the file comment); a and c broadcast per sample. */
export function mulKernel(
  a: ArrayLike<number>,
  za: number,
  c: ArrayLike<number>,
  zc: number,
  acc: Int32Array | Float64Array,
  batch: number,
  yShape: ArrayLike<number>,
  aShape: ArrayLike<number>,
  cShape: ArrayLike<number>,
): void {
  const r = yShape.length;
  let size = 1;
  let aSize = 1;
  let cSize = 1;
  for (let d = 0; d < r; d++) {
    size *= yShape[d]!;
    aSize *= aShape[d]!;
    cSize *= cShape[d]!;
  }
  // per-sample offsets of each output element in a and c (a broadcast axis has stride 0)
  const ia = new Int32Array(size);
  const ic = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    let rest = i;
    let oa = 0;
    let oc = 0;
    let sa = 1;
    let sc = 1;
    for (let d = r - 1; d >= 0; d--) {
      const n = yShape[d]!;
      const k = rest % n;
      rest = (rest - k) / n;
      if (aShape[d] !== 1) oa += k * sa;
      if (cShape[d] !== 1) oc += k * sc;
      sa *= aShape[d]!;
      sc *= cShape[d]!;
    }
    ia[i] = oa;
    ic[i] = oc;
  }
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < size; i++) acc[b * size + i] = (a[b * aSize + ia[i]!]! - za) * (c[b * cSize + ic[i]!]! - zc);
  }
}

/** y[i] = table[x[i] − xmin]. */
export function tableKernel(x: ArrayLike<number>, y: Int32Array, table: ArrayLike<number>, xmin: number): void {
  for (let i = 0; i < y.length; i++) y[i] = table[x[i]! - xmin]!;
}

/**
 * Softmax over rows of L (see the file comment); `exp` is indexed by max − x.
 * With `mask` (same length as x), a key whose mask entry is not 0 is excluded:
 * it takes no part in the max or the sum, and its output is clamp(z), the code
 * of probability 0 (an attention mask of −inf, passes/key-mask.ts). A row
 * whose keys are all excluded is all clamp(z) (float Softmax gives NaN there).
 */
export function softmaxKernel(
  x: ArrayLike<number>,
  y: Int32Array,
  L: number,
  exp: ArrayLike<number>,
  c: number,
  r: number,
  z: number,
  lo: number,
  hi: number,
  mask: ArrayLike<number> | null = null,
): void {
  const half = 2 ** (r - 1);
  const unit = 2 ** r;
  const zero = z < lo ? lo : z > hi ? hi : z;
  for (let o = 0; o < y.length; o += L) {
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < L; i++) if ((mask === null || mask[o + i] === 0) && x[o + i]! > max) max = x[o + i]!;
    let sum = 0;
    for (let i = 0; i < L; i++) if (mask === null || mask[o + i] === 0) sum += exp[max - x[o + i]!]!;
    const den = sum * unit;
    for (let i = 0; i < L; i++) {
      if (mask !== null && mask[o + i] !== 0) {
        y[o + i] = zero;
        continue;
      }
      const num = exp[max - x[o + i]!]! * c + sum * half;
      let q = Math.floor(num / den);
      if (q * den > num) q--;
      else if ((q + 1) * den <= num) q++;
      const v = z + q;
      y[o + i] = v < lo ? lo : v > hi ? hi : v;
    }
  }
}

/** The largest additive mask value that excludes a key: BERT's −10000 (torch writes −inf; HF's finfo.min is below too). */
export const MASKED_KEY_LIMIT = -10000;

/**
 * What an additive attention mask value t does to its key (passes/key-mask.ts):
 * "keep" for t = 0, "exclude" for t ≤ MASKED_KEY_LIMIT (−inf included: the
 * float Softmax gives the key probability exactly 0 whenever the row's scores
 * span less than 10^4 − 104, where exp underflows float32), undefined for any
 * other t (a bias, not a mask: the integer Softmax has no form for it).
 */
export function maskedKey(t: number): "keep" | "exclude" | undefined {
  if (t === 0) return "keep";
  return t <= MASKED_KEY_LIMIT ? "exclude" : undefined;
}

/** LayerNormalization over rows of C (see the file comment); with `rmsZero` a number, RMSNormalization of inputs at that zero point. */
export function layerNormKernel(
  x: ArrayLike<number>,
  y: Int32Array,
  C: number,
  g: ArrayLike<number>,
  b: ArrayLike<number>,
  k: number,
  F: number,
  E: number,
  z: number,
  lo: number,
  hi: number,
  rmsZero: number | null = null,
): void {
  const scaleK = 4 ** k;
  const unit = 2 ** F;
  const half = 2 ** (F - 1);
  for (let o = 0; o < y.length; o += C) {
    let s = 0;
    if (rmsZero === null) for (let i = 0; i < C; i++) s += x[o + i]!;
    else s = C * rmsZero;
    let V = 0;
    for (let i = 0; i < C; i++) {
      const ci = C * x[o + i]! - s;
      V += ci * ci;
    }
    const n = V * scaleK + E;
    let D = Math.floor(Math.sqrt(n));
    while (D * D > n) D--;
    while ((D + 1) * (D + 1) <= n) D++;
    const den = D * unit;
    for (let i = 0; i < C; i++) {
      const ci = C * x[o + i]! - s;
      const num = ci * g[i]! + b[i]! * D + D * half;
      let q = Math.floor(num / den);
      if (q * den > num) q--;
      else if ((q + 1) * den <= num) q++;
      const v = z + q;
      y[o + i] = v < lo ? lo : v > hi ? hi : v;
    }
  }
}

/** y = clamp(z + rshr((x − zx)·m + offset[i mod n], s), lo, hi), n = offset.length (the trailing axes it spans). */
export function addConstKernel(
  x: ArrayLike<number>,
  y: Int32Array,
  zx: number,
  m: number,
  offset: ArrayLike<number>,
  s: number,
  z: number,
  lo: number,
  hi: number,
): void {
  const n = offset.length;
  const half = s === 0 ? 0 : 2 ** (s - 1);
  const unit = 2 ** s;
  for (let i = 0; i < y.length; i++) {
    const t = (x[i]! - zx) * m + offset[i % n]! + half;
    const v = z + Math.floor(t / unit);
    y[i] = v < lo ? lo : v > hi ? hi : v;
  }
}
