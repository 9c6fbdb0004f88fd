/**
 * onnxruntime-node adapter: builds an in-memory model from the IR, optionally
 * exposes intermediate values as extra outputs, and runs feeds in batches.
 * ORT failures become one-line FixqErrors naming the node when ORT names one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { dtypeName, ortTypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import { type Model, type ValueInfo, walkGraphs } from "../ir/graph.js";
import { encodeModel, inlinedModelSize, saveModel } from "../ir/onnx/save.js";
import { silentProgress, type Progress } from "../util/progress.js";
import { safeOptimization } from "./fp8-qdq.js";

export interface SessionOptions {
  /** Intra-op threads (default: ORT's choice). */
  threads?: number;
  /** Graph optimizations. Calibration uses "disabled" so fused patterns don't hide values. */
  optimization?: "disabled" | "basic" | "extended" | "all";
  /** Intermediate value names to expose as extra outputs. */
  extraOutputs?: readonly string[];
  /** Turns ORT's profiler on: it writes `<prefix>_<date>.json` when `endProfiling()` is called. */
  profileFilePrefix?: string;
}

/** Samples fetched a batch at a time (see quant/feeds.ts for file-backed sources). */
export interface BatchSource {
  readonly count: number;
  /** When set, every run feeds exactly this many samples, whatever batch size is asked for (a model input fixes its batch dim). */
  readonly fixedBatch?: number;
  batch(start: number, count: number): Record<string, HostTensor>;
}

/** A host tensor: C-order data plus dims. */
export interface HostTensor {
  readonly dtype: number;
  readonly dims: readonly number[];
  readonly data: ort.Tensor["data"];
}

let logLevelSet = false;

/** Rewrites an ORT error message into a FixqError, naming the node when the message does. */
export function runtimeError(e: unknown, what: string): FixqError {
  const msg = String((e as Error)?.message ?? e).replace(/\s+/g, " ").trim();
  // ORT names a node as "Node (name)", "In Node, ("name", Op, …", "Op(version) node with name 'name'" (empty when unnamed),
  // "running Op node. Name:'name'" (a kernel that failed at run time) or "node: name".
  const kernel = /(\w+)\(\d+\) node with name '([^']*)'/.exec(msg);
  if (kernel) return new FixqError("runtime", `onnxruntime ${what}: ${msg}`, kernel[2] ? `node '${kernel[2]}'` : `an unnamed ${kernel[1]} node`, { cause: e });
  const node =
    /Node \(([^)"]*)\)/.exec(msg)?.[1] ?? /In Node, \("([^"]*)"/.exec(msg)?.[1] ?? /running \w+ node\. Name:'([^']*)'/.exec(msg)?.[1] ?? /node[: ]+'?([\w./:-]+)'?/i.exec(msg)?.[1];
  return new FixqError("runtime", `onnxruntime ${what}: ${msg}`, node ? `node '${node}'` : undefined, { cause: e });
}

export function withExtraOutputs(model: Model, names: readonly string[]): Model {
  const g = model.graph;
  if (!g || names.length === 0) return model;
  const have = new Set(g.outputs.map((o) => o.name));
  const extra: ValueInfo[] = names.filter((n) => !have.has(n)).map((name) => ({ name }));
  return { ...model, graph: { ...g, outputs: [...g.outputs, ...extra] } };
}

export class OrtSession {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(model: Model, opts: SessionOptions = {}): Promise<OrtSession> {
    if (!logLevelSet) {
      ort.env.logLevel = "error";
      logLevelSet = true;
    }
    const full = withExtraOutputs(model, opts.extraOutputs ?? []);
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      // FP8 QDQ models: ORT 1.30 rewrites them wrongly at every optimization level (fp8-qdq.ts).
      graphOptimizationLevel: safeOptimization(full, opts.optimization ?? "all"),
      // Fatal only: ORT's error log would print a second line (with a timestamp) for every failure that is thrown, and reported, as one FixqError.
      logSeverityLevel: 4,
    };
    if (opts.profileFilePrefix !== undefined) {
      sessionOptions.enableProfiling = true;
      sessionOptions.profileFilePrefix = opts.profileFilePrefix;
    }
    if (opts.threads !== undefined) {
      sessionOptions.intraOpNumThreads = opts.threads;
      sessionOptions.interOpNumThreads = 1;
    }
    let session: ort.InferenceSession;
    let tempDir: string | undefined;
    try {
      if (hasExternal(full) && inlinedModelSize(full) > 2 ** 31 - 1) {
        // Too big for one protobuf message: hand ORT a file with external data.
        tempDir = mkdtempSync(join(tmpdir(), "fixq-ort-"));
        const path = join(tempDir, "model.onnx");
        saveModel(full, path, { externalData: { threshold: 1024 } });
        session = await ort.InferenceSession.create(path, sessionOptions);
      } else {
        session = await ort.InferenceSession.create(encodeModel(full), sessionOptions);
      }
    } catch (e) {
      if (e instanceof FixqError) throw e;
      throw runtimeError(e, "refused the model");
    } finally {
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    }
    return new OrtSession(session, session.inputNames, session.outputNames);
  }

  /** Stops the profiler (SessionOptions.profileFilePrefix) and writes its JSON trace. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async run(feeds: Record<string, HostTensor>, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const type = ortTypeName(t.dtype);
      if (!type) throw new FixqError("unsupported", `onnxruntime-node cannot feed ${dtypeName(t.dtype)} tensors`, `input '${name}'`);
      ortFeeds[name] = new ort.Tensor(type as "float32", t.data as Float32Array, [...t.dims]);
    }
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds);
    } catch (e) {
      throw runtimeError(e, "failed to run");
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, v] of Object.entries(result)) {
      out[name] = { dtype: dtypeFromOrt(v.type), dims: [...v.dims], data: v.data };
    }
    return out;
  }

  /**
   * Runs `inputs` (each with a leading batch dim of N) in batches of
   * `batchSize`; see runSource.
   */
  async runBatches(
    inputs: Record<string, HostTensor>,
    batchSize: number,
    onBatch: (outputs: Record<string, HostTensor>, start: number, count: number) => void | Promise<void>,
    progress: Progress = silentProgress,
  ): Promise<void> {
    const entries = Object.entries(inputs);
    if (entries.length === 0) throw new FixqError("usage", "no inputs to run");
    const n = entries[0]![1].dims[0] ?? 1;
    for (const [name, t] of entries) {
      if (t.dims[0] !== n) throw new FixqError("data", `batch dimension ${t.dims[0]} differs from ${n}`, `input '${name}'`);
    }
    const source: BatchSource = {
      count: n,
      batch(start, count) {
        const feeds: Record<string, HostTensor> = {};
        for (const [name, t] of entries) feeds[name] = sliceBatch(t, start, count);
        return feeds;
      },
    };
    await this.runSource(source, batchSize, (out, _feeds, start, count) => onBatch(out, start, count), progress);
  }

  /**
   * Runs every sample of `source` in batches of `batchSize`, calling `onBatch`
   * with each batch's outputs and feeds, in order (`source.fixedBatch`, when
   * set, replaces `batchSize`). The next batch is read and
   * launched before `onBatch` runs, so at most two batches are alive; note that
   * onnxruntime-node runs a session on the main thread (in a setImmediate
   * callback), so its work and `onBatch`'s do not overlap.
   * `fetch` names the outputs to return (default: all of the session's).
   */
  async runSource(
    source: BatchSource,
    batchSize: number,
    onBatch: (outputs: Record<string, HostTensor>, feeds: Record<string, HostTensor>, start: number, count: number) => void | Promise<void>,
    progress: Progress = silentProgress,
    fetch?: readonly string[],
  ): Promise<void> {
    const n = source.count;
    batchSize = source.fixedBatch ?? batchSize;
    progress.start(n, "running");
    try {
      const launch = (start: number) => {
        const count = Math.min(batchSize, n - start);
        const feeds = source.batch(start, count);
        return { start, count, feeds, outputs: this.run(feeds, fetch) };
      };
      let current = n > 0 ? launch(0) : undefined;
      while (current) {
        const outputs = await current.outputs;
        const nextStart = current.start + current.count;
        const next = nextStart < n ? launch(nextStart) : undefined;
        try {
          await onBatch(outputs, current.feeds, current.start, current.count);
        } catch (e) {
          await next?.outputs.catch(() => undefined);
          throw e;
        }
        progress.tick(current.count);
        current = next;
      }
    } finally {
      progress.stop();
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Rows [start, start+count) of a batched tensor, as a view where possible. */
export function sliceBatch(t: HostTensor, start: number, count: number): HostTensor {
  const row = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = t.data as Float32Array;
  return { dtype: t.dtype, dims: [count, ...t.dims.slice(1)], data: data.subarray(start * row, (start + count) * row) };
}

const ORT_TO_ONNX: Record<string, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

function dtypeFromOrt(type: string): number {
  return ORT_TO_ONNX[type] ?? 0;
}

function hasExternal(model: Model): boolean {
  if (!model.graph) return false;
  for (const [g] of walkGraphs(model.graph)) if (g.initializers.some((t) => t.external)) return true;
  return false;
}
