/**
 * Accuracy comparison of a candidate model against a reference, the library
 * behind `fixq eval`. Both models run in onnxruntime batch by batch; metrics
 * accumulate as they go, so only one batch of outputs is ever alive.
 *
 * The candidate runs twice: with ORT graph optimizations "all" (for a QDQ
 * model, ORT fuses Q/DQ into integer kernels: what actually deploys) and
 * "disabled" (Q/DQ run as float fake-quant). A gap between the two is a
 * deployment risk. The reference runs with optimizations "all", so a model
 * compared with itself matches exactly. The gate uses the "all" figures.
 */
import { DataType, dtypeName } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Model, ValueInfo } from "../ir/graph.js";
import { halfToFloat } from "../ir/tensor.js";
import type { NpyArray } from "../io/npy.js";
import { type BoundData, bindData, hostColumn, memoryColumn, NPY_TO_ONNX } from "../quant/signature.js";
import { type HostTensor, OrtSession } from "../runtime/ort-session.js";
import { type CandidateRunner, emulatorRunner } from "./emulator-runner.js";
import { asModel } from "./model-label.js";
import { type Progress, silentProgress } from "../util/progress.js";
import { type Accuracy, Agreement, agreementRows, ErrorStats, TopKAccuracy } from "./metrics.js";

/**
 * Evaluation inputs bound to a model's input names, each in the model's
 * layout with its samples along its batch axis (quant/signature.ts).
 */
export interface EvalData {
  readonly inputs: Readonly<Record<string, HostTensor>>;
  readonly samples: number;
  /** The data file, for messages. */
  readonly source: string;
  /** Constants for inputs the file does not hold (`--input-value`), fed to every run. */
  readonly values?: ReadonlyMap<string, HostTensor>;
}

export interface CompareOptions {
  /** Samples per run (default 256); a model input with a fixed first dim forces that size. */
  batchSize?: number;
  /**
   * What runs CAND for the gated figures: "ort" (graph optimizations on: ORT's
   * integer kernels) or "emulator" (CAND integerized and run bit-exactly in
   * fixq's integer emulator). The fake-quant run (ORT, optimizations off) is
   * made either way.
   */
  engine?: "ort" | "emulator";
  /** CAND's file, for messages. */
  candidateName?: string;
  /** REF's file, for messages. */
  referenceName?: string;
  threads?: number;
  progress?: Progress;
}

export interface OutputMetrics {
  /** The REF output name (outputs are paired by position). */
  readonly name: string;
  readonly candidateName: string;
  /** Arg-max match rate with REF; null when the output has no per-sample score row. */
  readonly agreement: number | null;
  /** 10·log10(Σref²/Σ(ref−cand)²) over all elements; +Infinity when identical. */
  readonly sqnrDb: number;
  readonly cosine: number;
  readonly maxAbsError: number;
}

export interface CandidateRun {
  /** "all"/"disabled": ORT with graph optimizations on/off; "emulator": the integer-only program in fixq's emulator. */
  readonly optimization: "all" | "disabled" | "emulator";
  /** Of the first output, when labels are given. */
  readonly accuracy: Accuracy | null;
  /** One per output; [0] is the first output, the one the gate looks at. */
  readonly outputs: readonly OutputMetrics[];
}

export interface CompareResult {
  readonly samples: number;
  readonly batchSize: number;
  readonly reference: { readonly accuracy: Accuracy | null };
  readonly candidate: {
    /** Optimizations on: integer kernels for QDQ models (or the emulator, with engine "emulator"). The gate uses these. */
    readonly all: CandidateRun;
    /** Optimizations off: QDQ as float fake-quant. */
    readonly disabled: CandidateRun;
  };
}

/** Graph inputs the caller must feed (inputs with an initializer are optional). */
export function modelInputs(model: Model): readonly ValueInfo[] {
  const g = model.graph;
  if (!g) throw new FixqError("model", "model has no graph");
  const init = new Set(g.initializers.map((t) => t.name));
  return g.inputs.filter((v) => !init.has(v.name));
}

function nonFinite(a: NpyArray): number {
  const d = a.data;
  if (a.dtype === "f2") return (d as Uint16Array).findIndex((h) => (h & 0x7c00) === 0x7c00);
  if (a.dtype === "f4" || a.dtype === "f8") return (d as Float32Array).findIndex((v) => !Number.isFinite(v));
  return -1;
}

/**
 * Binds the arrays of a .npy (key "") or .npz file, and `values` from
 * `--input-value`, to the model's inputs (quant/signature.ts) and checks
 * dtypes, shapes and values against the declared input types.
 */
export function bindEvalData(model: Model, arrays: ReadonlyMap<string, NpyArray>, source: string, values: ReadonlyMap<string, HostTensor> = new Map()): EvalData {
  const where = `data ${source}`;
  if (!model.graph) throw new FixqError("model", "model has no graph");
  for (const [name, a] of arrays) {
    const bad = nonFinite(a);
    if (bad >= 0) {
      const row = a.shape.slice(1).reduce((x, y) => x * y, 1);
      throw new FixqError("data", `${name ? `array '${name}' ` : ""}contains NaN or Inf (element ${bad}, sample ${Math.floor(bad / row)})`, where);
    }
  }
  const bound = bindData(model.graph, new Map([...arrays].map(([k, a]) => [k, memoryColumn(a)])), values, where);
  const inputs: Record<string, HostTensor> = {};
  for (const [key, a] of arrays) inputs[bound.inputOf.get(key) ?? key] = { dtype: NPY_TO_ONNX[a.dtype], dims: a.shape, data: a.data };
  return { inputs, samples: bound.samples, source, values };
}

/** `data` bound to `model`'s inputs, checked; `who` prefixes the input in messages ("CAND input ..."). */
export function evalFeeds(model: Model, data: EvalData, who = ""): BoundData {
  if (!model.graph) throw new FixqError("model", "model has no graph");
  const columns = new Map(Object.entries(data.inputs).map(([k, t]) => [k, hostColumn(t)]));
  return bindData(model.graph, columns, data.values ?? new Map(), `data ${data.source}`, { who });
}

/**
 * Checks bound data against a model's declared inputs; returns the fixed
 * batch size an input imposes, if any. `who` prefixes the input in
 * messages ("CAND input ...").
 */
export function checkEvalData(model: Model, data: EvalData, who = ""): number | undefined {
  const bound = evalFeeds(model, data, who);
  if (bound.samples !== data.samples) throw new FixqError("data", `${who}model takes ${bound.samples} samples from the data, expected ${data.samples}`, `data ${data.source}`);
  return bound.fixedBatch;
}

/** Integer class labels, one per sample (shape [N] or [N,1]). */
export function bindLabels(a: NpyArray, samples: number, source: string): Int32Array {
  const where = `labels ${source}`;
  if (a.dtype.startsWith("f") || a.dtype === "b1") throw new FixqError("data", `labels must be integers, got ${dtypeName(NPY_TO_ONNX[a.dtype])}`, where);
  if (a.shape.length > 2 || (a.shape.length === 2 && a.shape[1] !== 1) || a.shape.length === 0) {
    throw new FixqError("data", `labels must have shape [N] or [N,1], got [${a.shape.join(",")}]`, where);
  }
  const count = a.shape[0]!;
  if (count !== samples) throw new FixqError("data", `${count} labels for ${samples} data samples`, where);
  const out = new Int32Array(count);
  const src = a.data as ArrayLike<number | bigint>;
  for (let i = 0; i < count; i++) {
    const v = Number(src[i]);
    if (v < 0 || v > 0x7fffffff) throw new FixqError("data", `label ${v} (sample ${i}) is not a class index`, where);
    out[i] = v;
  }
  return out;
}

/** Output values as numbers: float32 stays a view; float16 is decoded; integers are converted. */
export function numeric(t: HostTensor, what: string): ArrayLike<number> {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  if (t.dtype === DataType.FLOAT16 && d instanceof Uint16Array) return Float64Array.from(d, halfToFloat);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  if (ArrayBuffer.isView(d)) return d as unknown as ArrayLike<number>;
  throw new FixqError("unsupported", `cannot compare ${dtypeName(t.dtype)} outputs`, what);
}

class OutputAccumulator {
  readonly error = new ErrorStats();
  readonly agreement = new Agreement();
  perSample = true;
  constructor(
    readonly name: string,
    readonly candidateName: string,
  ) {}

  /** `rows`: the arg-max rows of this batch's output (agreementRows); `perSample`: it has them. */
  update(ref: ArrayLike<number>, cand: ArrayLike<number>, rows: number, perSample: boolean): void {
    this.error.update(ref, cand);
    this.perSample &&= perSample;
    if (this.perSample) this.agreement.update(ref, cand, rows);
  }

  result(): OutputMetrics {
    const e = this.error;
    const agreement = this.perSample ? this.agreement.rate() : null;
    return { name: this.name, candidateName: this.candidateName, agreement, sqnrDb: e.sqnrDb(), cosine: e.cosine(), maxAbsError: e.maxAbs };
  }
}

interface RunState {
  readonly session: CandidateRunner;
  readonly optimization: "all" | "disabled" | "emulator";
  readonly outputs: OutputAccumulator[];
  accuracy?: TopKAccuracy;
}

/**
 * Checks `data` against both models and returns the batch size to run: a
 * fixed first input dim wins over `requested` (default 256).
 */
export function evalBatchSize(ref: Model, cand: Model, data: EvalData, requested?: number): number {
  const fixedRef = checkEvalData(ref, data);
  const fixedCand = checkEvalData(cand, data, "CAND ");
  if (fixedRef !== undefined && fixedCand !== undefined && fixedRef !== fixedCand) {
    throw new FixqError("model", `REF fixes the batch at ${fixedRef}, CAND at ${fixedCand}`);
  }
  const batchSize = fixedRef ?? fixedCand ?? requested ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new FixqError("usage", `batch size must be a positive integer, got ${batchSize}`);
  return batchSize;
}

/** Runs REF and CAND (twice) over `data` and compares them; see the file comment. */
export async function compareModels(
  ref: Model,
  cand: Model,
  data: EvalData,
  labels: Int32Array | undefined,
  opts: CompareOptions = {},
): Promise<CompareResult> {
  const batchSize = evalBatchSize(ref, cand, data, opts.batchSize);
  if (labels && labels.length !== data.samples) throw new FixqError("data", `${labels.length} labels for ${data.samples} data samples`);
  const sessions: OrtSession[] = [];
  const label = (m: Model, optimization: string) => (m === ref ? `REF ${opts.referenceName ?? ""}`.trimEnd() : `CAND ${opts.candidateName ? `${opts.candidateName} ` : ""}(opt=${optimization})`);
  const open = async (m: Model, optimization: "all" | "disabled" | "emulator"): Promise<CandidateRunner> => {
    if (optimization === "emulator") return emulatorRunner(m, opts.candidateName);
    const s = await asModel(label(m, optimization), () => OrtSession.create(m, { threads: opts.threads, optimization }));
    sessions.push(s);
    return s;
  };
  try {
    const refSession = (await open(ref, "all")) as OrtSession;
    const runs: RunState[] = [];
    for (const optimization of [opts.engine === "emulator" ? "emulator" : "all", "disabled"] as const) {
      const session = await open(cand, optimization);
      if (session.outputNames.length !== refSession.outputNames.length) {
        throw new FixqError("model", `REF has ${refSession.outputNames.length} outputs, CAND has ${session.outputNames.length}`);
      }
      const outputs = refSession.outputNames.map((n, i) => new OutputAccumulator(n, session.outputNames[i]!));
      runs.push({ session, optimization, outputs });
    }
    let refAccuracy: TopKAccuracy | undefined;
    const bound = evalFeeds(ref, data);
    await asModel(label(ref, "all"), () => refSession.runSource(
      { count: bound.samples, fixedBatch: bound.fixedBatch, batch: (start, count) => bound.batch(start, count) },
      batchSize,
      async (refOut, feeds, start, count) => {
        const refValues = refSession.outputNames.map((n) => numeric(refOut[n]!, `REF output '${n}'`));
        if (labels && !refAccuracy) refAccuracy = startAccuracy(refOut[refSession.outputNames[0]!]!, refSession.outputNames[0]!, count, labels);
        refAccuracy?.update(refValues[0]!, count, labels!, start);
        for (const run of runs) {
          const out = await asModel(label(cand, run.optimization), () => run.session.run(feeds));
          run.session.outputNames.forEach((n, i) => {
            const r = refOut[refSession.outputNames[i]!]!;
            const c = out[n]!;
            const acc = run.outputs[i]!;
            if (r.dims.join() !== c.dims.join()) {
              throw new FixqError("model", `output #${i}: REF '${acc.name}' gives shape [${r.dims.join(",")}], CAND '${n}' gives [${c.dims.join(",")}]`);
            }
            const values = numeric(c, `CAND output '${n}'`);
            const rows = agreementRows(r.dims, count);
            acc.update(refValues[i]!, values, rows ?? count, rows !== undefined);
            if (i === 0 && labels) {
              run.accuracy ??= new TopKAccuracy(refAccuracy!.classes);
              run.accuracy.update(values, count, labels, start);
            }
          });
        }
      },
      labelled(opts.progress ?? silentProgress, "evaluating"),
    ));
    const candidateRun = (r: RunState): CandidateRun => ({
      optimization: r.optimization,
      accuracy: r.accuracy?.result() ?? null,
      outputs: r.outputs.map((o) => o.result()),
    });
    return {
      samples: data.samples,
      batchSize,
      reference: { accuracy: refAccuracy?.result() ?? null },
      candidate: { all: candidateRun(runs[0]!), disabled: candidateRun(runs[1]!) },
    };
  } finally {
    for (const s of sessions) await s.release();
  }
}

/** True when the output is [count, ...] with at least two values per sample (a score row). */
function isPerSample(t: HostTensor, count: number): boolean {
  const size = t.dims.reduce((a, b) => a * b, 1);
  return t.dims[0] === count && size / count >= 2;
}

function startAccuracy(out: HostTensor, name: string, count: number, labels: Int32Array): TopKAccuracy {
  if (!isPerSample(out, count)) {
    throw new FixqError("data", `labels need output '${name}' to be [batch, classes] scores; it is [${out.dims.join(",")}]`);
  }
  const classes = out.dims.reduce((a, b) => a * b, 1) / count;
  const bad = labels.findIndex((l) => l >= classes);
  if (bad >= 0) throw new FixqError("data", `label ${labels[bad]} (sample ${bad}) is out of range for output '${name}' with ${classes} classes`);
  return new TopKAccuracy(classes);
}

function labelled(p: Progress, label: string): Progress {
  return { start: (total) => p.start(total, label), tick: (n) => p.tick(n), stop: () => p.stop() };
}

/** CI thresholds, checked against the "all" (deployed) figures: SQNR of every output, the rest of the first output. */
export interface Thresholds {
  /** Max top-1 drop of CAND vs REF, in percentage points (needs labels). */
  readonly maxDrop?: number;
  /** Min arg-max agreement with REF, 0..1. */
  readonly minAgreement?: number;
  /** Min output SQNR in dB. */
  readonly minSqnrDb?: number;
  /**
   * Max points by which the integer-kernel run (ORT, optimizations on) may
   * fall below the fake-quant run (optimizations off), in top-1 (with labels)
   * and in agreement with REF. Checked only for the ORT engine, and only when
   * one of the two can be measured.
   */
  readonly maxDeploymentGap?: number;
}

/** Default --max-deployment-gap, points. */
export const DEFAULT_MAX_DEPLOYMENT_GAP = 2;

/**
 * Points by which the integer-kernel run falls below the fake-quant run: the
 * larger of the top-1 gap (with labels) and the agreement gap, with which one
 * it is; null when neither is measured or CAND did not run in ORT.
 */
export function deploymentGap(r: CompareResult): { points: number; metric: "top-1" | "agreement" } | null {
  const all = r.candidate.all;
  const dis = r.candidate.disabled;
  if (all.optimization !== "all") return null;
  const gaps: { points: number; metric: "top-1" | "agreement" }[] = [];
  if (all.accuracy && dis.accuracy) gaps.push({ points: ((dis.accuracy.correct1 - all.accuracy.correct1) * 100) / all.accuracy.count, metric: "top-1" });
  const a = all.outputs[0]?.agreement;
  const d = dis.outputs[0]?.agreement;
  if (a != null && d != null) gaps.push({ points: (d - a) * 100, metric: "agreement" });
  return gaps.reduce<{ points: number; metric: "top-1" | "agreement" } | null>((w, g) => (w === null || g.points > w.points ? g : w), null);
}

export interface GateCheck {
  readonly id: "max-drop" | "min-agreement" | "min-sqnr" | "max-deployment-gap";
  /** What must hold, e.g. "top-1 drop <= 1.00 points". */
  readonly requirement: string;
  readonly limit: number;
  /** The measured value; null when it cannot be measured (which fails the check). */
  readonly value: number | null;
  readonly passed: boolean;
  /** The value as shown, e.g. "3.10 points", "inf dB", "n/a". */
  readonly measured: string;
  /** The outcome in words, e.g. "top-1 drop 3.10 points > 1.00". */
  readonly message: string;
}

export interface GateResult {
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
}

/** Top-1 drop of CAND (optimizations on) vs REF in percentage points, from the correct counts. */
export function top1Drop(r: CompareResult): number | null {
  const a = r.reference.accuracy;
  const b = r.candidate.all.accuracy;
  return a && b ? ((a.correct1 - b.correct1) * 100) / a.count : null;
}

export function formatDb(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
}

/**
 * The output with the lowest SQNR, a NaN one first (NaN fails every bound):
 * min over outputs o of SQNR_o, so `--min-sqnr` holds for every output.
 */
function worstSqnr(outputs: readonly OutputMetrics[]): OutputMetrics | undefined {
  return outputs.reduce<OutputMetrics | undefined>((w, o) => (w === undefined || Number.isNaN(o.sqnrDb) || (!Number.isNaN(w.sqnrDb) && o.sqnrDb < w.sqnrDb) ? o : w), undefined);
}

/**
 * Checks the thresholds that are set; a missing or NaN value fails.
 * `minSqnrDb` holds for every output (the worst is checked); `maxDrop` and
 * `minAgreement` look at the first output, the one labels refer to.
 */
export function checkGate(r: CompareResult, t: Thresholds): GateResult {
  const checks: GateCheck[] = [];
  const add = (id: GateCheck["id"], limit: number, value: number | null, passed: boolean, requirement: string, measured: string, message: string) =>
    checks.push({
      id,
      requirement,
      limit,
      value,
      passed,
      measured: value === null ? "n/a" : measured,
      message: value === null ? `${requirement}: not measured` : message,
    });
  if (t.maxDrop !== undefined) {
    const v = top1Drop(r);
    const ok = v !== null && v <= t.maxDrop;
    const limit = t.maxDrop.toFixed(2);
    add("max-drop", t.maxDrop, v, ok, `top-1 drop <= ${limit} points`, `${v?.toFixed(2)} points`, `top-1 drop ${v?.toFixed(2)} points ${ok ? "<=" : ">"} ${limit}`);
  }
  const first = r.candidate.all.outputs[0];
  if (t.minAgreement !== undefined) {
    const v = first?.agreement ?? null;
    const ok = v !== null && v >= t.minAgreement;
    const limit = t.minAgreement.toFixed(4);
    add("min-agreement", t.minAgreement, v, ok, `agreement >= ${limit}`, `${v?.toFixed(4)}`, `agreement ${v?.toFixed(4)} ${ok ? ">=" : "<"} ${limit}`);
  }
  if (t.minSqnrDb !== undefined) {
    const outs = r.candidate.all.outputs;
    const worst = worstSqnr(outs);
    const v = worst?.sqnrDb ?? null;
    const ok = v !== null && v >= t.minSqnrDb;
    const limit = formatDb(t.minSqnrDb);
    const which = worst && outs.length > 1 ? ` (output '${worst.name}', the worst of ${outs.length})` : "";
    add("min-sqnr", t.minSqnrDb, v, ok, `SQNR >= ${limit} dB`, `${formatDb(v ?? Number.NaN)} dB`, `SQNR ${formatDb(v ?? Number.NaN)} dB${which} ${ok ? ">=" : "<"} ${limit} dB`);
  }
  const gap = t.maxDeploymentGap === undefined ? null : deploymentGap(r);
  if (t.maxDeploymentGap !== undefined && gap) {
    const ok = gap.points <= t.maxDeploymentGap;
    const limit = t.maxDeploymentGap.toFixed(2);
    const v = gap.points.toFixed(2);
    const message = ok
      ? `integer kernels within ${limit} points of fake-quant (${gap.metric} gap ${v})`
      : `deployment risk: ${gap.metric} in ORT integer kernels is ${v} points below fake-quant (> ${limit})`;
    add("max-deployment-gap", t.maxDeploymentGap, gap.points, ok, `integer-kernel ${gap.metric} within ${limit} points of fake-quant`, `${v} points`, message);
  }
  return { passed: checks.every((c) => c.passed), checks };
}
