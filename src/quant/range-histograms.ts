/**
 * The histograms the HTML report draws (`--html`): per quantized activation,
 * its calibration histogram with the clipping range every calibration method
 * would choose; per weight, its value histogram and per-channel [min, max].
 *
 * One extra pass. MinMax calibration keeps extremes only, and the other
 * methods keep histograms that are dropped after use, so with `--html` the
 * float model runs over the calibration data once more, every quantized
 * activation exposed, into StreamingHistograms of the same bin count the
 * ranges stage uses (so the chosen method's range here is the one the model
 * was quantized with). The pass's time is reported with the histograms
 * (`runMs` running the model and binning, `rangesMs` every method's range).
 *
 * Compacted for the page: the fine histogram (2048 or 65536 bins) is summed
 * into REPORT_BINS equal bins over [min, max]; a fine bin goes whole to the
 * coarse bin holding its centre. Numbers keep 4 significant digits.
 */
import { type Binned, DEFAULT_BINS, type StreamingHistogram } from "../calib/histogram.js";
import { type CalibrationMethod, chooseRange, DEFAULT_PERCENTILE, ENTROPY_HISTOGRAM_BINS, formatCalibrationMethod } from "../calib/range.js";
import type { Model } from "../ir/graph.js";
import { tensorToFloat64 } from "../ir/tensor.js";
import type { Progress } from "../util/progress.js";
import { calibrate } from "./calibrate.js";
import type { DataSource } from "./feeds.js";
import { readerBounds } from "./reader-bounds.js";
import type { ResolvedPlan } from "./resolve-plan.js";

/** Bins per histogram on the page. */
export const REPORT_BINS = 64;

/** The methods whose clipping the page marks. */
export const MARKED_METHODS: readonly CalibrationMethod[] = [{ kind: "minmax" }, { kind: "percentile", percentile: DEFAULT_PERCENTILE }, { kind: "mse" }, { kind: "entropy" }];

/** A compact histogram: `counts[j]` values in [lo + j·width, lo + (j+1)·width). */
export interface CompactHistogram {
  readonly lo: number;
  readonly width: number;
  readonly counts: number[];
}

export interface ActivationHistogram extends CompactHistogram {
  readonly tensor: string;
  /** The node computing the tensor (null for a graph input). */
  readonly node: string | null;
  readonly format: string;
  /** The calibration method this tensor was quantized with, as named in `ranges`. */
  readonly chosen: string;
  readonly min: number;
  readonly max: number;
  /** [lo, hi] each method would clip to, by method name. */
  readonly ranges: Record<string, [number, number]>;
}

export interface WeightHistogram extends CompactHistogram {
  readonly tensor: string;
  /** The node reading the weight. */
  readonly node: string;
  readonly min: number;
  readonly max: number;
  /** Per-channel extremes along `axis` (the output channels), when the weight has such an axis. */
  readonly channels: { readonly axis: number; readonly min: number[]; readonly max: number[] } | null;
}

export interface RangeHistograms {
  /** The extra calibration pass: its time, samples and bins (null without calibration data). */
  readonly pass: { readonly ms: number; readonly runMs: number; readonly rangesMs: number; readonly samples: number; readonly tensors: number; readonly bins: number } | null;
  readonly activations: ActivationHistogram[];
  readonly weights: WeightHistogram[];
}

const r4 = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);

/** Sums `values` (or a fine histogram's bin centres with their counts) into REPORT_BINS bins over [min, max]. */
function compact(centres: ArrayLike<number>, weights: ArrayLike<number> | null, min: number, max: number): CompactHistogram {
  const counts = new Array<number>(REPORT_BINS).fill(0);
  const width = max > min ? (max - min) / REPORT_BINS : 0;
  for (let i = 0; i < centres.length; i++) {
    const w = weights ? weights[i]! : 1;
    if (w === 0) continue;
    const j = width > 0 ? Math.min(REPORT_BINS - 1, Math.max(0, Math.floor((centres[i]! - min) / width))) : 0;
    counts[j]! += w;
  }
  return { lo: r4(min), width: r4(width), counts };
}

function compactBinned(b: Binned): CompactHistogram {
  const centres = new Float64Array(b.counts.length);
  for (let j = 0; j < centres.length; j++) centres[j] = b.lo + (j + 0.5) * b.width;
  return compact(centres, b.counts, b.min, b.max);
}

/** Weight histograms and per-channel bands of every quantized weight (slot 1) of `plan`. */
export function weightHistograms(plan: ResolvedPlan): WeightHistogram[] {
  return plan.weights
    .filter((w) => w.slot === 1)
    .map((w) => {
      const v = tensorToFloat64(w.tensor);
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const x of v) {
        if (x < min) min = x;
        if (x > max) max = x;
      }
      let channels: WeightHistogram["channels"] = null;
      const dims = w.tensor.dims;
      if (w.axis >= 0 && w.axis < dims.length && dims.length > 1) {
        const n = dims[w.axis]!;
        const inner = dims.slice(w.axis + 1).reduce((a, b) => a * b, 1);
        const cmin = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
        const cmax = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
        for (let i = 0; i < v.length; i++) {
          const c = Math.floor(i / inner) % n;
          if (v[i]! < cmin[c]!) cmin[c] = v[i]!;
          if (v[i]! > cmax[c]!) cmax[c] = v[i]!;
        }
        channels = { axis: w.axis, min: cmin.map(r4), max: cmax.map(r4) };
      }
      return { tensor: w.tensor.name ?? "", node: w.node.name ?? w.node.opType, min: r4(min), max: r4(max), channels, ...compact(v, null, min, max) };
    });
}

/**
 * The extra histogram pass over `source` on `model` (the float model the
 * plan was made for), and every method's clipping range per activation
 * (within its reader bounds, reader-bounds.ts, as the ranges stage chose).
 */
export async function activationHistograms(
  model: Model,
  plan: ResolvedPlan,
  source: DataSource,
  opts: { batchSize: number; threads?: number; progress?: Progress },
): Promise<{ activations: ActivationHistogram[]; pass: NonNullable<RangeHistograms["pass"]> }> {
  const t0 = performance.now();
  const tensors = plan.activations.filter((t) => plan.acts.has(t));
  const bins = [...plan.acts.values()].some((a) => a.calibration.kind === "entropy") ? ENTROPY_HISTOGRAM_BINS : DEFAULT_BINS;
  const { histograms, samples } = await calibrate(model, source, tensors, { batchSize: opts.batchSize, threads: opts.threads, progress: opts.progress, statistics: "histogram", histogramBins: bins });
  const t1 = performance.now();
  const producer = new Map<string, string>();
  for (const n of model.graph!.nodes) for (const o of n.outputs) producer.set(o, n.name ?? n.opType);
  const activations: ActivationHistogram[] = [];
  // Each method chooses within the tensor's reader bounds, as the ranges stage did.
  const bounds = readerBounds(model.graph!, tensors);
  for (const t of tensors) {
    const h = histograms.get(t) as StreamingHistogram | undefined;
    const a = plan.acts.get(t)!;
    if (!h || h.count === 0) continue;
    const target = { bits: a.format.bits, signed: a.format.signed, symmetric: a.symmetric };
    const ranges: Record<string, [number, number]> = {};
    for (const m of [...MARKED_METHODS, a.calibration]) {
      const r = chooseRange(h, m, target, bounds.get(t));
      ranges[formatCalibrationMethod(m)] = [r4(r.lo), r4(r.hi)];
    }
    const b = h.binned();
    activations.push({ tensor: t, node: producer.get(t) ?? null, format: a.name, chosen: formatCalibrationMethod(a.calibration), min: r4(b.min), max: r4(b.max), ranges, ...compactBinned(b) });
  }
  const t2 = performance.now();
  return { activations, pass: { ms: Math.round(t2 - t0), runMs: Math.round(t1 - t0), rangesMs: Math.round(t2 - t1), samples, tensors: tensors.length, bins } };
}
