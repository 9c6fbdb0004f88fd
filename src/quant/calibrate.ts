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
import { createHash, type Hash } from "node:crypto";
import { StreamingExtremes } from "../calib/extremes.js";
import { StreamingHistogram } from "../calib/histogram.js";
import { FixqError } from "../ir/errors.js";
import type { Model, Node } from "../ir/graph.js";
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
  /** SHA-256 over the calibration data (names, row shapes and bytes), for provenance. */
  readonly sha256: string;
}

export interface CalibrateOptions {
  batchSize: number;
  threads?: number;
  progress?: Progress;
  /** Default "histogram". */
  statistics?: CalibrationStatistics;
}

export async function calibrate(model: Model, source: DataSource, tensors: readonly string[], opts: CalibrateOptions): Promise<CalibrationResult> {
  const inputs = new Set(modelInputs(model.graph!).map((v) => v.name));
  const exposed = tensors.filter((t) => !inputs.has(t));
  const extremes = opts.statistics === "extremes";
  const stats = new Map<string, TensorStatistics>();
  for (const t of tensors) stats.set(t, extremes ? new StreamingExtremes() : new StreamingHistogram());
  const hasher = new DataHasher();
  let samples = 0;
  const progress = opts.progress ?? silentProgress;
  const feedsIn = (feeds: Record<string, HostTensor>) => {
    for (const [name, f] of Object.entries(feeds)) {
      stats.get(name)?.update(f.data as Float32Array);
      const axis = source.sampleAxes?.get(name); // null: fed whole to every run
      hasher.add(name, f, axis === undefined ? 0 : axis);
    }
  };

  if (!extremes) {
    await runAll(model, exposed, opts.threads, async (session) => {
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
    return { histograms: stats, samples, sha256: hasher.digest() };
  }

  const reduced = withReductions(model, exposed);
  /** Batches (by start) whose in-graph extremes could not be trusted, with the tensors concerned. */
  const redo = new Map<number, { count: number; tensors: string[] }>();
  await runAll(reduced.model, reduced.fetch, opts.threads, async (session) => {
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
      reduced.fetch,
    );
  });
  if (redo.size > 0) {
    const names = [...new Set([...redo.values()].flatMap((b) => b.tensors))];
    await runAll(model, names, opts.threads, async (session) => {
      for (const [start, b] of redo) {
        const out = await session.run(source.batch(start, b.count), b.tensors);
        for (const t of b.tensors) stats.get(t)!.update(tensorData(out, t));
      }
    });
  }
  return { histograms: stats, samples, sha256: hasher.digest() };
}

async function runAll(model: Model, extraOutputs: readonly string[], threads: number | undefined, body: (s: OrtSession) => Promise<void>): Promise<void> {
  const session = await OrtSession.create(model, { optimization: "disabled", threads, extraOutputs });
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
 * One digest per input, combined in name order: independent of the batch
 * size. Samples are hashed in order, each as its own bytes (a state batched
 * along axis 1 is cut per sample); a tensor fed whole to every run
 * (`axis` null) counts once.
 */
class DataHasher {
  private readonly hashes = new Map<string, Hash>();
  add(name: string, f: HostTensor, axis: number | null): void {
    let h = this.hashes.get(name);
    if (h && axis === null) return;
    if (!h) {
      const row = axis === null ? f.dims : f.dims.filter((_d, i) => i !== axis);
      h = createHash("sha256").update(`${name}:${f.dtype}:${row.join("x")};`);
      this.hashes.set(name, h);
    }
    const bytes = (d: Float32Array) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    if (axis === null || axis === 0) h.update(bytes(f.data as Float32Array));
    else for (let s = 0; s < f.dims[axis]!; s++) h.update(bytes(sliceAxis(f, axis, s, 1).data as Float32Array));
  }
  digest(): string {
    const all = createHash("sha256");
    for (const name of [...this.hashes.keys()].sort()) all.update(`${name}=${this.hashes.get(name)!.digest("hex")};`);
    return all.digest("hex");
  }
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
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}.${k}`;
    taken.add(name);
    return name;
  };
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
