/**
 * Per-channel expectations of activations from BatchNormalization statistics,
 * with no data (Nagel et al. 2019, §4.2, analytic bias correction).
 *
 * A folded layer's output y (graph.bnStats) has, per channel c, y_c ~ N(β_c, γ_c²).
 * Through a clipping activation clip(y, a, b) (ReLU: a = 0, b = ∞; ReLU6:
 * a = 0, b = 6), with α = (a − μ)/σ, β' = (b − μ)/σ, Φ/φ the standard normal
 * CDF/density:
 *
 *   E[clip(y, a, b)] = a·Φ(α) + μ·(Φ(β') − Φ(α)) + σ·(φ(α) − φ(β')) + b·(1 − Φ(β'))
 *
 * (integrate y·φ over [a, b] and add the two clipped tails; a term vanishes
 * when its bound is infinite). For ReLU this is μ·Φ(μ/σ) + σ·φ(μ/σ).
 * LeakyReLU(s): E = E[relu(y)] + s·(μ − E[relu(y)]).
 *
 * Propagation through the graph, per value (`Moments`):
 * - a value with BN statistics: normal N(β, γ²) per channel;
 * - Relu, Clip with constant bounds, LeakyRelu of a normal value: its mean;
 * - Identity, Dropout: unchanged; AveragePool, GlobalAveragePool: the mean
 *   (an average of equally distributed values; padded borders are ignored);
 * - Add of two known values: means add. When both are normal, the sum is
 *   taken as normal with σ² = σ_a² + σ_b², which assumes the two branches are
 *   independent (an approximation: a residual block's branches share their
 *   input). Adding a per-channel constant shifts the mean;
 * - Flatten(axis 1) of [N, C, d…] with static d: feature f takes channel ⌊f/Πd⌋'s;
 * - anything else (MaxPool, a graph input, an activation of a mean-only
 *   value, …): unknown, with the reason.
 */
import { attr, isDefaultDomain } from "../ir/attrs.js";
import type { Graph, Node, TensorType } from "../ir/graph.js";
import { clipBounds } from "./chains.js";
import type { GraphEdit } from "./graph-edit.js";
import { isLayerOp } from "./layers.js";

/** Per-channel moments of a value: normal (mean and standard deviation) or mean only. */
export type Moments = { readonly kind: "normal"; readonly mu: Float64Array; readonly sigma: Float64Array } | { readonly kind: "mean"; readonly mu: Float64Array };

/** erfc, Numerical Recipes' Chebyshev fit (fractional error below 1.2e-7 everywhere). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + p);
  return x >= 0 ? r : 2 - r;
}

export const normalCdf = (z: number): number => (z === Number.POSITIVE_INFINITY ? 1 : z === Number.NEGATIVE_INFINITY ? 0 : 0.5 * erfc(-z / Math.SQRT2));
export const normalPdf = (z: number): number => (Number.isFinite(z) ? Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI) : 0);

/** E[clip(y, a, b)] for y ~ N(mu, sigma²), a ≤ b (±Infinity allowed); the formula in the header. */
export function clippedNormalMean(mu: number, sigma: number, a: number, b: number): number {
  if (!(sigma > 0)) return Math.min(b, Math.max(a, mu));
  const za = (a - mu) / sigma;
  const zb = (b - mu) / sigma;
  const [pa, pb] = [normalCdf(za), normalCdf(zb)];
  const low = Number.isFinite(a) ? a * pa : 0;
  const high = Number.isFinite(b) ? b * (1 - pb) : 0;
  return low + mu * (pb - pa) + sigma * (normalPdf(za) - normalPdf(zb)) + high;
}


/**
 * Moments of every value the rules above reach, and for the others why not
 * (`unknown`). Values are visited in graph order (the graph must be sorted).
 */
export function propagateMoments(ed: GraphEdit, types: ReadonlyMap<string, TensorType>): { moments: Map<string, Moments>; unknown: Map<string, string> } {
  const g: Graph = ed.graph;
  const moments = new Map<string, Moments>();
  const unknown = new Map<string, string>();
  for (const v of g.inputs) if (!ed.constant(v.name)) unknown.set(v.name, `'${v.name}' is a graph input (no BN statistics)`);
  const why = (v: string) => unknown.get(v) ?? `'${v}' has no known distribution`;
  for (let i = 0; i < ed.nodeCount; i++) {
    const n = ed.node(i);
    if (!n) continue;
    const y = n.outputs[0] ?? "";
    const stats = ed.bnStats(y);
    if (stats) {
      moments.set(y, { kind: "normal", mu: stats.beta, sigma: stats.gamma.map(Math.abs) });
      continue;
    }
    const out = isDefaultDomain(n) ? step(ed, types, n, moments, why) : `${n.opType} (domain ${n.domain}) is not modelled`;
    if (typeof out === "string") unknown.set(y, out);
    else moments.set(y, out);
  }
  return { moments, unknown };
}

function step(ed: GraphEdit, types: ReadonlyMap<string, TensorType>, n: Node, m: ReadonlyMap<string, Moments>, why: (v: string) => string): Moments | string {
  const x = n.inputs[0] ?? "";
  const mx = m.get(x);
  switch (n.opType) {
    case "Identity":
    case "Dropout":
      return mx ?? why(x);
    case "GlobalAveragePool":
    case "AveragePool":
      return mx ? { kind: "mean", mu: mx.mu } : why(x);
    case "Relu":
    case "Clip":
    case "LeakyRelu": {
      if (!mx) return why(x);
      if (mx.kind !== "normal") return `${n.opType} of '${x}', whose distribution is unknown (only its mean is)`;
      if (n.opType === "LeakyRelu") {
        const s = attr(n, "alpha")?.f ?? 0.01;
        return { kind: "mean", mu: mx.mu.map((mu, c) => ((r) => r + s * (mu - r))(clippedNormalMean(mu, mx.sigma[c]!, 0, Number.POSITIVE_INFINITY))) };
      }
      const b = n.opType === "Relu" ? { lo: 0, hi: Number.POSITIVE_INFINITY } : clipBounds(ed, n);
      if (!b) return `Clip '${n.name ?? n.outputs[0]}' has non-constant bounds`;
      return { kind: "mean", mu: mx.mu.map((mu, c) => clippedNormalMean(mu, mx.sigma[c]!, b.lo, b.hi)) };
    }
    case "Add":
      return addMoments(ed, n, m, why);
    case "Flatten": {
      if (!mx) return why(x);
      const shape = types.get(x)?.shape;
      const spatial = shape?.slice(2);
      if (Number(attr(n, "axis")?.i ?? 1) !== 1 || !spatial || spatial.some((d) => typeof d !== "number")) return `Flatten of '${x}' with unknown spatial dims`;
      const per = (spatial as number[]).reduce((a, b) => a * b, 1);
      const expand = (a: Float64Array) => Float64Array.from({ length: a.length * per }, (_, f) => a[Math.floor(f / per)]!);
      return mx.kind === "normal" ? { kind: "normal", mu: expand(mx.mu), sigma: expand(mx.sigma) } : { kind: "mean", mu: expand(mx.mu) };
    }
    default:
      return isLayerOp(n) ? `'${n.outputs[0]}' comes from a ${n.opType} without BN statistics` : `${n.opType} is not modelled`;
  }
}

function addMoments(ed: GraphEdit, n: Node, m: ReadonlyMap<string, Moments>, why: (v: string) => string): Moments | string {
  const [a = "", b = ""] = n.inputs;
  const [ca, cb] = [ed.floats(a), ed.floats(b)];
  if (ca || cb) {
    const [k, v] = ca ? [ca, b] : [cb!, a];
    const mv = m.get(v);
    if (!mv) return why(v);
    if (k.length !== 1 && k.length !== mv.mu.length) return `Add of a constant that is not per channel`;
    const mu = mv.mu.map((x, c) => x + k[k.length === 1 ? 0 : c]!);
    return mv.kind === "normal" ? { kind: "normal", mu, sigma: mv.sigma } : { kind: "mean", mu };
  }
  const [ma, mb] = [m.get(a), m.get(b)];
  if (!ma) return why(a);
  if (!mb) return why(b);
  if (ma.mu.length !== mb.mu.length) return `Add of '${a}' and '${b}' with different channel counts`;
  const mu = ma.mu.map((x, c) => x + mb.mu[c]!);
  if (ma.kind === "normal" && mb.kind === "normal") return { kind: "normal", mu, sigma: ma.sigma.map((s, c) => Math.hypot(s, mb.sigma[c]!)) };
  return { kind: "mean", mu };
}
