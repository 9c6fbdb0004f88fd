/**
 * What `fixq quantize --html` adds to the run's JSON for the report's range
 * sections: weight histograms (from the weights, no run) and activation
 * histograms from one extra pass over the calibration data
 * (quant/range-histograms.ts), with that pass's cost.
 */
import type { Model } from "../ir/graph.js";
import type { DataSource } from "../quant/feeds.js";
import { type RangeHistograms, activationHistograms, weightHistograms } from "../quant/range-histograms.js";
import type { QuantizeResult } from "../quant/quantize.js";
import type { Progress } from "../util/progress.js";

export interface HistogramPassInput {
  readonly result: QuantizeResult;
  /** Opens the calibration data again; undefined in data-free mode (no activation histograms then). */
  readonly reopen?: () => DataSource;
  readonly batchSize: number;
  readonly threads?: number;
  readonly progress: Progress;
  readonly floatModel?: Model;
}

/** The `histograms` key of the quantize summary. */
export async function reportHistograms(x: HistogramPassInput): Promise<RangeHistograms> {
  const weights = weightHistograms(x.result.plan);
  if (!x.reopen) return { pass: null, activations: [], weights };
  const source = x.reopen();
  try {
    const { activations, pass } = await activationHistograms(x.floatModel ?? x.result.floatModel, x.result.plan, source, { batchSize: x.batchSize, threads: x.threads, progress: x.progress });
    return { pass, activations, weights };
  } finally {
    source.close();
  }
}
