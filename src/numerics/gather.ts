/**
 * The integer arithmetic of the index ops of the integer program (BERT-style
 * embeddings and the CLS token), stated once. Like numerics/transformer.ts,
 * each kernel is self-contained (no calls outside its body): the emulator
 * calls it and the generated JS embeds its source text.
 *
 *   gather  y[i, :] = T[r, :],  r = idx[i] (+ rows when −rows ≤ idx[i] < 0; ONNX Gather),
 *           T [rows, width] the output codes of each table row; an index
 *           outside [−rows, rows) is an error, as in ONNX Runtime
 *   slice   y = x[…, start:end, …] along one per-sample axis (outer × L × inner
 *           blocks, the rows start … end − 1 of each)
 *
 * The table of an embedding is computed at compile time from the QDQ model:
 *   T[r, j] = Q_y(float32((u[r, j] − z_b)·s_b))   (b = the block of column j in row r)
 * which is GatherBlockQuantized's dequantization followed by the output's
 * QuantizeLinear, so each row is exactly the fake-quantized model's.
 */

/** y[i·width + j] = table[r·width + j] for each index (see the file comment). */
export function gatherKernel(idx: ArrayLike<number>, y: Int32Array, table: ArrayLike<number>, rows: number, width: number): void {
  for (let i = 0; i < idx.length; i++) {
    let r = idx[i]!;
    if (r < 0) r += rows;
    if (!(r >= 0 && r < rows)) throw new RangeError(`gather: index ${idx[i]} is outside [${-rows}, ${rows})`);
    const src = r * width;
    const dst = i * width;
    for (let j = 0; j < width; j++) y[dst + j] = table[src + j]!;
  }
}

/** Rows start … end − 1 of every (outer × L × inner) block of x, in order. */
export function sliceKernel(x: ArrayLike<number>, y: Int32Array, outer: number, L: number, inner: number, start: number, end: number): void {
  const n = (end - start) * inner;
  let o = 0;
  for (let b = 0; b < outer; b++) {
    const src = (b * L + start) * inner;
    for (let k = 0; k < n; k++) y[o++] = x[src + k]!;
  }
}

/**
 * GatherBlockQuantized's dequantized table, float32: w[r, j] = float32((u[r, j] − z[r, ⌊j/B⌋])·s[r, ⌊j/B⌋])
 * for 8-bit codes u [rows, width], blocks of B along the row.
 */
export function blockDequantizeRows(u: ArrayLike<number>, zeros: ArrayLike<number>, scales: ArrayLike<number>, rows: number, width: number, block: number): Float32Array {
  const per = Math.ceil(width / block);
  const w = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < width; j++) {
      const b = r * per + Math.floor(j / block);
      w[r * width + j] = Math.fround((u[r * width + j]! - zeros[b]!) * Math.fround(scales[b]!));
    }
  }
  return w;
}
