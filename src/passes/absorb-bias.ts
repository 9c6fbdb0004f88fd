/**
 * absorbHighBias: high-bias absorption (Nagel et al. 2019, §4.1.1). For a
 * chain layer₁ → ReLU → layer₂ whose layer₁ output has BN statistics
 * (graph.bnStats: channel i ~ N(βᵢ, γᵢ²)), take per channel
 *
 *   cᵢ = max(0, βᵢ − 3·|γᵢ|)
 *   b⁽¹⁾ᵢ −= cᵢ          b⁽²⁾ₒ += α · Σᵢ cᵢ · Σ_{k} W⁽²⁾[o, i, k]
 *
 * (k runs over kernel positions; α is Gemm's alpha, else 1; β⁽ᴮᴺ⁾ᵢ −= cᵢ).
 * This moves cᵢ out of the activation's range into layer₂'s bias. It relies
 * on ReLU(x − cᵢ) = ReLU(x) − cᵢ, true when x ≥ cᵢ, which holds for all but
 * ~0.1% of a normal N(βᵢ, γᵢ²) since cᵢ ≤ βᵢ − 3|γᵢ|: an approximation, exact
 * only for activations that satisfy it. For a Conv layer₂ it is also exact
 * only where the window does not touch padding: padded positions hold 0, not
 * −cᵢ, so output positions at the border get Σ over the padded taps of
 * W·cᵢ too much. LeakyReLU and PReLU are identities for x ≥ cᵢ > 0 too; the
 * identity, max pooling and average pooling without counted padding commute
 * with the shift exactly. Clip with a finite upper bound (ReLU6) does not and
 * stops the chain.
 */
import { attrInt, attrInts, attrString } from "../ir/attrs.js";
import type { Graph } from "../ir/graph.js";
import { inferTypes } from "../ir/infer-types.js";
import { clipBounds, findChains, type LinkRule, type Skipped } from "./chains.js";
import { GraphEdit } from "./graph-edit.js";
import { type Layer, readBias, readWeights, weightLayout, writeBias } from "./layers.js";

export interface AbsorbReport {
  readonly pass: "absorb-bias";
  readonly absorbed: readonly { readonly first: string; readonly second: string; readonly channels: number; readonly maxShift: number }[];
  readonly skipped: readonly Skipped[];
}

const SHIFT_COMPATIBLE = new Set(["Relu", "LeakyRelu", "PRelu", "Identity", "MaxPool", "GlobalMaxPool", "GlobalAveragePool"]);

/** Ops through which subtracting cᵢ ≥ 0 from channel i of the input subtracts it from the output (for inputs ≥ cᵢ). */
export const shiftRule: LinkRule = (ed, n) => {
  if (SHIFT_COMPATIBLE.has(n.opType)) return "pass";
  if (n.opType === "AveragePool") {
    const padded = (attrInts(n, "pads") ?? []).some((p) => p !== 0) || ["SAME_UPPER", "SAME_LOWER"].includes(attrString(n, "auto_pad") ?? "");
    return attrInt(n, "count_include_pad", 0) === 1 && padded ? { stop: "AveragePool counts padding" } : "pass";
  }
  if (n.opType === "Clip") {
    const b = clipBounds(ed, n);
    if (b && b.lo <= 0 && b.hi === Number.POSITIVE_INFINITY) return "pass";
    return { stop: "Clip with an upper bound does not commute with a shift" };
  }
  return { stop: `${n.opType} does not commute with a per-channel shift` };
};

export function absorbHighBias(g: Graph): { graph: Graph; report: AbsorbReport } {
  const ed = new GraphEdit(g);
  const absorbed: { first: string; second: string; channels: number; maxShift: number }[] = [];
  const skipped: Skipped[] = [];
  if (!g.bnStats || g.bnStats.size === 0) return { graph: g, report: { pass: "absorb-bias", absorbed, skipped: [{ layer: "*", reason: "the graph has no BN statistics (no BatchNormalization was folded)" }] } };
  const found = findChains(ed, inferTypes(g), shiftRule);
  skipped.push(...found.skipped);
  // Biases accumulate in memory: a layer can be layer₂ of one chain and layer₁ of the next.
  const biases = new Map<number, { layer: Layer; b: Float64Array }>();
  const bias = (l: Layer) => {
    let s = biases.get(l.node);
    if (!s) {
      s = { layer: l, b: readBias(ed, l) };
      biases.set(l.node, s);
    }
    return s.b;
  };
  for (const { first, second, perChannel } of found.chains) {
    const stats = ed.bnStats(first.output);
    if (!stats) {
      skipped.push({ layer: first.name, reason: `no BN statistics on '${first.output}'` });
      continue;
    }
    const c = stats.beta.map((b, i) => Math.max(0, b - 3 * Math.abs(stats.gamma[i]!)));
    const channels = c.filter((x) => x > 0).length;
    if (channels === 0) {
      skipped.push({ layer: first.name, reason: "β − 3|γ| ≤ 0 in every channel" });
      continue;
    }
    const b1 = bias(first);
    for (let i = 0; i < c.length; i++) b1[i] = b1[i]! - c[i]!;
    const b2 = bias(second);
    const w2 = readWeights(ed, second);
    const layout = weightLayout(ed, second);
    for (let k = 0; k < w2.length; k++) {
      const o = layout.out[k]!;
      b2[o] = b2[o]! + second.alpha * w2[k]! * c[Math.floor(layout.in[k]! / perChannel)]!;
    }
    ed.setBnStats(first.output, { beta: stats.beta.map((b, i) => b - c[i]!), gamma: stats.gamma });
    absorbed.push({ first: first.name, second: second.name, channels, maxShift: Math.max(...c) });
  }
  for (const { layer, b } of biases.values()) writeBias(ed, layer, b);
  return { graph: ed.finish(), report: { pass: "absorb-bias", absorbed, skipped } };
}
