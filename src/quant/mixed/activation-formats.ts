/**
 * The activations a layer's format decides, and how to measure a
 * candidate's activation format with them (fake-quant-graph.ts).
 *
 * An activation takes the format of its producer (a fused Relu or Clip
 * counts as part of the layer before it; resolve-plan.ts), so layer l's
 * `acts` decides l's output (after a fused activation), and l's input when
 * that input is a graph input (no producer; its first reader decides). Only
 * tensors the plan quantizes count. For each of them and each static integer
 * activation format among the candidates (uint8, int8, uint16, int16), the
 * range is calibrated as the real quantizer does (the candidate's
 * calibration method on the calibration data, calib/range.ts) and turned
 * into scale and zero point (specs.ts `activationSpec`). Float, FP8, MX,
 * NVFP4 and fixed-point activation formats are not measured (their S is the
 * weight's alone),
 * nor are any in a model of default-domain opset below 11 (no Round).
 */
import { chooseRange, ENTROPY_HISTOGRAM_BINS } from "../../calib/range.js";
import { DEFAULT_BINS, type StreamingHistogram } from "../../calib/histogram.js";
import { type Graph, type Model, opsetVersion } from "../../ir/graph.js";
import { calibrate } from "../calibrate.js";
import type { DataSource } from "../feeds.js";
import { planQuantization } from "../plan.js";
import { readerBounds } from "../reader-bounds.js";
import type { Recipe } from "../recipe.js";
import { actChoice, type ActChoice } from "../resolve-plan.js";
import { activationSpec } from "../specs.js";
import type { Candidate } from "./candidates.js";
import type { ActFakeQuant } from "./fake-quant-graph.js";
import type { MixedSite } from "./layers.js";

export interface ActivationMeasurement {
  /** Every switchable fake quantization (tensor × format). */
  readonly list: readonly ActFakeQuant[];
  /** The switches to turn on when measuring site `si` under candidate `ci`. */
  readonly masks: (si: number, ci: number) => readonly string[];
}

/** The quantized activations layer `s` decides: its output (after a fused activation) and its input if a graph input. */
export function decidedActivations(g: Graph, recipe: Recipe, sites: readonly MixedSite[]): string[][] {
  const plan = planQuantization(g, recipe);
  const quantized = new Set(plan.activations);
  const fused = new Set(plan.decisions.filter((d) => d.role === "fused-activation").map((d) => d.node));
  const produced = new Set(g.nodes.flatMap((n) => n.outputs));
  return sites.map((s) => {
    let out = s.node.outputs[0]!;
    const readers = g.nodes.filter((n) => n.inputs.includes(out));
    if (readers.length === 1 && fused.has(readers[0]!)) out = readers[0]!.outputs[0]!;
    return [out, ...(produced.has(s.input) ? [] : [s.input])].filter((t) => quantized.has(t));
  });
}

const isIntegerStatic = (a: ActChoice) => a.scheme === undefined && a.fixed === undefined;
const formatKey = (a: ActChoice) => `${a.name}${a.symmetric ? "-sym" : ""}-${JSON.stringify(a.calibration)}`;

/** Calibrates the decided activations and builds the switchable fake quantizations of every candidate's activation format. */
export async function activationMeasurement(float: Model, source: DataSource, recipe: Recipe, sites: readonly MixedSite[], candidates: readonly Candidate[], o: { batchSize: number; threads?: number }): Promise<ActivationMeasurement> {
  const choices = candidates.map((c) => actChoice(c.settings));
  const tensorsOf = decidedActivations(float.graph!, recipe, sites);
  const tensors = [...new Set(tensorsOf.flat())];
  if (tensors.length === 0 || !choices.some(isIntegerStatic) || (opsetVersion(float) ?? 0) < 11) return { list: [], masks: () => [] };
  const bins = choices.some((a) => a.calibration.kind === "entropy") ? ENTROPY_HISTOGRAM_BINS : DEFAULT_BINS;
  const { histograms } = await calibrate(float, source, tensors, { batchSize: o.batchSize, threads: o.threads, statistics: "histogram", histogramBins: bins });
  const list = new Map<string, ActFakeQuant>();
  // Within each tensor's reader bounds, as the ranges stage chooses (reader-bounds.ts).
  const bounds = readerBounds(float.graph!, tensors);
  const maskName = (t: string, a: ActChoice) => `fixq_mask·${t}·${formatKey(a)}`;
  for (const t of tensors) {
    const h = histograms.get(t) as StreamingHistogram | undefined;
    if (!h || h.count === 0) continue;
    for (const a of choices.filter(isIntegerStatic)) {
      const mask = maskName(t, a);
      if (list.has(mask)) continue;
      const r = chooseRange(h, a.calibration, { bits: a.format.bits, signed: a.format.signed, symmetric: a.symmetric }, bounds.get(t));
      const spec = activationSpec(r.lo, r.hi, a);
      list.set(mask, { tensor: t, mask, scale: spec.scale[0]!, zeroPoint: spec.zeroPoint[0]!, qmin: a.format.qmin, qmax: a.format.qmax });
    }
  }
  return {
    list: [...list.values()],
    masks: (si, ci) => (isIntegerStatic(choices[ci]!) ? tensorsOf[si]!.map((t) => maskName(t, choices[ci]!)).filter((m) => list.has(m)) : []),
  };
}
