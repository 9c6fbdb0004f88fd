/**
 * The index map of an axis permutation (ONNX Transpose) of a row-major
 * tensor of shape `dims`:
 *   y[i₀, …, i_{r−1}] = x[j]  with  j = Σ_a i_a · stride_x[perm[a]],
 * the output of shape [dims[perm[0]], …] in row-major order. One definition
 * for every place that moves data by a permutation: the emulator's transpose,
 * constant folding, and a model's batch axis moved to the program's front.
 */
import { flatStrides } from "./remap.js";

/** For each output element k (row-major), the flat input index it reads. `perm` must be a permutation of 0…rank−1. */
export function permutationSources(dims: readonly number[], perm: readonly number[]): Int32Array {
  const rank = dims.length;
  const inStrides = flatStrides(dims);
  const outDims = perm.map((p) => dims[p]!);
  const size = outDims.reduce((a, b) => a * b, 1);
  const map = new Int32Array(size);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < size; k++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += idx[a]! * inStrides[perm[a]!]!;
    map[k] = src;
    for (let a = rank - 1; a >= 0 && ++idx[a]! === outDims[a]; a--) idx[a] = 0;
  }
  return map;
}
