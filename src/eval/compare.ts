/**
 * Accuracy comparison of a candidate model against a reference, the library
 * behind `fixq eval`. Both models run in onnxruntime batch by batch; metrics
 * accumulate as they go, so only one batch of outputs is ever alive.
 *
 * The candidate runs twice: with ORT graph optimizations "all" (for a QDQ
 * model, ORT fuses Q/DQ into integer kernels: what actually deploys) and
 * "disabled" (Q/DQ run as float fake-quant). A gap between the two is a
 * deployment risk. The reference runs with optimizations "all", so a model
 * compared with itself matches exactly. The gate uses the "all" figures
 * (gate.ts); the data and labels are bound to the models by eval-data.ts.
 */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { type HostTensor, OrtSession } from "../runtime/ort-session.js";
import { type Progress, silentProgress } from "../util/progress.js";
import { type CandidateRunner, emulatorRunner } from "./emulator-runner.js";
import { checkEvalData, type EvalData, evalFeeds, numeric } from "./eval-data.js";
import { type Accuracy, Agreement, agreementRows, ErrorStats, TopKAccuracy } from "./metrics.js";
import { asModel } from "./model-label.js";

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

