/**
 * Spec assignment: from a quantization plan and calibrated ranges to a graph
 * whose values carry quantization specs (`Graph.quant`). The QDQ writer
 * (qdq-write.ts) turns those specs into QuantizeLinear/DequantizeLinear nodes.
 *
 * - Activations: scale and zero point covering the calibrated [lo, hi] (0
 *   included, so that 0 is exact); pass-through outputs share their source's
 *   spec object.
 * - Weights: per channel along the output-channel axis, per tensor, or in
 *   blocks (weights.ts). Constant operands of elementwise ops use the
 *   activation format over their exact range, as ORT's integer kernels need.
 * - Biases of Conv/Gemm: int32, zero point 0, scale s_x·s_w[c]. Where that
 *   scale is too fine for int32 (16-bit formats, large biases), the channel's
 *   scale is widened to |b|/(2³¹−1) rather than saturating.
 * - A constant read in two roles that need different specs (a weight here, an
 *   elementwise operand there) is duplicated, so every value has one spec.
 * - Embedding tables (a Gather's constant data): weight only, int8 per row or
 *   int4 blocks along the row (weights.ts `quantizeEmbedding`).
 * - Float formats (`weightScheme`, `actScheme`; float-schemes.ts): FP8, MX and
 *   NVFP4 weights (float-weights.ts), FP8 or dynamic MX/NVFP4 activations
 *   (float-specs.ts). Biases of float-format layers stay float.
 */
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { type AffineQuant, affineParams, type IntFormat, type QuantSpec } from "../ir/quant.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import type { ActScheme, WeightScheme } from "./float-schemes.js";
import { dynamicActivationSpecs, fp8ActivationSpec } from "./float-specs.js";
import { floatWeightSpec } from "./float-weights.js";
import type { QuantPlan, WeightUse } from "./plan.js";
import type { Granularity } from "./recipe.js";
import { quantizeEmbedding, quantizeWeightUse } from "./weights.js";

export interface SpecOptions {
  readonly actFormat: IntFormat;
  readonly symmetricActs: boolean;
  readonly weightFormat: IntFormat;
  readonly granularity: Granularity;
  /** Float weight format; overrides weightFormat/granularity when set. */
  readonly weightScheme?: WeightScheme;
  /** Float activation format; overrides actFormat when set. */
  readonly actScheme?: ActScheme;
}

const INT32: IntFormat = { dtype: DataType.INT32, bits: 32, signed: true, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 };

/** A static activation spec: FP8, or the integer format. */
function staticActivationSpec(lo: number, hi: number, opts: SpecOptions): QuantSpec {
  return opts.actScheme?.kind === "fp8" ? fp8ActivationSpec(lo, hi, opts.actScheme.format) : activationSpec(lo, hi, opts);
}

export function activationSpec(lo: number, hi: number, opts: SpecOptions): AffineQuant {
  const p = affineParams(lo, hi, opts.actFormat, opts.symmetricActs);
  return { kind: "affine", format: opts.actFormat, scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint) };
}

/** A constant operand of an elementwise op: the activation format over the constant's exact range. */
function constantOperandSpec(t: Tensor, opts: SpecOptions): QuantSpec {
  let lo = 0;
  let hi = 0;
  for (const x of tensorToFloat64(t)) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return staticActivationSpec(lo, hi, opts);
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

/** Fresh value names that collide with nothing in the graph. */
export class Names {
  private readonly used = new Set<string>();
  constructor(g: Graph) {
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) this.used.add(v.name);
    for (const t of g.initializers) if (t.name) this.used.add(t.name);
    for (const n of g.nodes) {
      for (const o of [...n.inputs, ...n.outputs]) this.used.add(o);
      if (n.name) this.used.add(n.name);
    }
  }
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

export function assignSpecs(g: Graph, plan: QuantPlan, ranges: ReadonlyMap<string, { lo: number; hi: number }>, opts: SpecOptions): Graph {
  const quant = new Map<string, QuantSpec>();
  const act = opts.actScheme;
  const staticActs = act === undefined || act.kind === "fp8";
  for (const t of staticActs ? plan.activations : []) {
    const r = ranges.get(t);
    if (!r) throw new FixqError("runtime", `no calibration range for tensor '${t}'`);
    quant.set(t, staticActivationSpec(r.lo, r.hi, opts));
  }
  if (staticActs) for (const [t, src] of plan.sharedWith) quant.set(t, quant.get(src)!);
  if (act?.kind === "mx" || act?.kind === "nvfp4") for (const [t, s] of dynamicActivationSpecs(g, plan, ranges, act)) quant.set(t, s);

  const names = new Names(g);
  const copies: Tensor[] = [];
  const slotRename = new Map<Node, Map<number, string>>();
  const roleOf = new Map<string, string>(); // value → the role its spec was made for
  /** Gives the constant read at (node, slot) the spec `make` builds, duplicating it if it already has another. */
  const place = (u: WeightUse, role: string, make: () => QuantSpec): QuantSpec => {
    const value = u.tensor.name!;
    const existing = roleOf.get(value);
    if (existing === role) return quant.get(value)!;
    let target = value;
    if (existing !== undefined) {
      target = names.fresh(`${value}__copy`);
      copies.push({ ...u.tensor, name: target });
      if (!slotRename.has(u.node)) slotRename.set(u.node, new Map());
      slotRename.get(u.node)!.set(u.slot, target);
    }
    const spec = make();
    quant.set(target, spec);
    roleOf.set(target, role);
    return spec;
  };

  const outScaleOf = new Map<Node, Float32Array>();
  for (const u of plan.weights) {
    if (u.asActivation) {
      if (staticActs) place(u, "operand", () => constantOperandSpec(u.tensor, opts));
      continue;
    }
    if (u.embedding) {
      place(u, "embedding", () => quantizeEmbedding(u.tensor, opts.weightScheme ? undefined : opts.weightFormat, opts.granularity));
      continue;
    }
    const scheme = opts.weightScheme;
    if (scheme) {
      place(u, `weight@${u.axis}`, () => floatWeightSpec(u, scheme));
      continue;
    }
    let outScale: Float32Array | undefined;
    place(u, `weight@${u.axis}`, () => {
      const w = quantizeWeightUse(u, opts.granularity, opts.weightFormat);
      outScale = w.outScale;
      return w.spec;
    });
    // A weight shared by two ops with the same role: the first use computed its output scale.
    if (!outScale) outScale = quantizeWeightUse(u, opts.granularity, opts.weightFormat).outScale;
    if (u.slot === 1) outScaleOf.set(u.node, outScale);
  }
  for (const u of plan.biases) {
    const sw = outScaleOf.get(u.node);
    const sx = quant.get(u.node.inputs[0]!);
    if (!sw || sx?.kind !== "affine") continue;
    const b = tensorToFloat64(u.tensor);
    const scale = biasScales(b, sx.scale[0]!, sw);
    place(u, `bias@${u.node.name ?? ""}`, () => ({ kind: "affine", format: INT32, scale, zeroPoint: new Int32Array(b.length), axis: 0 }));
  }

  const nodes = g.nodes.map((n) => {
    const r = slotRename.get(n);
    return r ? { ...n, inputs: n.inputs.map((i, k) => r.get(k) ?? i) } : n;
  });
  return { ...g, nodes, initializers: [...g.initializers, ...copies], quant };
}
