/**
 * Data between a model's layout and its integer program's. The program holds
 * samples first ([N, …shape], program.ts); a model whose samples run along
 * another axis (torch's seq-first x [seq, N, d]: `ProgramIo.batchAxis` 1)
 * has them moved to the front on the way in and back on the way out:
 *   y[i₀, …] = x[i_order₀, …]   with `order` the axes of x, axis `from` put at `to`.
 */

/** A C-order tensor of `dims` with axis `from` moved to position `to` (the data itself when they are equal). */
export function moveAxis<T extends Float32Array | Int32Array | Int8Array | Uint8Array | Int16Array | Uint16Array>(x: T, dims: readonly number[], from: number, to: number): T {
  if (from === to) return x;
  const order = dims.map((_, i) => i).filter((i) => i !== from);
  order.splice(to, 0, from);
  const outDims = order.map((i) => dims[i]!);
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new (x.constructor as new (n: number) => T)(x.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let k = 0; k < x.length; k++) {
    let src = 0;
    for (let j = 0; j < order.length; j++) src += idx[j]! * strides[order[j]!]!;
    out[k] = x[src]!;
    for (let j = outDims.length - 1; j >= 0 && ++idx[j]! === outDims[j]; j--) idx[j] = 0;
  }
  return out;
}
