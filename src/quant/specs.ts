/**
 * Spec assignment: from the resolved plan (resolve-plan.ts: every tensor's
 * format) and calibrated ranges to a graph whose values carry quantization
 * specs (`Graph.quant`). The QDQ writer (qdq-write.ts) turns those specs into
 * QuantizeLinear/DequantizeLinear nodes, writing the codes the rounding stage
 * chose (round-weights.ts).
 *
 * - Activations: scale and zero point covering the calibrated [lo, hi] (0
 *   included, so that 0 is exact); pass-through outputs share their source's
 *   spec object.
 * - Weights: per channel along the output-channel axis, per tensor, or in
 *   blocks (weights.ts). Constant operands of elementwise ops use the
 *   activation format over their exact range, as ORT's integer kernels need.
 * - Biases of Conv/Gemm: int32, zero point 0, scale s_x·s_w[c]. Where that
 *   scale is too fine for int32, an 8-bit layer's weight scale for the
 *   channel is raised until it is not (bias-headroom.ts: near-dead channels);
 *   in wider formats (16-bit, large biases) the bias's own scale is widened
 *   to |b|/(2³¹−1) rather than saturating.
 * - A constant read in two roles that need different specs (a weight here, an
 *   elementwise operand there) is duplicated, so every value has one spec.
 * - Embedding tables (a Gather's constant data): weight only, int8 per row or
 *   int4 blocks along the row (weights.ts `quantizeEmbedding`).
 * - Float formats (a weight or activation choice with a scheme;
 *   float-schemes.ts): FP8, MX and NVFP4 weights (float-weights.ts), FP8 or
 *   dynamic MX/NVFP4 activations (float-specs.ts). Biases of float-format
 *   layers stay float.
 * - Formats may differ from tensor to tensor (the recipe's `layers` rules): a
 *   constant read by two nodes whose choices differ is duplicated too.
 * - Int32 biases and constant operands are specified last (assignLateSpecs),
 *   after bias correction has changed them.
 */
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import { attrFloat } from "../ir/attrs.js";
import type { Graph, Node } from "../ir/graph.js";
import { constantTensors } from "../ir/infer-types.js";
import { graphNames } from "../ir/names.js";
import { type AffineQuant, affineParams, type IntFormat, type QuantSpec } from "../ir/quant.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { dynamicActivationSpecs, fp8ActivationSpec } from "./float-specs.js";
import { floatWeightSpec } from "./float-weights.js";
import { widenWeightScalesForBias } from "./bias-headroom.js";
import { constantBias, type WeightUse } from "./plan.js";
import { type ActChoice, operandChoiceOf, type ResolvedPlan, weightChoiceOf, type WeightChoice } from "./resolve-plan.js";
import { roundNearest } from "./round-weights.js";
import { fixedActivationSpec, fixedWeightSpec } from "./fixed-formats.js";
import { quantizeEmbedding, quantizeWeightUse } from "./weights.js";

const INT32: IntFormat = { dtype: DataType.INT32, bits: 32, signed: true, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 };

/** True for activation choices with a static spec per tensor (integer or FP8); dynamic MX/NVFP4 and float have none. */
export function isStaticAct(a: ActChoice): boolean {
  return a.scheme === undefined || a.scheme.kind === "fp8";
}

/** A static activation spec: FP8, or the integer format. */
function staticActivationSpec(lo: number, hi: number, a: ActChoice): QuantSpec {
  return a.scheme?.kind === "fp8" ? fp8ActivationSpec(lo, hi, a.scheme.format) : activationSpec(lo, hi, a);
}

export function activationSpec(lo: number, hi: number, a: Pick<ActChoice, "format" | "symmetric" | "fixed">): AffineQuant {
  if (a.fixed) return fixedActivationSpec(lo, hi, a.fixed, a.format);
  const p = affineParams(lo, hi, a.format, a.symmetric);
  return { kind: "affine", format: a.format, scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint) };
}

/** A constant operand of an elementwise op: the activation format over the constant's exact range. */
function constantOperandSpec(t: Tensor, a: ActChoice): QuantSpec {
  let lo = 0;
  let hi = 0;
  for (const x of tensorToFloat64(t)) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return staticActivationSpec(lo, hi, a);
}

/**
 * Bias scales s_x·s_w[c]. A channel whose bias would saturate int32 at that
 * scale gets the smallest float32 scale that holds it; ORT's integer kernels
 * need s_x·s_w exactly, but they only exist for 8-bit formats, where s_x·s_w
 * is never that fine for a sane bias.
 */
function biasScales(b: Float64Array, sx: number, sw: Float32Array): Float32Array {
  const scale = new Float32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    let s = Math.fround(sx * sw[sw.length === 1 ? 0 : c]!);
    const need = Math.abs(b[c]!) / INT32.qmax;
    if (s < need) {
      s = Math.fround(need);
      if (s < need) s = Math.fround(need * (1 + 2 ** -23));
    }
    scale[c] = s;
  }
  return scale;
}


/**
 * α / |β| for a Gemm (Y = α·X·W + β·C), 1 otherwise: C's int32 scale is
 * α·s_x·s_w / |β|, so that β·C is a whole number of accumulator steps
 * α·s_x·s_w (ONNX Runtime's QGemm asks the same of its C) and the integer
 * lowering adds the codes as they are.
 */
function gemmBiasFactor(n: Node): number {
  return n.opType === "Gemm" ? attrFloat(n, "alpha", 1) / Math.abs(attrFloat(n, "beta", 1)) : 1;
}

/** A weight's spec and its scale per output channel (what the int32 bias uses). */
function weightSpec(u: WeightUse, w: WeightChoice): { spec: QuantSpec; outScale?: Float32Array } {
  if (w.kind === "float") return { spec: floatWeightSpec(u, w.scheme) };
  if (w.fixed) {
    const { spec } = fixedWeightSpec(tensorToFloat64(u.tensor), w.fixed, w.format);
    return { spec, outScale: spec.scale };
  }
  const q = quantizeWeightUse(u, w.granularity, w.format, w.clipBlocks);
  return { spec: q.spec, outScale: q.outScale };
}

/** The spec's own scale array when it is the per-channel (or per-tensor) scale `made` recomputes, so a widening shows in both. */
function sharedOutScale(spec: QuantSpec, made: Float32Array): Float32Array {
  return spec.kind === "affine" && !spec.fixed && spec.scale.length === made.length && spec.scale.every((s, i) => s >= made[i]!) ? spec.scale : made;
}

/** A key equal for uses that need the same weight spec (same axis and choice). */
function weightRole(u: WeightUse, w: WeightChoice): string {
  const format = w.kind === "float" ? w.name : `${w.format.dtype}[${w.format.qmin},${w.format.qmax}]:${JSON.stringify(w.granularity)}${w.fixed ? w.fixed.name : ""}${w.clipBlocks ? ":mse" : ""}`;
  return `weight@${u.axis}:${format}`;
}

export interface SpecifiedGraph {
  /** The graph with the specs of activations, weights and constant operands (biases: assignBiasSpecs). */
  readonly graph: Graph;
  /** The weight's scale per output channel, by compute node index (integer weights). */
  readonly outScales: Map<number, Float32Array>;
}

/** Specs for every activation and weight of the plan, from the calibrated (or data-free) ranges. */
export function assignSpecs(g: Graph, plan: ResolvedPlan, ranges: ReadonlyMap<string, { lo: number; hi: number }>): SpecifiedGraph {
  const quant = new Map<string, QuantSpec>();
  for (const t of plan.activations) {
    const a = plan.acts.get(t)!;
    if (!isStaticAct(a)) continue;
    const r = ranges.get(t);
    if (!r) throw new FixqError("runtime", `no calibration range for tensor '${t}'`);
    quant.set(t, staticActivationSpec(r.lo, r.hi, a));
  }
  for (const [t, src] of plan.sharedWith) {
    const s = quant.get(src);
    if (s) quant.set(t, s);
  }
  for (const [t, s] of dynamicActivationSpecs(g, plan, ranges)) quant.set(t, s);

  const names = graphNames(g);
  const copies: Tensor[] = [];
  const slotRename = new Map<Node, Map<number, string>>();
  const roleOf = new Map<string, string>(); // value → the role its spec was made for
  /** The value the constant read at (node, slot) is for `role`: itself, or a copy when it already serves another role. */
  const claim = (u: WeightUse, role: string): { target: string; fresh: boolean } => {
    const value = u.tensor.name!;
    const existing = roleOf.get(value);
    if (existing === role) return { target: value, fresh: false };
    let target = value;
    if (existing !== undefined) {
      target = names.fresh(`${value}__copy`);
      copies.push({ ...u.tensor, name: target });
      if (!slotRename.has(u.node)) slotRename.set(u.node, new Map());
      slotRename.get(u.node)!.set(u.slot, target);
    }
    roleOf.set(target, role);
    return { target, fresh: true };
  };
  /** Gives the constant read at (node, slot) the spec `make` builds, duplicating it if it already has another. */
  const place = (u: WeightUse, role: string, make: () => QuantSpec): QuantSpec => {
    const { target, fresh } = claim(u, role);
    if (!fresh) return quant.get(target)!;
    const spec = make();
    quant.set(target, spec);
    return spec;
  };

  const outScales = new Map<number, Float32Array>();
  const consts = constantTensors(g);
  for (const u of plan.weights) {
    if (u.asActivation) {
      const a = operandChoiceOf(plan, u);
      if (isStaticAct(a)) place(u, `operand:${a.name}`, () => constantOperandSpec(u.tensor, a));
      continue;
    }
    const w = weightChoiceOf(plan, u);
    if (u.embedding) {
      // int8 per row; int4 blocks along the row when the node's weights are int4 per-block (weights.ts quantizeEmbedding)
      place(u, "embedding", () => quantizeEmbedding(u.tensor, w.kind === "int" ? w.format : undefined, w.kind === "int" ? w.granularity : { kind: "per-channel" }));
      continue;
    }
    let outScale: Float32Array | undefined;
    const spec = place(u, weightRole(u, w), () => {
      const made = weightSpec(u, w);
      outScale = made.outScale;
      return made.spec;
    });
    // A weight shared by two ops with the same role: the first use computed its output scale (and may have widened it).
    if (!outScale && w.kind === "int") {
      const made = weightSpec(u, w).outScale;
      if (made) outScale = sharedOutScale(spec, made);
    }
    if (u.slot === 1 && outScale) {
      widenWeightScalesForBias(spec, outScale, quant.get(u.node.inputs[0]!), constantBias(u.node, consts), gemmBiasFactor(u.node));
      outScales.set(plan.nodeIndex.get(u.node)!, outScale);
    }
  }
  // Biases get their specs later (assignBiasSpecs); a bias shared with another role is given its own copy now.
  for (const u of plan.biases) if (outScales.has(plan.nodeIndex.get(u.node)!)) claim(u, `bias@${u.node.name ?? ""}`);

  const nodes = g.nodes.map((n) => {
    const r = slotRename.get(n);
    return r ? { ...n, inputs: n.inputs.map((i, k) => r.get(k) ?? i) } : n;
  });
  return { graph: { ...g, nodes, initializers: [...g.initializers, ...copies], quant }, outScales };
}

/**
 * The specs that depend on constant values bias correction may change, on
 * `g` as it is now (the same nodes, in the same order, as the graph the plan
 * was made for):
 * - int32 bias specs (scale s_x·s_w[c], zero point 0) for the biases of the
 *   integer-weight compute nodes (`outScales`, by node index), including a
 *   bias correction gave a layer that had none; a bias's scale depends on its
 *   value where it would not fit int32 (biasScales);
 * - constant operands of elementwise ops (a MatMul's bias Add), whose spec
 *   covers the constant's exact range.
 * Returns the graph and the names of the constants whose specs were made here
 * (their codes are chosen after this, by nearest rounding).
 */
export function assignLateSpecs(g: Graph, plan: ResolvedPlan, outScales: ReadonlyMap<number, Float32Array>): { graph: Graph; late: Set<string> } {
  const quant = new Map(g.quant ?? []);
  const consts = constantTensors(g);
  const late = new Set<string>();
  for (const u of plan.weights) {
    if (!u.asActivation) continue;
    const name = g.nodes[plan.nodeIndex.get(u.node)!]!.inputs[u.slot]!;
    const t = consts.get(name);
    const a = operandChoiceOf(plan, u);
    if (!t || !quant.has(name) || !isStaticAct(a) || late.has(name)) continue;
    quant.set(name, constantOperandSpec({ ...t, name }, a));
    late.add(name);
  }
  for (const [i, sw] of outScales) {
    const n = g.nodes[i]!;
    const sx = quant.get(n.inputs[0]!);
    const t = constantBias(n, consts);
    if (sx?.kind !== "affine" || !t || late.has(n.inputs[2]!)) continue;
    const b = tensorToFloat64(t);
    quant.set(n.inputs[2]!, { kind: "affine", format: INT32, scale: biasScales(b, gemmBiasFactor(n) * sx.scale[0]!, sw), zeroPoint: new Int32Array(b.length), axis: 0 });
    late.add(n.inputs[2]!);
  }
  return { graph: { ...g, quant }, late };
}

/**
 * The late specs of `g` (assignLateSpecs) with their codes: `codes` kept for
 * every constant whose spec stands, nearest codes for those specified here.
 */
export function withLateCodes(
  g: Graph,
  plan: ResolvedPlan,
  outScales: ReadonlyMap<number, Float32Array>,
  codes: ReadonlyMap<string, Int32Array>,
): { graph: Graph; codes: Map<string, Int32Array> } {
  const { graph, late } = assignLateSpecs(g, plan, outScales);
  const kept = new Map([...codes].filter(([v]) => !late.has(v)));
  return { graph, codes: new Map([...kept, ...roundNearest(graph, kept, (v) => late.has(v))]) };
}
