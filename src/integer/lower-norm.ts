/**
 * LayerNormalization, RMSNormalization and ReduceMean on integer activations.
 *
 * LayerNormalization over the last axis of C (numerics/transformer.ts
 * layerNormKernel): with s = Σ x_j, c_i = C·x_i − s, V = Σ c_i²,
 *   x̂_i = (x_i − mean) / √(var + ε) = c_i·√C / √(V + ε·C³/S_x²)
 * (the zero point and S_x cancel), so with D = ⌊√(V·4^k + E)⌋, E = round(ε·C³·4^k / S_x²),
 *   y_i = z + round((γ_i·x̂_i + β_i) / S_y) ≈ z + ⌊(c_i·g_i + b_i·D + D·2^(F−1)) / (D·2^F)⌋,
 *   g_i = round(γ_i·√C·2^(k+F) / S_y),  b_i = round(β_i·2^F / S_y).
 * k and F (numerics/transformer-params.ts layerNormParams) keep every step
 * exact in a double for every input of the type; D's relative error is below 1/D.
 *
 * RMSNormalization (opset 23, or fused from its decomposed form by
 * passes/fuse-layernorm.ts) is the same op without the mean: s = C·z_x, so
 * c_i = C·(x_i − z_x), γ only (β = 0), and the bound |c_i| ≤ C·R (rmsZero in
 * the program op; numerics/transformer.ts states both).
 *
 * A final norm the QDQ model leaves float before a ReduceMean, or as a graph
 * output, gets an int16 output that cannot clip (layerNormTail); one it leaves
 * float before a
 * Gather of constant indices (the CLS token) takes the Gather's output spec.
 *
 * ReduceMean over one axis of length L: reshape to [outer, L, inner], a
 * sumpool with an L×1 window, a requant by S_x / (S_y·L), and a reshape to the
 * output shape, all existing ops.
 */
import { attrFloat, attrInt, attrInts } from "../ir/attrs.js";
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import { intMax, intMin, intType } from "../numerics/int.js";
import { layerNormParams } from "../numerics/transformer-params.js";
import { type ActivationTail, activationTail } from "./activation-tail.js";
import { checkedMultiplier } from "./lower-linear.js";
import { selectedSpec } from "./lower-gather.js";
import { type ActSpec, INT32, type LoweringContext, label } from "./lowering-context.js";

function constVector(ctx: LoweringContext, n: Node, slot: number, C: number, dflt: number): Float64Array {
  const name = n.inputs[slot];
  if (!name) return new Float64Array(C).fill(dflt);
  const t = ctx.consts.get(name);
  if (!t) throw new FixqError("unsupported", `cannot integerize: ${label(n)} has a non-constant ${slot === 1 ? "scale" : "bias"} '${name}'`);
  const v = tensorToFloat64(t);
  if (v.length === 1) return new Float64Array(C).fill(v[0]!);
  if (v.length !== C) throw new FixqError("unsupported", `cannot integerize: ${label(n)} ${slot === 1 ? "scale" : "bias"} has ${v.length} elements for ${C} channels`);
  return v;
}

/**
 * Where the LayerNormalization lands: its quantized output, or, when the QDQ
 * model leaves it float and only a ReduceMean reads it (a final norm before
 * mean pooling) or it is a graph output (a post-norm encoder layer), an
 * int16 value whose scale holds every output the affine map can give:
 * |y| ≤ max|γ|·√(C − 1) + max|β| (|x̂_i| ≤ √(C − 1); RMSNorm: √C).
 */
function layerNormTail(ctx: LoweringContext, n: Node, gamma: Float64Array, beta: Float64Array, C: number, rms: boolean): ActivationTail {
  const out = n.outputs[0]!;
  const reader = ctx.soleReader(out);
  const selected = ctx.actSpec(out, label(n)) ? undefined : selectedSpec(ctx, out);
  // a float norm whose only reader selects tokens (the CLS token) into a quantized value: quantization commutes with the selection
  if (selected) return { value: out, spec: selected, clampLo: selected.qmin, clampHi: selected.qmax, nodes: [] };
  // a graph output (possibly through the per-sample Reshape of passes/sample-axis.ts) the QDQ model leaves float: the same int16 value
  const graphOutput = ctx.graphOutputs.has(out) || (reader?.opType === "Reshape" && ctx.graphOutputs.has(reader.outputs[0]!) && !ctx.actSpec(reader.outputs[0]!, label(reader)));
  if (ctx.actSpec(out, label(n)) || (reader?.opType !== "ReduceMean" && !graphOutput)) return activationTail(ctx, n, out);
  let bound = 0;
  for (let i = 0; i < C; i++) bound = Math.max(bound, Math.abs(gamma[i]!) * Math.sqrt(rms ? C : C - 1) + Math.abs(beta[i]!));
  const scale = Math.fround((bound || 1) / 32767);
  const spec: ActSpec = { scale, zeroPoint: 0, qmin: -32767, qmax: 32767, type: intType(16, true) };
  return { value: out, spec, clampLo: spec.qmin, clampHi: spec.qmax, nodes: [] };
}

/** LayerNormalization, or RMSNormalization (no mean, no β), over the last axis. */
export function lowerLayerNorm(ctx: LoweringContext, n: Node): void {
  const rms = n.opType === "RMSNormalization";
  const op = rms ? "RMSNormalization" : "LayerNormalization";
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const shape = ctx.values.get(x)!.shape;
  const axis = attrInt(n, "axis", -1);
  if (axis !== -1 && axis !== shape.length) throw new FixqError("unsupported", `cannot integerize: ${label(n)} normalizes from axis ${axis}; integer ${op} needs the last axis alone`);
  if (n.outputs.slice(1).some((o) => o)) throw new FixqError("unsupported", `cannot integerize: ${label(n)} also returns its mean or inverse deviation`);
  const C = shape[shape.length - 1]!;
  const gamma = constVector(ctx, n, 1, C, 1);
  const beta = rms ? new Float64Array(C) : constVector(ctx, n, 2, C, 0);
  const eps = attrFloat(n, "epsilon") ?? 1e-5;
  const tail = layerNormTail(ctx, n, gamma, beta, C, rms);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const params = layerNormParams(gamma, beta, eps, xs.scale, intMax(xs.type) - intMin(xs.type), tail.spec.scale, rms);
  if (!params) throw new FixqError("unsupported", `cannot integerize: ${label(n)} over ${C} channels of ${xs.type.bits} bits into scale ${tail.spec.scale} exceeds integer ${op}'s exact range`);
  const out = ctx.addValue(`${tail.value}_q`, shape, tail.spec.type, tail.spec);
  ctx.ops.push({
    kind: "layernorm",
    source: label(n),
    input: x,
    output: out,
    ...params,
    outZero: tail.spec.zeroPoint,
    clampLo: tail.clampLo,
    clampHi: tail.clampHi,
    ...(rms ? { rmsZero: xs.zeroPoint } : {}),
  });
  ctx.lowered.set(tail.value, out);
}

export function lowerReduceMean(ctx: LoweringContext, n: Node): void {
  const x = ctx.intInput(n.inputs[0]!, n);
  const xs = ctx.specOfInt(x);
  const shape = ctx.values.get(x)!.shape;
  const axesInput = n.inputs[1] ? ctx.consts.get(n.inputs[1]) : undefined;
  const axes = attrInts(n, "axes") ?? (axesInput ? Array.from(tensorToFloat64(axesInput)) : undefined);
  if (axes?.length !== 1) throw new FixqError("unsupported", `cannot integerize: ${label(n)} reduces ${axes ? `${axes.length} axes` : "every axis"}; integer ReduceMean takes one per-sample axis`);
  const a = (axes[0]! < 0 ? axes[0]! + shape.length + 1 : axes[0]!) - 1;
  if (a < 0) throw new FixqError("unsupported", `cannot integerize: ${label(n)} reduces the batch axis`);
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const L = shape[a]!;
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  const src = label(n);
  const cube = ctx.addValue(`${n.outputs[0]}_3d`, [outer, L, inner], xs.type, xs);
  ctx.ops.push({ kind: "reshape", source: src, input: x, output: cube });
  const acc = ctx.addValue(`${n.outputs[0]}_acc`, [outer, 1, inner], INT32);
  ctx.ops.push({ kind: "sumpool", source: src, input: cube, output: acc, inputZero: xs.zeroPoint, kernel: [L, 1], strides: [1, 1], pads: [0, 0, 0, 0] });
  const tail = activationTail(ctx, n, n.outputs[0]!);
  for (const c of tail.nodes) ctx.consumed.add(c);
  const mean = ctx.addValue(`${tail.value}_3d`, [outer, 1, inner], tail.spec.type, tail.spec);
  const m = checkedMultiplier(ctx, n, xs.scale / (tail.spec.scale * L));
  ctx.ops.push({ kind: "requant", source: src, input: acc, output: mean, multipliers: [m], axis: 0, outZero: tail.spec.zeroPoint, clampLo: tail.clampLo, clampHi: tail.clampHi });
  const out = ctx.addValue(`${tail.value}_q`, ctx.sampleShape(n.outputs[0]!, src), tail.spec.type, tail.spec);
  ctx.ops.push({ kind: "reshape", source: src, input: mean, output: out });
  ctx.lowered.set(tail.value, out);
}
