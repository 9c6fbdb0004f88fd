/**
 * The CI gate of `fixq eval` and `fixq quantize --eval`: thresholds checked
 * against a comparison's "all" (deployed) figures (compare.ts), a missing or
 * NaN value failing. The measures:
 *
 *   top-1 drop     = (correct₁(REF) − correct₁(CAND)) · 100 / N       points
 *   worst SQNR     = min over outputs o of SQNR_o                      dB
 *   deployment gap = max(top-1 gap, agreement gap) of the integer-kernel
 *                    run (ORT optimizations on) below fake-quant (off)  points
 */
import type { CompareResult, OutputMetrics } from "./compare.js";

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
