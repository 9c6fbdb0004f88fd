/**
 * Data between a model's layout and its integer program's. The program holds
 * samples first ([N, …shape], program.ts); a model whose samples run along
 * another axis (torch's seq-first x [seq, N, d]: `ProgramIo.batchAxis` 1)
 * has them moved to the front on the way in and back on the way out:
 *   y[i₀, …] = x[i_order₀, …]   with `order` the axes of x, axis `from` put at `to`.
 */
import { permutationSources } from "../numerics/permute.js";

/** A C-order tensor of `dims` with axis `from` moved to position `to` (the data itself when they are equal). */
export function moveAxis<T extends Float32Array | Int32Array | Int8Array | Uint8Array | Int16Array | Uint16Array>(x: T, dims: readonly number[], from: number, to: number): T {
  if (from === to) return x;
  const order = dims.map((_, i) => i).filter((i) => i !== from);
  order.splice(to, 0, from);
  const map = permutationSources(dims, order);
  const out = new (x.constructor as new (n: number) => T)(x.length);
  for (let k = 0; k < map.length; k++) out[k] = x[map[k]!]!;
  return out;
}
