/**
 * The Hessian proxy (`--sensitivity hessian`), forward-only: Hutchinson's
 * estimate of the trace of each layer's Hessian of the output loss L (the
 * measured metric, measure.ts: KL of softmax or relative MSE against the
 * float output) by central finite differences along Rademacher directions,
 *
 *   vᵀHv ≈ (L(w + εv) + L(w − εv) − 2·L(w)) / ε²,   L(w) = 0 at the float weights
 *   Tr(H) ≈ (1/P) Σ_p v_pᵀ H v_p                    v_p ∈ {−1, +1}ⁿ
 *
 * with ε = HESSIAN_STEP · rms(W) and P = HESSIAN_PROBES, and the sensitivity
 * of candidate c as the second-order term with an isotropic Hessian (HAWQ):
 *
 *   S[l, c] = ½ · Tr(H) / n · ‖W − Q_c(W)‖²
 *
 * The directions are seeded by the node name and probe index, so shards and
 * re-runs measure the same ones. Tr(H) does not depend on the candidate: one
 * cache entry per layer and probe.
 */
import { Rng } from "../../util/random.js";
import type { MeasurePair } from "./measure.js";

export const HESSIAN_PROBES = 4;
/** ε relative to the weight's root mean square. */
export const HESSIAN_STEP = 0.05;

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

const rms = (w: Float32Array) => Math.sqrt(w.reduce((s, x) => s + x * x, 0) / Math.max(1, w.length));

/** The key of one probe's entry: node, probe index and sign. */
export const probeKey = (node: string, p: number, sign: 1 | -1) => `${node}\thessian-${p}${sign > 0 ? "+" : "-"}`;

/** The perturbed weights W ± εv of every probe of one layer. */
export function hessianPairs(node: string, weight: string, w: Float32Array): MeasurePair[] {
  const eps = HESSIAN_STEP * rms(w);
  const out: MeasurePair[] = [];
  for (let p = 0; p < HESSIAN_PROBES; p++) {
    const rng = new Rng(seedOf(`${node}#${p}`));
    const v = Float32Array.from(w, () => (rng.chance(0.5) ? 1 : -1));
    for (const sign of [1, -1] as const) out.push({ key: probeKey(node, p, sign), weight, values: Float32Array.from(w, (x, i) => x + sign * eps * v[i]!) });
  }
  return out;
}

/** Tr(H) of one layer from its probe entries (undefined while any is missing). */
export function traceOf(entries: ReadonlyMap<string, number>, node: string, w: Float32Array): number | undefined {
  const eps = HESSIAN_STEP * rms(w);
  let sum = 0;
  for (let p = 0; p < HESSIAN_PROBES; p++) {
    const plus = entries.get(probeKey(node, p, 1));
    const minus = entries.get(probeKey(node, p, -1));
    if (plus === undefined || minus === undefined) return undefined;
    sum += (plus + minus) / (eps * eps);
  }
  return sum / HESSIAN_PROBES;
}

/** ½ · Tr(H)/n · ‖W − Q(W)‖². */
export function hessianSensitivity(trace: number, w: Float32Array, q: Float32Array): number {
  let d = 0;
  for (let i = 0; i < w.length; i++) d += (w[i]! - q[i]!) ** 2;
  return (0.5 * trace * d) / Math.max(1, w.length);
}
