/**
 * Groups of elements that share one scale: per tensor, per channel, or per
 * block. A tensor of `dims` is read row-major; with
 *
 *   outer = Π dims[0..axis),  D = dims[axis],  inner = Π dims(axis..]
 *
 * element i sits at (o, k, j) = (⌊i / (D·inner)⌋, ⌊i / inner⌋ mod D, i mod inner).
 *
 *   per tensor:   group(i) = 0
 *   per channel:  group(i) = k                                 (D groups)
 *   per block B:  group(i) = (o·nb + ⌊k / B⌋)·inner + j,  nb = ⌈D / B⌉
 *
 * A block's scales are laid out like the tensor with dims[axis] replaced by
 * nb (`scaleDims`), as ONNX DequantizeLinear-21 expects, so the last block
 * along the axis may be shorter than B.
 */

export interface Groups {
  /** Number of groups (scale slots). */
  readonly count: number;
  /** The group of element i (row-major index). */
  of(i: number): number;
}

export interface BlockLayout extends Groups {
  readonly dims: readonly number[];
  readonly axis: number;
  readonly blockSize: number;
  readonly outer: number;
  /** dims[axis]. */
  readonly extent: number;
  readonly inner: number;
  /** ⌈extent / blockSize⌉ blocks along the axis. */
  readonly blocks: number;
  /** The scale tensor's dims: dims with dims[axis] replaced by `blocks`. */
  readonly scaleDims: readonly number[];
}

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export const tensorGroups: Groups = { count: 1, of: () => 0 };

/** One group per slice along `axis`; the whole tensor when axis < 0. */
export function channelGroups(dims: readonly number[], axis: number): Groups {
  if (axis < 0) return tensorGroups;
  const channels = dims[axis]!;
  const inner = product(dims.slice(axis + 1));
  return { count: channels, of: (i) => Math.floor(i / inner) % channels };
}

/** Blocks of `blockSize` consecutive elements along `axis`; the last may be shorter. */
export function blockLayout(dims: readonly number[], axis: number, blockSize: number): BlockLayout {
  if (!Number.isInteger(axis) || axis < 0 || axis >= dims.length) throw new RangeError(`block axis ${axis} is outside dims [${dims.join(",")}]`);
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`block size must be a positive integer, got ${blockSize}`);
  const extent = dims[axis]!;
  const outer = product(dims.slice(0, axis));
  const inner = product(dims.slice(axis + 1));
  const blocks = Math.ceil(extent / blockSize);
  const scaleDims = dims.map((d, k) => (k === axis ? blocks : d));
  return {
    dims,
    axis,
    blockSize,
    outer,
    extent,
    inner,
    blocks,
    scaleDims,
    count: outer * blocks * inner,
    of: (i) => {
      const o = Math.floor(i / (inner * extent));
      const k = Math.floor(i / inner) % extent;
      return (o * blocks + Math.floor(k / blockSize)) * inner + (i % inner);
    },
  };
}

/**
 * Visits every block: `visit(group, start, count, stride)` gets the block's
 * scale slot and its elements' indices start, start + stride, … (count of them).
 */
export function forEachBlock(l: BlockLayout, visit: (group: number, start: number, count: number, stride: number) => void): void {
  for (let o = 0; o < l.outer; o++) {
    for (let b = 0; b < l.blocks; b++) {
      const k0 = b * l.blockSize;
      const count = Math.min(l.blockSize, l.extent - k0);
      for (let j = 0; j < l.inner; j++) visit((o * l.blocks + b) * l.inner + j, (o * l.extent + k0) * l.inner + j, count, l.inner);
    }
  }
}

/** max |x| over each block (NaN when the block holds a NaN; Inf when it holds ±Inf). */
export function blockAbsMax(l: BlockLayout, x: ArrayLike<number>): Float64Array {
  const amax = new Float64Array(l.count);
  forEachBlock(l, (g, start, count, stride) => {
    let m = 0;
    for (let t = 0, i = start; t < count; t++, i += stride) {
      const a = Math.abs(x[i]!);
      if (a > m || Number.isNaN(a)) m = a; // a NaN, once seen, sticks: nothing compares greater than NaN
    }
    amax[g] = m;
  });
  return amax;
}
