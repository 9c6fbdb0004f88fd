/**
 * correctBiases: bias correction (Nagel et al. 2019, §4.2). Quantizing a
 * layer's weights, W̃ = W + ε, shifts the mean of its output y = W ∗ x + b by
 *
 *   E[ỹ − y]_o = E[ε ∗ x]_o = α · Σ_{c,k} ε[o, c, k] · E[x_c at tap k]
 *
 * per output channel o (c: input channels, k: kernel taps; α is Gemm's alpha,
 * else 1). The correction subtracts the shift from the float bias, so that the
 * quantized layer's output has the float layer's mean. The int32 bias is then
 * quantized from the corrected float bias; a weight's spec never depends on
 * the bias, so nothing else changes.
 *
 * - **empirical** (the paper's eq. 1, measured on the calibration data):
 *   b_o −= E[ŷ_o] − E[y_o], where y is the layer's output in the float model
 *   and ŷ its output in the quantized model (fake-quant: every layer's weights
 *   and activations quantized, the layers before already corrected; ŷ is read
 *   before the output's own QuantizeLinear). This removes E[ε ∗ x̃] and also
 *   the mean shift that reaches the layer from the quantized layers before it
 *   (activation quantization and clipping included), and handles padding,
 *   strides and groups exactly. Layers are corrected in waves: a layer is
 *   measured in the run after every corrected layer upstream of it, so each
 *   correction sees the quantized, corrected layers before it (the paper's
 *   note); the float reference takes one more run. A chain of d layers takes
 *   d + 1 passes over the calibration data.
 * - **analytic** (data-free): b_o −= α·Σ_{c,k} ε[o, c, k]·E[x_c]·f_k, with
 *   E[x_c] from the BN statistics of the layer before, through its activation
 *   (bn-moments.ts), and ε = DQ(q) − W with q the codes the rounding stage
 *   chose for W (round-weights.ts; the numbers the QDQ writer emits). At a conv's padded
 *   border a tap reads 0, not E[x_c]: f_k is the fraction of output positions
 *   at which tap k reads the input (exact for the spatial mean when E[x_c] is
 *   the same at every position; the paper ignores padding). Only the layer's
 *   own weight error is corrected: without data, the mean shift that
 *   quantization upstream causes is unknown. Layers whose input has no
 *   derivable mean are skipped, with the reason. The BN statistics describe
 *   the float model, so the order of correction does not matter here.
 *
 * The graph given carries the specs of weights and activations (specs.ts);
 * the int32 bias specs are made after the correction, from the corrected
 * biases.
 *
 * Conv, Gemm and MatMul (with a bias Add) layers whose weight is quantized are
 * corrected; a MatMul with no bias Add is skipped (adding one would put a new
 * float op and an uncalibrated tensor into the quantized graph).
 */
import { FixqError } from "../ir/errors.js";
import { convGeometry } from "../ir/conv-geometry.js";
import type { Dim, Graph, Model, Node, TensorType } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import type { QuantSpec } from "../ir/quant.js";
import { channelMeans } from "./channel-means.js";
import { layerWaves } from "./layer-waves.js";
import type { DataSource } from "./feeds.js";
import { dequantizeWithSpec } from "./weights.js";
import type { Progress } from "../util/progress.js";
import { type Moments, propagateMoments } from "../passes/bn-moments.js";
import type { Skipped } from "../passes/chains.js";
import { GraphEdit } from "../passes/graph-edit.js";
import { type Layer, readBias, readLayer, readWeights, weightLayout, writeBias } from "../passes/layers.js";

export type BiasCorrectionMode = "empirical" | "analytic";

export interface CorrectedLayer {
  readonly layer: string;
  readonly channels: number;
  /** max over output channels of |Δb| (the amount subtracted from the bias). */
  readonly maxAbsDelta: number;
  /** Empirical: the run (wave) that measured it, from 1. */
  readonly wave?: number;
}

export interface BiasCorrectionReport {
  readonly pass: "bias-correction";
  readonly mode: BiasCorrectionMode;
  readonly corrected: readonly CorrectedLayer[];
  readonly skipped: readonly Skipped[];
  /** Passes over the calibration data (empirical; 0 for analytic). */
  readonly runs: number;
}

export interface BiasCorrectionContext {
  /** The codes chosen for every quantized weight (the rounding stage), by value name. */
  readonly codes: ReadonlyMap<string, ArrayLike<number>>;
  /** Empirical: the QDQ graph the model would be written as with the biases of `g` (int32 biases included). */
  readonly quantized?: (g: Graph) => Graph;
  /** Empirical only: the calibration data. */
  readonly source?: DataSource;
  readonly batchSize?: number;
  readonly threads?: number;
  readonly progress?: Progress;
}

const CORRECTED_OPS = new Set(["Conv", "Gemm", "MatMul"]);

interface Target {
  readonly layer: Layer;
  /** The spec the weight will be written with. */
  readonly spec: QuantSpec;
}

/** The layers to correct in `g` (by node index), with their weight's spec; the others with the reason. */
function targets(g: Graph): { targets: Target[]; skipped: Skipped[] } {
  const quant = g.quant ?? new Map<string, QuantSpec>();
  const ed = new GraphEdit(g);
  const types = inferTypes(g);
  const out: Target[] = [];
  const skipped: Skipped[] = [];
  for (const [i, n] of g.nodes.entries()) {
    if (!CORRECTED_OPS.has(n.opType) || ((n.domain ?? "") !== "" && n.domain !== "ai.onnx")) continue;
    const spec = quant.get(n.inputs[1] ?? "");
    const l = readLayer(ed, types, i);
    const why = !spec ? "its weight is not quantized" : "reason" in l ? l.reason : l.kind === "MatMul" && !l.bias ? "MatMul without a bias Add (no bias to correct)" : undefined;
    if (why || !spec || "reason" in l) {
      skipped.push({ layer: ed.label(i), reason: why! });
      continue;
    }
    out.push({ layer: l, spec });
  }
  return { targets: out, skipped };
}

/** ε = DQ(q) − W in the weight's layout, from the chosen codes q, for integer (affine or blocked) weight specs; undefined for other formats. */
function weightError(ed: GraphEdit, t: Target, codes: ReadonlyMap<string, ArrayLike<number>>): Float64Array | undefined {
  const { layer: l, spec } = t;
  if (spec.kind !== "affine" && spec.kind !== "block") return undefined;
  const q = codes.get(l.weight);
  if (!q) throw new FixqError("runtime", `internal error: bias correction found no chosen codes for weight '${l.weight}'`);
  const w = readWeights(ed, l);
  const wq = dequantizeWithSpec(q, l.weightDims, spec);
  return w.map((x, k) => wq[k]! - x);
}

/**
 * Per kernel tap of a Conv (row-major over the kernel dims), the fraction of
 * output positions at which the tap reads the input rather than padding.
 * All ones when the input's spatial dims are not known.
 */
export function tapCoverage(n: Node, inShape: readonly Dim[] | undefined, kernel: readonly number[]): Float64Array {
  const taps = kernel.reduce((a, b) => a * b, 1);
  const spatial = inShape?.slice(2);
  if (!spatial || spatial.length !== kernel.length || spatial.some((d) => typeof d !== "number")) return new Float64Array(taps).fill(1);
  const nd = kernel.length;
  const g = convGeometry(n, spatial as number[], kernel);
  const perDim = kernel.map((K, j) => {
    const [I, s, d, pb, O] = [g.inSize[j]!, g.stride[j]!, g.dilation[j]!, g.padBegin[j]!, g.outSize[j]!];
    return Float64Array.from({ length: K }, (_, k) => {
      let inside = 0;
      for (let o = 0; o < O; o++) {
        const at = o * s - pb + k * d;
        if (at >= 0 && at < I) inside++;
      }
      return O > 0 ? inside / O : 0;
    });
  });
  const f = new Float64Array(taps);
  for (let t = 0; t < taps; t++) {
    let rest = t;
    let v = 1;
    for (let j = nd - 1; j >= 0; j--) {
      v *= perDim[j]![rest % kernel[j]!]!;
      rest = Math.floor(rest / kernel[j]!);
    }
    f[t] = v;
  }
  return f;
}

/** E[x_c] per input channel of every layer whose input mean the BN statistics give; the reason for the others. */
export function analyticInputMeans(g: Graph): { means: Map<string, Float64Array>; unknown: Map<string, string> } {
  const ed = new GraphEdit(g);
  const types = inferTypes(g);
  const { moments, unknown: why } = propagateMoments(ed, types);
  const means = new Map<string, Float64Array>();
  const unknown = new Map<string, string>();
  for (let i = 0; i < ed.nodeCount; i++) {
    const l = readLayer(ed, types, i);
    if ("reason" in l) continue;
    const m: Moments | undefined = moments.get(l.input);
    if (!m) unknown.set(l.name, why.get(l.input) ?? `'${l.input}' has no known distribution`);
    else if (l.inAxis !== 1) unknown.set(l.name, `input channels on axis ${l.inAxis}, statistics are per axis-1 channel`);
    else if (m.mu.length !== l.inChannels) unknown.set(l.name, `${m.mu.length} channel means for ${l.inChannels} input channels`);
    else means.set(l.name, m.mu);
  }
  return { means, unknown };
}

/** α · Σ_{c,k} ε[o, c, k] · E[x_c] · f_k per output channel o. */
function analyticShift(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, l: Layer, eps: Float64Array, mu: Float64Array): Float64Array {
  const layout = weightLayout(ed, l);
  const kernel = l.kind === "Conv" ? l.weightDims.slice(2) : [];
  const f = tapCoverage(ed.node(l.node)!, types.get(l.input)?.shape, kernel);
  const taps = f.length;
  const d = new Float64Array(l.outChannels);
  for (let k = 0; k < eps.length; k++) {
    const o = layout.out[k]!;
    d[o] = d[o]! + l.alpha * eps[k]! * mu[layout.in[k]!]! * f[k % taps]!;
  }
  return d;
}

function applyShifts(g: Graph, shifts: ReadonlyMap<number, Float64Array>): Graph {
  const ed = new GraphEdit(g);
  const types = inferTypes(g);
  for (const [i, d] of shifts) {
    const l = readLayer(ed, types, i) as Layer;
    writeBias(ed, l, readBias(ed, l).map((b, o) => b - d[o]!));
  }
  return ed.finish();
}

const maxAbs = (d: Float64Array) => d.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

export async function correctBiases(model: Model, mode: BiasCorrectionMode, ctx: BiasCorrectionContext): Promise<{ graph: Graph; report: BiasCorrectionReport }> {
  const g = model.graph!;
  const found = targets(g);
  const skipped = [...found.skipped];
  const corrected: CorrectedLayer[] = [];
  if (mode === "analytic") {
    const ed = new GraphEdit(g);
    const types = inferTypes(g);
    const { means, unknown } = analyticInputMeans(g);
    const shifts = new Map<number, Float64Array>();
    for (const t of found.targets) {
      const mu = means.get(t.layer.name);
      const eps = weightError(ed, t, ctx.codes);
      if (!mu || !eps) {
        skipped.push({ layer: t.layer.name, reason: !eps ? `analytic correction needs an integer weight format, not '${t.spec.kind}'` : (unknown.get(t.layer.name) ?? "no input mean") });
        continue;
      }
      const d = analyticShift(ed, types, t.layer, eps, mu);
      shifts.set(t.layer.node, d);
      corrected.push({ layer: t.layer.name, channels: d.length, maxAbsDelta: maxAbs(d) });
    }
    const graph = shifts.size > 0 ? applyShifts(g, shifts) : g;
    return { graph, report: { pass: "bias-correction", mode, corrected, skipped, runs: 0 } };
  }
  // nothing to measure (every layer skipped, with its reason): no run, and no ORT session without outputs to fetch
  if (found.targets.length === 0) return { graph: g, report: { pass: "bias-correction", mode, corrected, skipped, runs: 0 } };
  if (!ctx.source) throw new FixqError("usage", "empirical bias correction needs calibration data");
  if (!ctx.quantized) throw new FixqError("runtime", "internal error: empirical bias correction needs the quantized graph");
  const opts = { batchSize: ctx.batchSize ?? 64, threads: ctx.threads, progress: ctx.progress };
  const probeOf = (l: Layer, value: string) => ({ value, rank: l.rank, axis: l.outAxis });
  // E[y] of every layer in the float model, once.
  const reference = await channelMeans(model, ctx.source, found.targets.map((t) => probeOf(t.layer, t.layer.output)), opts);
  let graph = g;
  let runs = 1;
  for (const wave of layerWaves(g, new Map(found.targets.map((t) => [t.layer.node, t])))) {
    const qdq = ctx.quantized(graph);
    const probes = wave.map((t) => probeOf(t.layer, beforeQuantization(qdq, t.layer.output)));
    const means = await channelMeans({ ...model, graph: qdq }, ctx.source, probes, opts);
    runs++;
    const shifts = new Map<number, Float64Array>();
    wave.forEach((t, k) => {
      const ref = reference.get(t.layer.output)!;
      const d = means.get(probes[k]!.value)!.map((v, o) => v - ref[o]!);
      shifts.set(t.layer.node, d);
      corrected.push({ layer: t.layer.name, channels: d.length, maxAbsDelta: maxAbs(d), wave: runs - 1 });
    });
    graph = applyShifts(graph, shifts);
  }
  const order = new Map(found.targets.map((t, k) => [t.layer.name, k]));
  corrected.sort((a, b) => order.get(a.layer)! - order.get(b.layer)!);
  return { graph, report: { pass: "bias-correction", mode, corrected, skipped, runs } };
}

/** In a QDQ graph, the float value a quantized activation is computed as (`t__f` before Q → DQ → `t`); `value` itself otherwise. */
function beforeQuantization(qdq: Graph, value: string): string {
  const dq = qdq.nodes.find((n) => n.opType === "DequantizeLinear" && n.outputs[0] === value);
  const q = dq && qdq.nodes.find((n) => n.opType === "QuantizeLinear" && n.outputs[0] === dq.inputs[0]);
  return q?.inputs[0] ?? value;
}
