/**
 * The remap op of the integer program, stated once: a gather whose index map
 * is fixed at compile time and separable per output axis,
 *
 *   y[i_0, …, i_{r−1}] = x[Σ_a offsets[a][i_a]]        (per sample, row-major)
 *
 * with offsets[a] a table of flat input offsets of length outShape[a]. No
 * arithmetic touches the values: a nearest Resize keeps the scale and the zero
 * point of its input, and so does the interleave of ConvTranspose's phases.
 * Like numerics/gather.ts the kernel is self-contained (no calls outside its
 * body).
 */

/** One sample: y (its output elements, row-major) from x by the per-axis offset tables (see the file comment). */
export function remapKernel(x: ArrayLike<number>, y: Int32Array, offsets: readonly ArrayLike<number>[], xBase: number, yBase: number): void {
  const rank = offsets.length;
  if (rank === 0) {
    y[yBase] = x[xBase]!;
    return;
  }
  const last = offsets[rank - 1]!;
  const inner = last.length;
  const idx = new Array<number>(rank).fill(0);
  // partial[a] = xBase + Σ_{b < a} offsets[b][idx[b]]
  const partial = new Array<number>(rank).fill(xBase);
  for (let a = 1; a < rank; a++) partial[a] = partial[a - 1]! + offsets[a - 1]![0]!;
  let o = yBase;
  for (;;) {
    const base = partial[rank - 1]!;
    for (let j = 0; j < inner; j++) y[o++] = x[base + last[j]!]!;
    let a = rank - 2;
    for (; a >= 0; a--) {
      if (++idx[a]! < offsets[a]!.length) break;
      idx[a] = 0;
    }
    if (a < 0) return;
    for (let b = a; b < rank - 1; b++) partial[b + 1] = partial[b]! + offsets[b]![idx[b]!]!;
  }
}

/** Row-major flat strides of a shape. */
export function flatStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** The offset tables of y[i_0, …] = x[src_0(i_0), src_1(i_1), …] for x of shape `inShape`: offsets[a][i] = src_a(i)·stride_a. */
export function axisGatherOffsets(inShape: readonly number[], sources: readonly (readonly number[])[]): Int32Array[] {
  const stride = flatStrides(inShape);
  return sources.map((src, a) => Int32Array.from(src, (i) => i * stride[a]!));
}

/** Why a remap cannot run (its tables do not match the output's axes, or reach outside the input), or undefined. */
export function remapIssue(offsets: readonly ArrayLike<number>[], inSize: number, outShape: readonly number[]): string | undefined {
  if (offsets.length !== outShape.length || offsets.some((t, a) => t.length !== outShape[a])) {
    return `index tables of lengths [${offsets.map((t) => t.length).join(",")}] do not match the output shape [${outShape.join(",")}]`;
  }
  let lo = 0;
  let hi = 0;
  for (const t of offsets) {
    let tlo = Number.POSITIVE_INFINITY;
    let thi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < t.length; i++) {
      if (!Number.isInteger(t[i])) return `index table entry ${t[i]} is not an integer`;
      tlo = Math.min(tlo, t[i]!);
      thi = Math.max(thi, t[i]!);
    }
    lo += tlo;
    hi += thi;
  }
  return lo >= 0 && hi < inSize ? undefined : `indices reach ${lo}…${hi}, outside the input's ${inSize} elements`;
}
