/**
 * The source index of every output position of a nearest-mode Resize or
 * Upsample along one axis, computed at compile time as ONNX defines it and as
 * ONNX Runtime evaluates it (float32 arithmetic, each step rounded to float32):
 *
 *   x_orig = T(x_out)                      the coordinate transformation mode:
 *     half_pixel            (x + 0.5)/s − 0.5
 *     half_pixel_symmetric  L_in/2·(1 − L_out/(s·L_in)) + (x + 0.5)/s − 0.5
 *     pytorch_half_pixel    L_out > 1 ? (x + 0.5)/s − 0.5 : 0
 *     tf_half_pixel_for_nn  (x + 0.5)/s
 *     align_corners         L_out = 1 ? 0 : x·(L_in − 1)/(L_out − 1)
 *     asymmetric            x/s
 *   src = clamp(N(x_orig), 0, L_in − 1)    the nearest mode N:
 *     round_prefer_floor    floor on exact halves, else round (half away from 0)
 *     round_prefer_ceil     round (half away from 0)
 *     floor, ceil
 *     simple                (opset < 11: Resize-10, Upsample) ceil when s < 1, else truncation
 *
 * An axis of scale 1 keeps its positions (ONNX Runtime skips it; only
 * tf_half_pixel_for_nn would otherwise move it by half a pixel).
 * s is the axis's float32 scale: the `scales` constant, or float32(L_out)/float32(L_in)
 * when `sizes` is given. Resize-10 and Upsample use asymmetric with `simple`.
 */
export type CoordinateMode = "half_pixel" | "half_pixel_symmetric" | "pytorch_half_pixel" | "tf_half_pixel_for_nn" | "align_corners" | "asymmetric";
export type NearestMode = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil" | "simple";

export const COORDINATE_MODES: readonly CoordinateMode[] = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "tf_half_pixel_for_nn", "align_corners", "asymmetric"];
export const NEAREST_MODES: readonly NearestMode[] = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

const f = Math.fround;

/** C's std::round on a float: half away from zero. */
function roundAway(x: number): number {
  return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

/** The original coordinate of output position x (float32 steps). */
export function originalCoordinate(mode: CoordinateMode, x: number, scale: number, lenIn: number, lenOut: number): number {
  const s = f(scale);
  const centered = f(f(f(x + 0.5) / s) - 0.5);
  switch (mode) {
    case "asymmetric":
      return f(x / s);
    case "half_pixel":
      return centered;
    case "pytorch_half_pixel":
      return lenOut > 1 ? centered : 0;
    case "tf_half_pixel_for_nn":
      return f(f(x + 0.5) / s);
    case "align_corners":
      return lenOut === 1 ? 0 : f(f(x * (lenIn - 1)) / (lenOut - 1));
    case "half_pixel_symmetric": {
      const width = f(s * lenIn);
      const adjustment = f(lenOut / width);
      const center = f(lenIn / 2);
      const offset = f(center * f(1 - adjustment));
      return f(f(offset + f(f(x + 0.5) / s)) - 0.5);
    }
  }
}

/** The nearest integer position to `x` under `mode` (not yet clamped). */
export function nearestPixel(mode: NearestMode, x: number, downsample: boolean): number {
  switch (mode) {
    case "simple":
      return downsample ? Math.ceil(x) : Math.trunc(x);
    case "round_prefer_ceil":
      return roundAway(x);
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    case "round_prefer_floor":
      return x === f(Math.trunc(x) + 0.5) ? Math.floor(x) : roundAway(x);
  }
}

/** Source index along one axis for each of the lenOut output positions. */
export function nearestSources(coord: CoordinateMode, nearest: NearestMode, scale: number, lenIn: number, lenOut: number): number[] {
  const out: number[] = [];
  // ONNX Runtime keeps an axis of scale 1 as it is (this matters for tf_half_pixel_for_nn only)
  if (f(scale) === 1 && lenIn === lenOut) return Array.from({ length: lenOut }, (_, x) => x);
  for (let x = 0; x < lenOut; x++) {
    const i = nearestPixel(nearest, originalCoordinate(coord, x, scale, lenIn, lenOut), f(scale) < 1);
    out.push(Math.min(Math.max(i, 0), lenIn - 1));
  }
  return out;
}
