/**
 * equalize: cross-layer equalization (Nagel et al. 2019, "Data-Free
 * Quantization Through Weight Equalization and Bias Correction", §4.1).
 *
 * For a chain layer₁ → f → layer₂ with f(x/s) = f(x)/s per channel (ReLU,
 * LeakyReLU, PReLU, identity, pooling; see chains.ts), scaling output channel
 * i of layer₁ by 1/sᵢ and input channel i of layer₂ by sᵢ leaves the function
 * unchanged. With r⁽¹⁾ᵢ the range of layer₁'s output channel i weights and
 * r⁽²⁾ᵢ the range of layer₂'s input channel i weights, the paper's choice
 *
 *   sᵢ = (1/r⁽²⁾ᵢ) · √(r⁽¹⁾ᵢ · r⁽²⁾ᵢ)
 *   W⁽¹⁾[i, …] /= sᵢ    b⁽¹⁾ᵢ /= sᵢ    W⁽²⁾[…, i, …] *= sᵢ
 *
 * makes both ranges √(r⁽¹⁾ᵢ·r⁽²⁾ᵢ), which maximizes the product of the
 * per-channel precisions under per-tensor quantization. The range used is
 * max|w| (the symmetric quantization range; max − min scales the same way).
 * A channel with an all-zero side keeps sᵢ = 1; so does a numerically dead
 * one, whose range is below 1e-6 of its layer's largest channel range:
 * equalizing it would multiply its (bias-only) activation by up to 1e17.
 *
 * Chains that share a layer (Conv → depthwise Conv → Conv: the depthwise conv
 * is layer₂ of one chain and layer₁ of the next; a depthwise conv's input
 * channel i is its output channel i) are equalized pair by pair, sweeping
 * over all chains until max |ln sᵢ| < tolerance or maxIterations sweeps.
 *
 * BN statistics of layer₁'s output (graph.bnStats) are divided by sᵢ too.
 * Chains are never formed across a value with two readers (a residual branch
 * point) or a graph output; ReLU6 stops a chain (see relu6-to-relu.ts).
 */
import type { Graph } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { findChains, type Skipped, scaleRule } from "./chains.js";
import { GraphEdit } from "./graph-edit.js";
import { channelRanges, DEAD_CHANNEL, type Layer, rangeSpread, readBias, readWeights, type WeightLayout, weightLayout, writeBias, writeWeights } from "./layers.js";

export interface EqualizeOptions {
  /** Sweeps over all chains at most (default 100). */
  readonly maxIterations?: number;
  /** Stop when every scale of a sweep has |ln s| below this (default 1e-6). */
  readonly tolerance?: number;
}

export interface LayerSpread {
  readonly layer: string;
  /** max/min over output channels of max|w|, before and after. */
  readonly before: number;
  readonly after: number;
}

export interface EqualizeReport {
  readonly pass: "equalize";
  readonly chains: readonly { readonly first: string; readonly second: string; readonly through: readonly string[] }[];
  readonly skipped: readonly Skipped[];
  readonly layers: readonly LayerSpread[];
  readonly iterations: number;
  readonly converged: boolean;
}

interface LayerState {
  readonly layer: Layer;
  readonly w: Float64Array;
  readonly layout: WeightLayout;
  bias?: Float64Array;
}

export function equalize(g: Graph, opts: EqualizeOptions = {}): { graph: Graph; report: EqualizeReport } {
  const maxIterations = opts.maxIterations ?? 100;
  const tolerance = opts.tolerance ?? 1e-6;
  const ed = new GraphEdit(g);
  const { chains, skipped } = findChains(ed, inferTypes(g), scaleRule);
  const chainNames = chains.map((c) => ({ first: c.first.name, second: c.second.name, through: c.through }));
  if (chains.length === 0) return { graph: g, report: { pass: "equalize", chains: [], skipped, layers: [], iterations: 0, converged: true } };

  const states = new Map<number, LayerState>();
  const state = (layer: Layer): LayerState => {
    let s = states.get(layer.node);
    if (!s) {
      s = { layer, w: readWeights(ed, layer), layout: weightLayout(ed, layer) };
      states.set(layer.node, s);
    }
    return s;
  };
  const pairs = chains.map((c) => {
    const a = state(c.first);
    const b = state(c.second);
    if (c.first.bias) a.bias = readBias(ed, c.first);
    const channel = b.layout.in.map((k) => Math.floor(k / c.perChannel));
    return { chain: c, a, b, channel, total: new Float64Array(c.first.outChannels).fill(1) };
  });
  const spread = (s: LayerState) => rangeSpread(channelRanges(s.w, s.layout.out, s.layer.outChannels));
  const before = new Map([...states].map(([k, s]) => [k, spread(s)]));

  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    let worst = 0;
    for (const p of pairs) {
      const n = p.chain.first.outChannels;
      const r1 = channelRanges(p.a.w, p.a.layout.out, n);
      const r2 = channelRanges(p.b.w, p.channel, n);
      const [dead1, dead2] = [DEAD_CHANNEL * r1.reduce((a, b) => Math.max(a, b), 0), DEAD_CHANNEL * r2.reduce((a, b) => Math.max(a, b), 0)];
      const s = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        s[i] = r1[i]! > dead1 && r2[i]! > dead2 ? Math.sqrt(r1[i]! * r2[i]!) / r2[i]! : 1;
        worst = Math.max(worst, Math.abs(Math.log(s[i]!)));
        p.total[i] = p.total[i]! * s[i]!;
      }
      const { w: w1, layout: l1 } = p.a;
      for (let k = 0; k < w1.length; k++) w1[k] = w1[k]! / s[l1.out[k]!]!;
      if (p.a.bias) for (let i = 0; i < n; i++) p.a.bias[i] = p.a.bias[i]! / s[i]!;
      const w2 = p.b.w;
      for (let k = 0; k < w2.length; k++) w2[k] = w2[k]! * s[p.channel[k]!]!;
    }
    converged = worst < tolerance;
  }

  for (const s of states.values()) {
    writeWeights(ed, s.layer, s.w);
    if (s.bias) writeBias(ed, s.layer, s.bias);
  }
  for (const p of pairs) {
    const stats = ed.bnStats(p.chain.first.output);
    if (!stats) continue;
    const beta = stats.beta.map((x, i) => x / p.total[i]!);
    const gamma = stats.gamma.map((x, i) => x / p.total[i]!);
    ed.setBnStats(p.chain.first.output, { beta, gamma });
  }
  const layers = [...states].map(([k, s]) => ({ layer: s.layer.name, before: before.get(k)!, after: spread(s) }));
  return { graph: ed.finish(), report: { pass: "equalize", chains: chainNames, skipped, layers, iterations, converged } };
}
