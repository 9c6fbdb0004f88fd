/**
 * Lowers a nearest-mode Resize or Upsample to a `remap` (program.ts): pure
 * index movement on the quantized values, so the scale and zero point pass
 * through (a rescale follows only when the model quantizes the output
 * differently). Along each per-sample axis a of the input [d_1, …, d_r]:
 *
 *   y[i_1, …, i_r] = x[src_1(i_1), …, src_r(i_r)],   offsets[a][i] = src_a(i)·stride_a(x)
 *
 * with src_a from resize-index.ts (ONNX's coordinate transformation and
 * nearest modes, in ONNX Runtime's float32 steps). Scales or sizes must be
 * constants (after shape folding); the batch axis must keep its size. Linear
 * mode (interpolation, not movement) goes to lower-resize-linear.ts; cubic
 * mode, tf_crop_and_resize, `axes` and a keep_aspect_ratio_policy other than
 * stretch are refused in one line.
 */
import { attrFloats, attrString } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { axisGatherOffsets } from "../numerics/remap.js";
import { finishMovement } from "./lower-elementwise.js";
import { linearCoordinateMode, lowerResizeLinear } from "./lower-resize-linear.js";
import { type LoweringContext, label } from "./lowering-context.js";
import { COORDINATE_MODES, type CoordinateMode, NEAREST_MODES, type NearestMode, nearestSources } from "./resize-index.js";

/** The float32 scale of every axis (the batch axis included): the `scales` constant, or float32(out)/float32(in) from `sizes`. */
function axisScales(ctx: LoweringContext, n: Node, inDims: readonly number[], outDims: readonly number[], legacy: boolean): number[] {
  const constant = (slot: number): number[] | undefined => {
    const name = n.inputs[slot];
    if (!name) return undefined;
    const t = ctx.consts.get(name);
    if (!t) throw new FixqError("unsupported", `cannot integerize: ${label(n)} takes its ${slot === 3 ? "sizes" : "scales"} from '${name}', which is not a constant; export with constant scales or sizes`);
    const v = Array.from(tensorToFloat64(t));
    return v.length > 0 ? v : undefined;
  };
  const rank = inDims.length;
  const scales = n.opType === "Upsample" && n.inputs.length < 2 ? attrFloats(n, "scales") : constant(legacy ? 1 : 2);
  const sizes = legacy ? undefined : constant(3);
  let out: number[];
  if (sizes) {
    const batch = ctx.types.get(n.inputs[0]!)?.shape?.[0];
    if (sizes[0] !== batch) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has sizes fixing the batch at ${sizes[0]}, the input's batch is ${typeof batch === "number" ? batch : `symbolic ('${batch ?? "?"}')`}; export with scales, or with a static batch`);
    out = [1, ...outDims.slice(1).map((d, a) => Math.fround(Math.fround(d) / Math.fround(inDims[a + 1]!)))];
  }
  else if (scales) out = scales.map((s) => Math.fround(s));
  else throw new FixqError("model", `${label(n)} has neither scales nor sizes`);
  if (out.length !== rank) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has ${out.length} scales for a rank-${rank} input`);
  return out;
}

export function lowerResize(ctx: LoweringContext, n: Node): void {
  const mode = attrString(n, "mode") ?? "nearest";
  if (mode !== "nearest" && mode !== "linear") {
    throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses mode '${mode}'; integer code covers modes 'nearest' (a gather of the quantized values) and 'linear' (whole factors); export with one of them or keep this part in float`);
  }
  // Resize-10 (X, scales) and Upsample: asymmetric coordinates, ONNX Runtime's "simple" rounding
  const legacy = n.opType === "Upsample" || n.inputs.length === 2;
  if (n.attributes.some((a) => a.name === "axes")) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has the axes attribute; export with scales or sizes for every axis`);
  const policy = attrString(n, "keep_aspect_ratio_policy") ?? "stretch";
  if (policy !== "stretch") throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses keep_aspect_ratio_policy '${policy}'; only 'stretch' is covered`);
  if (mode === "linear") {
    linearCoordinateMode(n, legacy);
    const x = ctx.intInput(n.inputs[0]!, n);
    const inShape = ctx.values.get(x)!.shape;
    const scales = axisScales(ctx, n, [1, ...inShape], [1, ...ctx.sampleShape(n.outputs[0]!, label(n))], legacy);
    if (scales[0] !== 1) throw new FixqError("unsupported", `cannot integerize: ${label(n)} resizes the batch axis (scale ${scales[0]})`);
    lowerResizeLinear(ctx, n, legacy, scales.slice(1));
    return;
  }
  const coord = (legacy ? "asymmetric" : (attrString(n, "coordinate_transformation_mode") ?? "half_pixel")) as CoordinateMode;
  const nearest = (legacy ? "simple" : (attrString(n, "nearest_mode") ?? "round_prefer_floor")) as NearestMode;
  if (!COORDINATE_MODES.includes(coord)) throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses coordinate_transformation_mode '${coord}'; integer code covers ${COORDINATE_MODES.join(", ")}`);
  if (nearest !== "simple" && !NEAREST_MODES.includes(nearest)) throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses nearest_mode '${nearest}'; integer code covers ${NEAREST_MODES.join(", ")}`);
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const inShape = ctx.values.get(x)!.shape;
  const shape = ctx.sampleShape(n.outputs[0]!, label(n));
  if (shape.length !== inShape.length) throw new FixqError("unsupported", `cannot integerize: ${label(n)} changes the rank`);
  const scales = axisScales(ctx, n, [1, ...inShape], [1, ...shape], legacy);
  if (scales[0] !== 1) throw new FixqError("unsupported", `cannot integerize: ${label(n)} resizes the batch axis (scale ${scales[0]})`);
  const sources = shape.map((len, a) => nearestSources(coord, nearest, scales[a + 1]!, inShape[a]!, len));
  const out = ctx.addValue(`${n.outputs[0]}_q`, shape, xs.type, xs);
  ctx.ops.push({ kind: "remap", source: label(n), input: x, output: out, offsets: axisGatherOffsets(inShape, sources) });
  finishMovement(ctx, n, out);
}
