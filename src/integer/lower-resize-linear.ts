/**
 * Lowers a linear-mode Resize (bilinear) by integer factors s_h, s_w to
 * integer ops. Along an axis, output o = q·s + r reads the input at
 * x_orig = q + δ_r, with δ_r = r/s (asymmetric) or (r + ½)/s − ½ (half_pixel,
 * pytorch_half_pixel, half_pixel_symmetric: the same at integer factors);
 * its taps are q + b_r and q + b_r + 1 (b_r = ⌊δ_r⌋ ∈ {−1, 0}) with weights
 * 1 − f_r and f_r (f_r = δ_r − b_r). ONNX Runtime clamps x_orig into
 * [0, L − 1]; reading an input padded by one replicated edge pixel on each
 * side gives the same values. So, per output phase (r_h, r_w):
 *
 *   acc = Σ_{a,b ∈ {0,1}} w_h[r_h][a]·w_w[r_w][b]·(x_pad[c, q_h + b_h + 1 + a, q_w + b_w + 1 + b] − z_x)
 *   y   = clamp(requant(acc, S_x / (2^(F_h+F_w)·S_y)) + z_y, lo, hi)
 *
 * with integer weights w = f·2^F summing to 2^F: exact (dyadic) when s is a
 * power of two (F = log2(2s) at most), else rounded at F = 7. x_pad is a
 * `remap` of x (edge replication), each phase a depthwise 2×2 `conv`, and
 * the phases interleave through phase-convs.ts. The only rounding is the
 * requant's (the interpolation itself is exact for powers of two).
 * align_corners (taps that move with the position), fractional factors and
 * downsampling go to lower-resize-matrix.ts; resizing N or C, cubic mode and
 * antialiased downsampling are refused in one line.
 */
import { attrInt, attrString } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { axisGatherOffsets } from "../numerics/remap.js";
import { narrowestIntType } from "../quant/format-annotation.js";
import { activationTail } from "./activation-tail.js";
import type { PhaseLayout } from "./conv-transpose-phases.js";
import { type LoweringContext, label } from "./lowering-context.js";
import { emitPhaseLayer, type PhaseConv } from "./phase-convs.js";
import { lowerResizeMatrix } from "./lower-resize-matrix.js";
import type { CoordinateMode } from "./resize-index.js";

const HALF_PIXEL = new Set(["half_pixel", "pytorch_half_pixel", "half_pixel_symmetric"]);
/** Fraction bits of a rounded (non-dyadic) tap weight. */
const ROUNDED_BITS = 7;

interface AxisTaps {
  /** Per phase: the first tap's offset b_r + 1 into the padded input, and the integer weights of the two taps. */
  readonly phases: readonly { readonly offset: number; readonly weights: readonly [number, number] }[];
  readonly bits: number;
}

/** The two taps of every phase along one axis at integer factor s. */
export function linearTaps(s: number, halfPixel: boolean): AxisTaps {
  const deltas = Array.from({ length: s }, (_, r) => (halfPixel ? (r + 0.5) / s - 0.5 : r / s));
  let bits = 0;
  while (bits < 12 && !deltas.every((d) => Number.isInteger((d - Math.floor(d)) * 2 ** bits))) bits++;
  if (bits === 12) bits = ROUNDED_BITS;
  const one = 2 ** bits;
  return {
    bits,
    phases: deltas.map((d) => {
      const base = Math.floor(d);
      const f = Math.round((d - base) * one);
      return { offset: base + 1, weights: [one - f, f] as const };
    }),
  };
}

/** The whole factor of one axis (out = s·in, and the float32 scale is s), or undefined. */
function wholeFactor(inLen: number, outLen: number, scale: number): number | undefined {
  const s = outLen / inLen;
  return Number.isInteger(s) && s >= 1 && scale === s ? s : undefined;
}

/** The coordinate transformation mode of a linear Resize, or a refusal naming it. */
export function linearCoordinateMode(n: Node, legacy: boolean): string {
  const coord = legacy ? "asymmetric" : (attrString(n, "coordinate_transformation_mode") ?? "half_pixel");
  if (coord !== "asymmetric" && coord !== "align_corners" && !HALF_PIXEL.has(coord)) {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses mode 'linear' with coordinate_transformation_mode '${coord}'; integer linear resizing covers half_pixel, pytorch_half_pixel, half_pixel_symmetric, align_corners and asymmetric`);
  }
  return coord;
}

/** `scales`: the float32 scale of every per-sample axis (resize-index.ts's axisScales without the batch). */
export function lowerResizeLinear(ctx: LoweringContext, n: Node, legacy: boolean, scales: readonly number[]): void {
  const coord = linearCoordinateMode(n, legacy);
  const x = ctx.intInput(n.inputs[0]!, n);
  const inShape = ctx.values.get(x)!.shape;
  const shape = ctx.sampleShape(n.outputs[0]!, label(n));
  if (inShape.length !== 3 || shape.length !== 3) throw new FixqError("unsupported", `cannot integerize: ${label(n)} is a linear Resize of a rank-${inShape.length + 1} tensor; integer code covers [N, C, H, W]`);
  if (shape[0] !== inShape[0] || scales[0] !== 1) throw new FixqError("unsupported", `cannot integerize: ${label(n)} resizes the channel axis`);
  const [C, H, W] = inShape as [number, number, number];
  const sh = wholeFactor(H, shape[1]!, scales[1]!);
  const sw = wholeFactor(W, shape[2]!, scales[2]!);
  if (sh === undefined || sw === undefined || coord === "align_corners") {
    if (scales.some((s) => s < 1) && attrInt(n, "antialias", 0) !== 0) throw new FixqError("unsupported", `cannot integerize: ${label(n)} downsamples with antialias; integer linear resizing covers antialias 0`);
    lowerResizeMatrix(ctx, n, coord as CoordinateMode, scales);
    return;
  }
  const taps = [linearTaps(sh, coord !== "asymmetric"), linearTaps(sw, coord !== "asymmetric")] as const;
  // x padded by one replicated pixel on each side of H and W
  const clampRange = (len: number) => Array.from({ length: len + 2 }, (_, i) => Math.min(Math.max(i - 1, 0), len - 1));
  const xs = ctx.specOfInt(x);
  const padded = ctx.addValue(`${n.outputs[0]}_edge`, [C, H + 2, W + 2], xs.type, xs);
  ctx.ops.push({ kind: "remap", source: label(n), input: x, output: padded, offsets: axisGatherOffsets(inShape, [Array.from({ length: C }, (_, c) => c), clampRange(H), clampRange(W)]) });
  const [th, tw] = taps;
  const convs = th.phases.flatMap((a) =>
    tw.phases.map((b) => {
      const k = [a.weights[0] * b.weights[0], a.weights[0] * b.weights[1], a.weights[1] * b.weights[0], a.weights[1] * b.weights[1]];
      const conv: PhaseConv = { weight: Int32Array.from({ length: 4 * C }, (_, i) => k[i % 4]!), weightShape: [C, 1, 2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] };
      return conv;
    }),
  );
  const layouts: [PhaseLayout, PhaseLayout] = [
    { phases: th.phases, length: H + 1 },
    { phases: tw.phases, length: W + 1 },
  ];
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const max = 2 ** (th.bits + tw.bits);
  emitPhaseLayer(ctx, n, {
    input: padded,
    convs,
    layouts,
    group: C,
    weightType: narrowestIntType(0, max, true),
    weightScales: new Float64Array(C).fill(1 / max),
    shape,
    tail,
  });
}
