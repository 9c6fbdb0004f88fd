/**
 * Lowers a 2-D ConvTranspose (strides, pads, output_padding, dilations,
 * groups; `output_shape` resolved at compile time) with a constant integer
 * weight to integer ops, exactly:
 *
 *   acc_r = bias + Σ (x − z_x)·W_r        one stride-1 conv per output phase r
 *                                         (conv-transpose-phases.ts, emitted by phase-convs.ts), int32, certified like any conv
 *   y_r   = clamp(requant(acc_r[c], m_c·2^−s_c) + z_y, lo, hi)   m_c·2^−s_c ≈ S_x·S_W[c]/S_y
 *   y     = remap(concat_r y_r)            the phases interleaved (y[o] = y_{o mod s}[⌊o/s⌋ + off])
 *
 * Requantizing per phase and interleaving after is the same as interleaving
 * the accumulators and requantizing once: requant is elementwise per channel.
 * A stride-1 ConvTranspose whose single phase already is the output needs no
 * remap. The weight [C, M/g, k_h, k_w] is quantized per tensor or along axis 1
 * (M/g scales: output channel o takes scale o mod M/g), as DequantizeLinear reads it.
 */
import { attrInt, attrInts, attrString } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { intBias, intWeight } from "./lower-linear.js";
import { emitPhaseLayer, type PhaseConv } from "./phase-convs.js";
import { activationTail } from "./activation-tail.js";
import { type LoweringContext, label } from "./lowering-context.js";
import { type AxisPlan, axisPlan, phaseWeight } from "./conv-transpose-phases.js";

interface Geometry {
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly padHead: [number, number];
}

/**
 * Strides, dilations and head pads. With `output_shape` the pads are derived
 * as the ONNX spec states for auto_pad NOTSET, and as ONNX Runtime does (the
 * pipeline test checks it): total = s·(H − 1) + output_padding + (k − 1)·d + 1 − O,
 * head = total − ⌊total/2⌋, tail = ⌊total/2⌋.
 */
function geometry(n: Node, inHW: readonly number[], kernel: readonly number[], outHW: readonly number[]): Geometry {
  const autoPad = attrString(n, "auto_pad") ?? "NOTSET";
  if (autoPad !== "NOTSET" && autoPad !== "VALID") throw new FixqError("unsupported", `cannot integerize: ${label(n)} uses auto_pad ${autoPad}; export the model with explicit pads or output_shape`);
  const two = (name: string, dflt: number): [number, number] => {
    const v = attrInts(n, name) ?? [dflt, dflt];
    if (v.length !== 2) throw new FixqError("unsupported", `cannot integerize: ${label(n)} is not a 2-D ConvTranspose (${name} [${v.join(",")}])`);
    return [v[0]!, v[1]!];
  };
  const strides = two("strides", 1);
  const dilations = two("dilations", 1);
  const outPad = two("output_padding", 0);
  if (attrInts(n, "output_shape")) {
    const head = [0, 1].map((a) => {
      const total = Math.max(0, strides[a]! * (inHW[a]! - 1) + outPad[a]! + (kernel[a]! - 1) * dilations[a]! + 1 - outHW[a]!);
      return total - Math.floor(total / 2);
    });
    return { strides, dilations, padHead: [head[0]!, head[1]!] };
  }
  const pads = autoPad === "VALID" ? [0, 0, 0, 0] : (attrInts(n, "pads") ?? [0, 0, 0, 0]);
  if (pads.length !== 4) throw new FixqError("unsupported", `cannot integerize: ${label(n)} is not a 2-D ConvTranspose (pads [${pads.join(",")}])`);
  return { strides, dilations, padHead: [pads[0]!, pads[1]!] };
}

export function lowerConvTranspose(ctx: LoweringContext, n: Node): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const w = intWeight(ctx, n, 1, 1);
  if (w.dims.length !== 4) throw new FixqError("unsupported", `cannot integerize: ${label(n)} is a ${w.dims.length - 2}-D ConvTranspose; only 2-D is supported`);
  const group = attrInt(n, "group", 1);
  const [C, Mg, kh, kw] = w.dims as [number, number, number, number];
  const M = Mg * group;
  const inShape = ctx.values.get(x)!.shape;
  if (inShape.length !== 3 || inShape[0] !== C) throw new FixqError("unsupported", `cannot integerize: ${label(n)} input [${inShape.join(",")}] does not match its weight's ${C} input channels`);
  const shape = ctx.sampleShape(n.outputs[0]!, label(n));
  const g = geometry(n, inShape.slice(1), [kh, kw], shape.slice(1));
  const plans: [AxisPlan, AxisPlan] = [
    axisPlan(inShape[1]!, kh, g.strides[0], g.dilations[0], g.padHead[0], shape[1]!),
    axisPlan(inShape[2]!, kw, g.strides[1], g.dilations[1], g.padHead[1], shape[2]!),
  ];
  const sw = Float64Array.from({ length: M }, (_, o) => w.scales[w.scales.length === M ? o : o % w.scales.length]!);
  const bias = intBias(ctx, n, 2, xs.scale, sw);
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const [ph, pw] = plans;
  const convs = ph.phases.flatMap((a) =>
    pw.phases.map((b) => {
      const pw8 = phaseWeight(w.q, w.dims, group, a.taps, b.taps);
      const conv: PhaseConv = { weight: pw8.weight, weightShape: pw8.shape, pads: [a.padHead, b.padHead, a.padTail, b.padTail], dilations: [a.dilation, b.dilation] };
      return conv;
    }),
  );
  emitPhaseLayer(ctx, n, { input: x, convs, layouts: plans, group, weightType: w.type, ...(bias ? { bias } : {}), weightScales: sw, shape, tail });
}
