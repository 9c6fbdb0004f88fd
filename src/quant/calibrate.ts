/**
 * Calibration: runs the float model in onnxruntime (graph optimizations off,
 * so no fusion hides a tensor) over the calibration samples in batches, and
 * accumulates per-tensor statistics. No raw activation is kept beyond the
 * current batch, so memory does not grow with the sample count.
 *
 * Two kinds of statistics:
 * - "histogram": every tensor is exposed as an extra output and each batch
 *   goes into a StreamingHistogram (what percentile, mse and entropy need).
 * - "extremes": only the exact finite min/max and count (all minmax needs).
 *   The tensors stay inside ORT: each gets ReduceMin, ReduceMax, ReduceSum
 *   and Size nodes, placed right after its producer, and only those scalars
 *   come out. With optimizations off every original node runs the same kernel
 *   on the same inputs as in the histogram run, and min/max are exact, so the
 *   extremes are the same numbers bit for bit (test/quant/calibrate.test.ts
 *   checks this on every bundled model). ORT's ReduceMin/ReduceMax skip NaN
 *   (except in the first element), so they are trusted only when the sum is
 *   finite too, which rules out NaN and ±Inf in the batch; a batch that fails
 *   this (non-finite values, or a sum that overflows) is run again afterwards
 *   with just the affected tensors exposed and scanned in JS. Either way the
 *   figures are exact, so the result does not depend on which path ran.
 */
import { createHash } from "node:crypto";
import { StreamingExtremes } from "../calib/extremes.js";
import { StreamingHistogram } from "../calib/histogram.js";
import { FixqError } from "../ir/errors.js";
import type { Model, Node } from "../ir/graph.js";
import { uniqueNamer } from "../ir/names.js";
import { type HostTensor, OrtSession } from "../runtime/ort-session.js";
import { type Progress, silentProgress } from "../util/progress.js";
import { type DataSource, modelInputs } from "./feeds.js";
import { sliceAxis } from "./signature.js";

export type CalibrationStatistics = "histogram" | "extremes";
export type TensorStatistics = StreamingHistogram | StreamingExtremes;

export interface CalibrationResult {
  /** Per calibrated tensor: a StreamingHistogram, or a StreamingExtremes when `statistics` was "extremes". */
  readonly histograms: Map<string, TensorStatistics>;
  readonly samples: number;
  /** SHA-256 over the calibration data as CalibrationHasher defines it, for provenance. */
  readonly sha256: string;
}

export interface CalibrateOptions {
  batchSize: number;
  threads?: number;
  progress?: Progress;
  /** Default "histogram". */
  statistics?: CalibrationStatistics;
  /** Bins of each StreamingHistogram (default DEFAULT_BINS, 2048); entropy wants ENTROPY_HISTOGRAM_BINS. */
  histogramBins?: number;
}

export async function calibrate(model: Model, source: DataSource, tensors: readonly string[], opts: CalibrateOptions): Promise<CalibrationResult> {
  const inputs = new Set(modelInputs(model.graph!).map((v) => v.name));
  const exposed = tensors.filter((t) => !inputs.has(t));
  const extremes = opts.statistics === "extremes";
  const stats = new Map<string, TensorStatistics>();
  for (const t of tensors) stats.set(t, extremes ? new StreamingExtremes() : new StreamingHistogram(opts.histogramBins));
  const hasher = new CalibrationHasher(source.sampleAxes);
  let samples = 0;
  const progress = opts.progress ?? silentProgress;
  const feedsIn = (feeds: Record<string, HostTensor>) => {
    for (const [name, f] of Object.entries(feeds)) stats.get(name)?.update(f.data as Float32Array);
    hasher.add(feeds);
  };

  if (!extremes) {
    await runAll(model, exposed, opts, async (session) => {
      await session.runSource(
        source,
        opts.batchSize,
        (out, feeds, _start, count) => {
          samples += count;
          for (const t of exposed) stats.get(t)!.update(tensorData(out, t));
          feedsIn(feeds);
        },
        progress,
      );
    });
    return { histograms: stats, samples, sha256: hasher.digest(source, opts.batchSize) };
  }

  const reduced = withReductions(model, exposed);
  /** Batches (by start) whose in-graph extremes could not be trusted, with the tensors concerned. */
  const redo = new Map<number, { count: number; tensors: string[] }>();
  await runAll(reduced.model, reduced.fetch, opts, async (session) => {
    await session.runSource(
      source,
      opts.batchSize,
      (out, feeds, start, count) => {
        samples += count;
        for (const [t, r] of reduced.outputs) {
          const size = Number(tensorData(out, r.size)[0]);
          if (size === 0) continue;
          const mn = Number(tensorData(out, r.min)[0]);
          const mx = Number(tensorData(out, r.max)[0]);
          const sum = Number(tensorData(out, r.sum)[0]);
          if (mn - mn === 0 && mx - mx === 0 && sum - sum === 0) (stats.get(t) as StreamingExtremes).add(size, mn, mx);
          else {
            const b = redo.get(start) ?? { count, tensors: [] };
            b.tensors.push(t);
            redo.set(start, b);
          }
        }
        feedsIn(feeds);
      },
      progress,
      // nothing to reduce (every calibrated tensor is a graph input): the run only streams the feeds
      reduced.fetch.length > 0 ? reduced.fetch : undefined,
    );
  });
  if (redo.size > 0) {
    const names = [...new Set([...redo.values()].flatMap((b) => b.tensors))];
    await runAll(model, names, opts, async (session) => {
      for (const [start, b] of redo) {
        const out = await session.run(source.batch(start, b.count), b.tensors);
        for (const t of b.tensors) stats.get(t)!.update(tensorData(out, t));
      }
    });
  }
  return { histograms: stats, samples, sha256: hasher.digest(source, opts.batchSize) };
}

async function runAll(model: Model, extraOutputs: readonly string[], opts: CalibrateOptions, body: (s: OrtSession) => Promise<void>): Promise<void> {
  const session = await OrtSession.create(model, { optimization: "disabled", threads: opts.threads, extraOutputs });
  try {
    await body(session);
  } finally {
    await session.release();
  }
}

function tensorData(out: Record<string, HostTensor>, name: string): Float32Array {
  const v = out[name];
  if (!v) throw new FixqError("runtime", `calibration did not produce tensor '${name}'`);
  return v.data as Float32Array;
}

/**
 * The calibration hash (README "Calibration hash"): SHA-256 over the model's
 * inputs sorted by name (UTF-16 code-unit order), each contributing the raw
 * little-endian bytes of every sample used, in sample order, in the input's
 * own dtype; nothing else (no names, shapes or separators). A sample is the
 * slice along the input's sample axis (axis 0, or e.g. axis 1 for an LSTM
 * state [2, batch, 64]); an input fed whole to every run (`--input-value`,
 * sample axis null) counts once. For a one-input model calibrated on a whole
 * C-order .npy file, that is the SHA-256 of the file after its header.
 *
 * The first input in name order is hashed as the batches stream past; any
 * other input is read from the source again afterwards (the concatenation
 * order forbids interleaving), so multi-input data is read twice.
 */
export class CalibrationHasher {
  private readonly hash = createHash("sha256");
  private names: string[] | undefined;
  private firstDone = false;

  constructor(private readonly axes?: ReadonlyMap<string, number | null>) {}

  /** Feeds one batch (in sample order). */
  add(feeds: Readonly<Record<string, HostTensor>>): void {
    this.names ??= Object.keys(feeds).sort();
    const first = this.names[0];
    const t = first === undefined ? undefined : feeds[first];
    if (t) this.update(first!, t);
  }

  /** Reads the inputs after the first from `source` and returns the hex digest. */
  digest(source: DataSource, batchSize: number): string {
    for (const name of (this.names ?? []).slice(1)) {
      this.firstDone = false;
      for (let start = 0; start < source.count; start += batchSize) {
        const t = source.batch(start, Math.min(batchSize, source.count - start))[name];
        if (t) this.update(name, t);
      }
    }
    return this.hash.digest("hex");
  }

  private update(name: string, t: HostTensor): void {
    const axis = this.axes?.has(name) ? this.axes.get(name)! : 0;
    if (axis === null) {
      if (!this.firstDone) this.hash.update(rawBytes(t));
      this.firstDone = true;
    } else if (axis === 0) this.hash.update(rawBytes(t));
    else for (let i = 0; i < t.dims[axis]!; i++) this.hash.update(rawBytes(sliceAxis(t, axis, i, 1)));
  }
}

/** The bytes of a tensor's data as stored (little-endian on every platform Node supports for ORT). */
function rawBytes(t: HostTensor): Uint8Array {
  const d = t.data as ArrayBufferView;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

interface Reductions {
  readonly min: string;
  readonly max: string;
  readonly sum: string;
  readonly size: string;
}

/**
 * The model with ReduceMin/ReduceMax/ReduceSum (all axes, keepdims 0) and
 * Size of every tensor in `tensors`, each group placed right after the
 * tensor's producer so ORT can free the tensor as early as before. `fetch`
 * lists the new scalar outputs (to be exposed and fetched).
 */
export function withReductions(model: Model, tensors: readonly string[]): { model: Model; outputs: Map<string, Reductions>; fetch: string[] } {
  const g = model.graph!;
  const taken = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.flatMap((t) => (t.name ? [t.name] : [])), ...g.nodes.flatMap((n) => n.outputs)]);
  const fresh = uniqueNamer(taken);
  const outputs = new Map<string, Reductions>();
  const groups = new Map<string, Node[]>();
  for (const t of tensors) {
    const r: Reductions = { min: fresh(`${t}/fixq.min`), max: fresh(`${t}/fixq.max`), sum: fresh(`${t}/fixq.sum`), size: fresh(`${t}/fixq.size`) };
    outputs.set(t, r);
    const keep0 = [{ name: "keepdims", type: 2, i: 0 }];
    groups.set(t, [
      { opType: "ReduceMin", inputs: [t], outputs: [r.min], attributes: keep0 },
      { opType: "ReduceMax", inputs: [t], outputs: [r.max], attributes: keep0 },
      { opType: "ReduceSum", inputs: [t], outputs: [r.sum], attributes: keep0 },
      { opType: "Size", inputs: [t], outputs: [r.size], attributes: [] },
    ]);
  }
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    nodes.push(n);
    for (const o of n.outputs) {
      const grp = groups.get(o);
      if (grp) {
        nodes.push(...grp);
        groups.delete(o);
      }
    }
  }
  for (const grp of groups.values()) nodes.push(...grp); // not produced by a node (nothing else to place them after)
  const fetch = [...outputs.values()].flatMap((r) => [r.min, r.max, r.sum, r.size]);
  return { model: { ...model, graph: { ...g, nodes } }, outputs, fetch };
}
