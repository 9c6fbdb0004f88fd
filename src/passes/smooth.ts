/**
 * SmoothQuant outlier smoothing (Xiao et al. 2023), folded so the float
 * function is unchanged: for a LayerNormalization (last axis, constant γ, β),
 * or an RMSNormalization (opset 23: γ only)
 * whose output X is read only by linear layers with constant weights
 * (MatMul [K, N], Gemm with transB [N, K]), directly or through layout ops
 * that keep the channel axis whole (Transpose, Reshape: smooth-layout.ts; Shape
 * readers are ignored), each input channel j gets
 *   s_j = max|X_j|^α / max|W_j|^(1−α)     (max over every reader's row j)
 * and then γ_j ← γ_j / s_j, β_j ← β_j / s_j (so X_j ← X_j / s_j) and each
 * reader's row j ← W_j · s_j: X·W = (X / s)·(s·W). Activation outliers move
 * into the weights, which quantize per channel. s is kept in [1e−5, 1e5] and
 * is 1 where a channel never fires (max|X_j| = 0).
 * The report gives, per norm, the channel spread max_j / mean_j of max|X_j|
 * before and after (after: max|X_j| / s_j).
 */
import type { Graph, Node, TensorType } from "../ir/graph.js";
import { attrInt } from "../ir/attrs.js";
import { constantTensors, inferTypes } from "../ir/infer-types.js";
import { followChannels } from "./smooth-layout.js";
import { makeFloatTensor, type Tensor, tensorToFloat64 } from "../ir/tensor.js";

export interface SmoothTarget {
  readonly norm: Node;
  /** The norm's output (the value whose per-channel max |x| the pass needs). */
  readonly value: string;
  /** The linear layers the channels reach, directly or through layout ops (smooth-layout.ts). */
  readonly readers: readonly Node[];
  readonly channels: number;
  /** The layout ops between the norm and its readers (Transpose, Reshape, Identity). */
  readonly via: readonly Node[];
}

export interface SmoothReport {
  readonly layers: readonly {
    readonly norm: string;
    readonly alpha: number;
    readonly readers: number;
    /** The layout ops the scale passed through (op types), empty when the readers read the norm directly. */
    readonly via: readonly string[];
    readonly spreadBefore: number;
    readonly spreadAfter: number;
  }[];
}

/** The constants of g, also through Identity nodes (torch shares equal γ/β that way). */
function constantsThroughIdentity(g: Graph): Map<string, Tensor> {
  const consts = constantTensors(g);
  for (const n of g.nodes) {
    const t = n.opType === "Identity" && (n.domain ?? "") === "" ? consts.get(n.inputs[0] ?? "") : undefined;
    if (t && n.outputs[0]) consts.set(n.outputs[0], t);
  }
  return consts;
}

/**
 * Norms whose output only constant-weight linear layers read (directly, or
 * through layout ops that keep the channel axis whole: smooth-layout.ts), with
 * their readers; `refused` says, naming the norm (op and name) and the node, why a norm whose output
 * reaches a layout op could not be followed.
 */
export function smoothTargetsWithReasons(g: Graph): { targets: SmoothTarget[]; refused: { norm: string; reason: string }[] } {
  const consts = constantsThroughIdentity(g);
  let types: Map<string, TensorType> | undefined;
  const shapes = (v: string) => {
    types ??= inferTypes(g);
    return types.get(v)?.shape;
  };
  const targets: SmoothTarget[] = [];
  const refused: { norm: string; reason: string }[] = [];
  for (const n of g.nodes) {
    if ((n.opType !== "LayerNormalization" && n.opType !== "RMSNormalization") || (n.domain ?? "") !== "" || attrInt(n, "axis", -1) !== -1) continue;
    const gamma = consts.get(n.inputs[1] ?? "");
    if (!gamma || (n.opType === "LayerNormalization" && n.inputs[2] && !consts.get(n.inputs[2]))) continue;
    const value = n.outputs[0]!;
    const C = gamma.dims.reduce((a, d) => a * Number(d), 1);
    const walk = followChannels(g, value, C, (v) => (v === value ? (shapes(v) ?? shapes(n.inputs[0]!)) : shapes(v)), consts);
    if (typeof walk === "string") refused.push({ norm: `${n.opType} '${n.name || value}'`, reason: walk });
    if (typeof walk !== "object") continue;
    targets.push({ norm: n, value, readers: walk.readers, channels: C, via: walk.via });
  }
  return { targets, refused };
}

/** The norms smoothTargetsWithReasons can smooth. */
export function smoothTargets(g: Graph): SmoothTarget[] {
  return smoothTargetsWithReasons(g).targets;
}

const spread = (v: ArrayLike<number>) => {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    max = Math.max(max, v[i]!);
    sum += v[i]!;
  }
  return sum > 0 ? (max * v.length) / sum : 1;
};

/** The factors s_j = max|X_j|^α / max|W_j|^(1−α), kept in [1e−5, 1e5], 1 where either max is 0. */
export function smoothFactors(xMax: ArrayLike<number>, wMax: ArrayLike<number>, alpha: number): Float64Array {
  return Float64Array.from({ length: xMax.length }, (_, j) => (xMax[j]! > 0 && wMax[j]! > 0 ? Math.min(1e5, Math.max(1e-5, xMax[j]! ** alpha / wMax[j]! ** (1 - alpha))) : 1));
}

/** max|W_j| over every reader's row j (MatMul [C, N] rows, Gemm transB [N, C] columns). */
export function readerRowMax(t: SmoothTarget, weights: readonly Float64Array[]): Float64Array {
  const C = t.channels;
  const wMax = new Float64Array(C);
  t.readers.forEach((r, k) => {
    const w = weights[k]!;
    const rows = r.opType === "MatMul";
    const other = w.length / C;
    for (let j = 0; j < C; j++) for (let o = 0; o < other; o++) wMax[j] = Math.max(wMax[j]!, Math.abs(w[rows ? j * other + o : o * C + j]!));
  });
  return wMax;
}

/** Smooths every target with its α (one for all, or per norm output value; 0 < α < 1) and the per-channel max|X| of its value. */
export function smoothLayerNorms(g: Graph, targets: readonly SmoothTarget[], absMax: ReadonlyMap<string, Float64Array>, alphas: number | ReadonlyMap<string, number>): { graph: Graph; report: SmoothReport } {
  const consts = constantsThroughIdentity(g);
  const factors = new Map<SmoothTarget, Float64Array>();
  const layers: SmoothReport["layers"][number][] = [];
  for (const t of targets) {
    const xMax = absMax.get(t.value);
    if (!xMax || xMax.length !== t.channels) continue;
    const alpha = typeof alphas === "number" ? alphas : (alphas.get(t.value) ?? 0.5);
    const wMax = readerRowMax(t, t.readers.map((r) => tensorToFloat64(consts.get(r.inputs[1]!)!)));
    const s = smoothFactors(xMax, wMax, alpha);
    factors.set(t, s);
    layers.push({ norm: t.norm.name || t.value, alpha, readers: t.readers.length, via: t.via.map((n) => n.opType), spreadBefore: spread(xMax), spreadAfter: spread(xMax.map((v, j) => v / s[j]!)) });
  }
  return { graph: scaleNormChannels(g, factors), report: { layers } };
}

/**
 * Divides each target norm's channel j by s_j and multiplies its readers' row
 * j by s_j: γ_j ← γ_j / s_j, β_j ← β_j / s_j, W_j ← W_j · s_j, so that
 * X·W = (X / s)·(s·W) and the float function is unchanged (to rounding).
 */
export function scaleNormChannels(g: Graph, factors: ReadonlyMap<SmoothTarget, Float64Array>): Graph {
  const consts = constantsThroughIdentity(g);
  const replaced = new Map<string, Tensor>();
  const renamed = new Map<Node, Node>();
  const fresh = (base: string) => {
    let name = `${base}_smoothed`;
    for (let k = 2; consts.has(name) || replaced.has(name); k++) name = `${base}_smoothed_${k}`;
    return name;
  };
  for (const [t, s] of factors) {
    const C = t.channels;
    const scaled = (name: string, f: (v: number, j: number) => number, dims: readonly number[]) => {
      const out = fresh(name);
      replaced.set(out, makeFloatTensor(out, dims, tensorToFloat64(consts.get(name)!).map((v, i) => f(v, i))));
      return out;
    };
    const gName = scaled(t.norm.inputs[1]!, (v, j) => v / s[j % C]!, consts.get(t.norm.inputs[1]!)!.dims.map(Number));
    const bName = t.norm.inputs[2] ? scaled(t.norm.inputs[2], (v, j) => v / s[j % C]!, consts.get(t.norm.inputs[2])!.dims.map(Number)) : "";
    renamed.set(t.norm, { ...t.norm, inputs: [t.norm.inputs[0]!, gName, ...(t.norm.inputs[2] ? [bName] : []), ...t.norm.inputs.slice(3)] });
    t.readers.forEach((r) => {
      const dims = consts.get(r.inputs[1]!)!.dims.map(Number);
      const rows = r.opType === "MatMul";
      const other = dims[rows ? 1 : 0]!;
      const w = scaled(r.inputs[1]!, (v, i) => v * s[rows ? Math.floor(i / other) : i % C]!, dims);
      renamed.set(r, { ...r, inputs: [r.inputs[0]!, w, ...r.inputs.slice(2)] });
    });
  }
  const nodes = g.nodes.map((n) => renamed.get(n) ?? n);
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = [...g.initializers.filter((t) => used.has(t.name!)), ...replaced.values()];
  return { ...g, nodes, initializers };
}
