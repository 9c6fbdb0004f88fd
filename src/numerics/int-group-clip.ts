/**
 * Clipped group scales: the min-max scale of each group (int-group.ts
 * affineParams over [lo, hi]) shrunk by the factor that minimises the
 * group's squared rounding error,
 *
 *   α* = argmin_{α ∈ A} Σ_{i ∈ g} (w_i − x̂_i(α))²,   x̂(α) = DequantizeLinear(QuantizeLinear(w; s(α·lo, α·hi)))
 *
 * over A = {1, 1 − 1/n, …, αmin} (n + 1 − ⌈n·αmin⌉ candidates; ties keep the
 * larger α, so α = 1, the min-max scale, wins unless a smaller one is
 * strictly better). Shrinking the range clips the group's extremes to the
 * grid's ends and refines the step for every other element; at 4 bits the
 * step is a seventh of the range, so trading one clipped extreme for a finer
 * step over the 31 other weights of a block of 32 often lowers the error.
 * The error is plain squared error under QuantizeLinear's own arithmetic
 * (round half to even, saturation, float32 scales), so the α chosen is the
 * best of the candidates for what ONNX Runtime computes.
 */
import type { Groups } from "./groups.js";
import { affineParams, type IntRange, quantizeValue } from "./int-group.js";

export interface ClipSearch {
  /** Candidates per unit of α: the step of α is 1/steps. */
  readonly steps: number;
  /** The smallest shrink factor tried. */
  readonly minShrink: number;
}

/**
 * 1/100 steps down to 0.85. On the ViT's int4 blocks (bench:transformer, MatMuls only) the floor 0.85
 * gave an output KL against float at or below the floor 0.7's on every int4 row (nearest and GPTQ, b32 and b128).
 */
export const CLIP_SEARCH_DEFAULTS: ClipSearch = { steps: 100, minShrink: 0.85 };

/** Σ (w − x̂)² of `values` (one group) under one scale and zero point. */
export function groupSquaredError(values: ArrayLike<number>, scale: number, zeroPoint: number, f: IntRange): number {
  let e = 0;
  for (let i = 0; i < values.length; i++) {
    const w = values[i]!;
    const q = quantizeValue(w, scale, zeroPoint, f.qmin, f.qmax);
    const d = w - Math.fround((q - zeroPoint) * scale);
    e += d * d;
  }
  return e;
}

/** The scale and zero point of minimal squared error for one group's values, over the shrink factors of `search`. */
export function clippedParams(values: ArrayLike<number>, f: IntRange, symmetric: boolean, search: ClipSearch = CLIP_SEARCH_DEFAULTS): { scale: number; zeroPoint: number; shrink: number } {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let best = { ...affineParams(lo, hi, f, symmetric), shrink: 1 };
  if (lo === 0 && hi === 0) return best;
  let bestError = groupSquaredError(values, best.scale, best.zeroPoint, f);
  for (let k = search.steps - 1; k >= Math.ceil(search.steps * search.minShrink - 1e-9); k--) {
    const a = k / search.steps;
    const p = affineParams(a * lo, a * hi, f, symmetric);
    const e = groupSquaredError(values, p.scale, p.zeroPoint, f);
    if (e < bestError) {
      bestError = e;
      best = { ...p, shrink: a };
    }
  }
  return best;
}

/** clippedParams for every group of `values` (intGroupParams with the search). */
export function clippedGroupParams(values: ArrayLike<number>, groups: Groups, f: IntRange, symmetric = f.signed, search: ClipSearch = CLIP_SEARCH_DEFAULTS): { scale: Float32Array; zeroPoint: Int32Array } {
  const members: number[][] = Array.from({ length: groups.count }, () => []);
  for (let i = 0; i < values.length; i++) members[groups.of(i)]!.push(values[i]!);
  const scale = new Float32Array(groups.count);
  const zeroPoint = new Int32Array(groups.count);
  for (let g = 0; g < groups.count; g++) {
    const p = clippedParams(members[g]!, f, symmetric, search);
    scale[g] = p.scale;
    zeroPoint[g] = p.zeroPoint;
  }
  return { scale, zeroPoint };
}
