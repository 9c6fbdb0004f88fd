/**
 * Reports of an evaluation: the terminal table, JSON, JUnit XML and Markdown.
 * All are pure functions returning strings; `writeReports` writes the files
 * atomically.
 *
 * JSON (schemaVersion 1): numbers that are not finite are written as the
 * strings "inf", "-inf" and "nan" — an SQNR of "inf" means the candidate's
 * outputs are identical to the reference's. Accuracies and agreement are
 * fractions in 0..1; drops and gaps are percentage points. `perLayer` is null
 * unless --per-layer was given; then it holds the per-tensor SQNR of CAND's
 * quantized tensors against REF (activations and weights, each worst first),
 * and the tensors it could not map.
 */
import chalk from "chalk";
import { escapeControl } from "../ir/errors.js";
import { sqnrBars } from "./sqnr-bars.js";
import { writeFileAtomic } from "../ir/atomic-write.js";
import { packageVersion } from "../util/package-root.js";
import type { CompareResult, OutputMetrics } from "./compare.js";
import { DEFAULT_MAX_DEPLOYMENT_GAP, deploymentGap, formatDb, type GateResult, type Thresholds, top1Drop } from "./gate.js";
import type { Divergence } from "./divergence.js";
import type { Accuracy } from "./metrics.js";
import { type LayerError, noisiestLayer, type PerLayerResult } from "./per-layer.js";

export interface EvalReport {
  readonly reference: string;
  readonly candidate: string;
  readonly data: string;
  readonly labels: string | null;
  readonly thresholds: Thresholds;
  readonly result: CompareResult;
  readonly gate: GateResult;
  readonly seconds: number;
  /** With --per-layer. */
  readonly perLayer?: PerLayerResult | null;
  /** When the deployment-gap check failed: where the integer-kernel and fake-quant runs part (null: after the last quantized activation). */
  readonly divergence?: Divergence | null;
}

/** What ran CAND for the gated figures: "opt=all" (ORT integer kernels) or "emulator" (fixq's integer-only program). */
export function gateRunLabel(r: CompareResult): string {
  return r.candidate.all.optimization === "emulator" ? "emulator" : "opt=all";
}

/** Where the gated figures come from, in words. */
function gateRunWords(r: CompareResult): string {
  return r.candidate.all.optimization === "emulator" ? "CAND integer-only in fixq's emulator" : "CAND with ORT graph optimizations on (opt=all)";
}

export function tableHeader(r: CompareResult): string[] {
  const gate = gateRunLabel(r);
  return ["metric", "REF", `CAND ${gate} (gate)`, "CAND opt=disabled", `gap (disabled−${gate === "opt=all" ? "all" : "emulator"})`];
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? "" : `${(x * 100).toFixed(2)}%`);
const signed = (x: number, digits: number) => {
  const s = Math.abs(x).toFixed(digits);
  return `${x < 0 && Number(s) !== 0 ? "-" : "+"}${s}`;
};

/** Rows of the metrics table; the gap column is "disabled minus all" (points for rates, dB for SQNR). */
export function metricRows(r: CompareResult): string[][] {
  const rows: string[][] = [];
  const refAcc = r.reference.accuracy;
  const all = r.candidate.all;
  const dis = r.candidate.disabled;
  const accRow = (label: string, correct: (a: Accuracy) => number | null) => {
    if (!refAcc || correct(refAcc) === null) return;
    const n = refAcc.count;
    const a = correct(all.accuracy!)!;
    const d = correct(dis.accuracy!)!;
    rows.push([label, pct(correct(refAcc)! / n), pct(a / n), pct(d / n), `${signed(((d - a) * 100) / n, 2)} pts`]);
  };
  accRow("top-1", (a) => a.correct1);
  accRow("top-5", (a) => a.correct5);
  const several = all.outputs.length > 1;
  all.outputs.forEach((a, i) => {
    const d = dis.outputs[i]!;
    const tag = several ? ` [${escapeControl(a.name)}]` : "";
    if (a.agreement !== null && d.agreement !== null) {
      rows.push([`agreement${tag}`, "", a.agreement.toFixed(4), d.agreement.toFixed(4), `${signed((d.agreement - a.agreement) * 100, 2)} pts`]);
    }
    const gap = d.sqnrDb - a.sqnrDb;
    rows.push([`SQNR dB${tag}`, "", formatDb(a.sqnrDb), formatDb(d.sqnrDb), Number.isFinite(gap) ? signed(gap, 2) : ""]);
    rows.push([`cosine${tag}`, "", a.cosine.toFixed(6), d.cosine.toFixed(6), ""]);
    rows.push([`max |err|${tag}`, "", a.maxAbsError.toPrecision(4), d.maxAbsError.toPrecision(4), ""]);
  });
  return rows;
}

/**
 * A note when the two candidate runs disagree, or undefined: "deployment risk"
 * when the integer-kernel run is more than `maxGap` points below fake-quant
 * (deploymentGap), else a note that they differ within it.
 */
export function deploymentGapNote(r: CompareResult, maxGap = DEFAULT_MAX_DEPLOYMENT_GAP): string | undefined {
  const all = r.candidate.all;
  const dis = r.candidate.disabled;
  const diffs: string[] = [];
  if (all.accuracy && dis.accuracy && all.accuracy.correct1 !== dis.accuracy.correct1) {
    diffs.push(`top-1 ${signed(((dis.accuracy.correct1 - all.accuracy.correct1) * 100) / all.accuracy.count, 2)} points`);
  }
  const a = all.outputs[0]?.agreement;
  const d = dis.outputs[0]?.agreement;
  if (a != null && d != null && a !== d) diffs.push(`agreement ${signed((d - a) * 100, 2)} points`);
  if (diffs.length === 0) return undefined;
  if (all.optimization === "emulator") return `note: the integer-only model (emulator) differs from CAND's fake-quant run (opt=disabled): ${diffs.join(", ")}`;
  const gap = deploymentGap(r);
  if (gap && gap.points > maxGap) return `deployment risk: CAND's fake-quant run (opt=disabled) differs from what ORT deploys (opt=all): ${diffs.join(", ")}`;
  return `note: CAND's fake-quant run (opt=disabled) and what ORT deploys (opt=all) differ within ${maxGap} points: ${diffs.join(", ")}`;
}

/** The located divergence in words. */
export function divergenceText(d: Divergence | null): string {
  if (!d) return "no quantized activation differs by more than one quantization step (the runs part after the last one)";
  const node = d.node ? `${d.node.opType} '${d.node.name ?? "(unnamed)"}'` : "a graph input";
  return `the runs part first at '${d.tensor}' (the output of ${node}): RMS difference ${d.rmsSteps.toFixed(1)} quantization steps (${d.checked} of ${d.candidates} quantized activations checked)`;
}

function pad(cells: readonly string[], widths: readonly number[], left: ReadonlySet<number> = new Set([0])): string {
  return cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

export const PER_LAYER_HEADER = ["#", "SQNR dB", "local dB", "max |err|", "node", "tensor"] as const;
export const WEIGHT_HEADER = ["#", "SQNR dB", "max |err|", "read by", "tensor"] as const;

const nodeLabel = (l: LayerError) => (l.node ? `${l.node.opType} '${l.node.name ?? "(unnamed)"}'` : "(graph input)");
const tensorLabel = (l: LayerError) => (l.candidateTensor === l.tensor ? l.tensor : `${l.tensor} (CAND '${l.candidateTensor}')`);

/** Rows of the per-layer activation table, worst SQNR first (unescaped). */
export function perLayerRows(p: PerLayerResult): string[][] {
  return p.activations.map((l, i) => [String(i + 1), formatDb(l.sqnrDb), formatDb(l.localSqnrDb), l.maxAbsError.toPrecision(4), nodeLabel(l), tensorLabel(l)]);
}

/** Rows of the per-layer weight table, worst SQNR first (unescaped). */
export function weightRows(p: PerLayerResult): string[][] {
  return p.weights.map((l, i) => [String(i + 1), formatDb(l.sqnrDb), l.maxAbsError.toPrecision(4), nodeLabel(l), tensorLabel(l)]);
}

/** One line naming the activation that adds the most noise itself, or undefined. */
export function noisiestNote(p: PerLayerResult): string | undefined {
  const n = noisiestLayer(p);
  return n && `most noise added: '${n.tensor}' (${nodeLabel(n)}), local SQNR ${formatDb(n.localSqnrDb)} dB`;
}

function perLayerText(p: PerLayerResult): string[] {
  const e = escapeControl;
  const out: string[] = [];
  const table = (title: string, header: readonly string[], rows: string[][]) => {
    out.push(title);
    if (rows.length === 0) {
      out.push(chalk.dim("  (none)"));
      return;
    }
    const all = [[...header], ...rows.map((r) => r.map(e))];
    const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
    const left = new Set([header.length - 2, header.length - 1]);
    out.push(chalk.dim(`  ${pad(all[0]!, widths, left).trimEnd()}`));
    for (const row of all.slice(1)) out.push(`  ${pad(row, widths, left).trimEnd()}`);
  };
  const refWords = p.referencePasses.length ? `REF after CAND's float passes (${p.referencePasses.join(", ")})` : "REF";
  table(
    `per-layer SQNR of CAND's quantized activations vs ${refWords} (both opt=disabled), worst first; local = the noise the tensor adds itself:`,
    PER_LAYER_HEADER,
    perLayerRows(p),
  );
  const note = noisiestNote(p);
  if (note) out.push(chalk.yellow(e(note)));
  out.push(...sqnrBars(p, process.stdout.columns ?? 80));
  table("quantized weights and biases vs REF, worst first:", WEIGHT_HEADER, weightRows(p));
  if (p.unmapped.length > 0) {
    out.push(chalk.yellow(`${p.unmapped.length} quantized tensor${p.unmapped.length === 1 ? "" : "s"} of CAND not mapped to REF:`));
    for (const u of p.unmapped) out.push(`  ${e(u.candidateTensor)} (${u.kind}): ${e(u.reason)}`);
  }
  return out;
}

/** The terminal summary (chalk colours when the stream supports them). */
export function formatText(rep: EvalReport): string {
  const r = rep.result;
  const out: string[] = [];
  const first = r.candidate.all.outputs[0];
  const e = escapeControl;
  out.push(`${chalk.bold("fixq eval")}  REF ${chalk.cyan(e(rep.reference))}  CAND ${chalk.cyan(e(rep.candidate))}`);
  out.push(`  ${r.samples} samples from ${e(rep.data)}${rep.labels ? `, labels ${e(rep.labels)}` : ""}, batch ${r.batchSize}${first ? `, output '${e(first.name)}'` : ""}`);
  const header = tableHeader(r);
  const rows = [header, ...metricRows(r)];
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  out.push(chalk.dim(pad(rows[0]!, widths)));
  for (const row of rows.slice(1)) out.push(pad(row, widths));
  const note = deploymentGapNote(r, rep.thresholds.maxDeploymentGap);
  if (note) out.push(chalk.yellow(note));
  if (rep.divergence !== undefined) out.push(chalk.yellow(`  ${e(divergenceText(rep.divergence))}`));
  if (rep.perLayer) out.push(...perLayerText(rep.perLayer));
  if (rep.gate.checks.length === 0) out.push(chalk.dim("gate: no thresholds set"));
  else out.push(`gate (CAND ${gateRunLabel(r)}):`);
  for (const c of rep.gate.checks) out.push(`  ${c.passed ? chalk.green("PASS") : chalk.red("FAIL")}  ${c.message}`);
  return `${out.join("\n")}\n`;
}

function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v !== "number" || Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

function outputJson(o: OutputMetrics) {
  return { agreement: o.agreement, sqnrDb: o.sqnrDb, cosine: o.cosine, maxAbsError: o.maxAbsError };
}

function layerJson(l: LayerError) {
  return {
    tensor: l.tensor,
    candidateTensor: l.candidateTensor,
    node: l.node,
    sqnrDb: l.sqnrDb,
    localSqnrDb: l.localSqnrDb,
    cosine: l.cosine,
    maxAbsError: l.maxAbsError,
    elements: l.elements,
    ...(l.graphIndex === undefined ? {} : { graphIndex: l.graphIndex }),
    ...(l.integerKernelSqnrDb === undefined ? {} : { integerKernelSqnrDb: l.integerKernelSqnrDb }),
  };
}

function perLayerJson(p: PerLayerResult) {
  return {
    optimization: "disabled",
    referencePasses: p.referencePasses,
    samples: p.samples,
    batchSize: p.batchSize,
    order: "sqnrDb ascending (worst first)",
    noisiest: noisiestLayer(p)?.tensor ?? null,
    activations: p.activations.map(layerJson),
    weights: p.weights.map(layerJson),
    unmapped: p.unmapped,
    ...(p.integerKernelSamples === undefined ? {} : { integerKernelSamples: p.integerKernelSamples }),
  };
}

export function jsonReport(rep: EvalReport): string {
  const r = rep.result;
  const { all, disabled } = r.candidate;
  const gap = (a: number | null | undefined, b: number | null | undefined, scale: number) =>
    a == null || b == null || !Number.isFinite(b - a) ? null : (b - a) * scale;
  const obj = {
    command: "eval",
    schemaVersion: 1,
    tool: "fixq eval",
    fixqVersion: packageVersion(),
    inputs: { reference: rep.reference, candidate: rep.candidate, data: rep.data, labels: rep.labels, samples: r.samples, batchSize: r.batchSize },
    metrics: {
      output: all.outputs[0]?.name ?? null,
      reference: { accuracy: r.reference.accuracy },
      candidate: {
        all: { engine: all.optimization === "emulator" ? "emulator" : "ort", accuracy: all.accuracy, ...(all.outputs[0] ? outputJson(all.outputs[0]) : {}) },
        disabled: { accuracy: disabled.accuracy, ...(disabled.outputs[0] ? outputJson(disabled.outputs[0]) : {}) },
      },
      top1DropPoints: top1Drop(r),
      deploymentGap: {
        top1Points: gap(all.accuracy?.top1, disabled.accuracy?.top1, 100),
        agreementPoints: gap(all.outputs[0]?.agreement, disabled.outputs[0]?.agreement, 100),
        sqnrDb: gap(all.outputs[0]?.sqnrDb, disabled.outputs[0]?.sqnrDb, 1),
      },
      outputs: all.outputs.map((o, i) => ({
        name: o.name,
        candidateName: o.candidateName,
        all: outputJson(o),
        disabled: outputJson(disabled.outputs[i]!),
      })),
    },
    perLayer: rep.perLayer ? perLayerJson(rep.perLayer) : null,
    divergence: rep.divergence === undefined ? null : { located: rep.divergence !== null, ...rep.divergence },
    thresholds: {
      maxDropPoints: rep.thresholds.maxDrop ?? null,
      minAgreement: rep.thresholds.minAgreement ?? null,
      minSqnrDb: rep.thresholds.minSqnrDb ?? null,
      maxDeploymentGapPoints: rep.thresholds.maxDeploymentGap ?? null,
      appliesTo: `candidate.all (${gateRunWords(rep.result)}), first output`,
    },
    passed: rep.gate.passed,
    checks: rep.gate.checks,
    failures: rep.gate.checks.filter((c) => !c.passed).map((c) => c.message),
    seconds: rep.seconds,
  };
  return `${JSON.stringify(obj, jsonValue, 2)}\n`;
}

const XML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/**
 * Escapes text for XML 1.0; characters XML cannot hold become U+FFFD. In an
 * attribute value, tabs and line breaks become character references so they survive.
 */
export function escapeXml(s: string, attribute = false): string {
  const valid = s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD");
  const special = attribute ? /[&<>"'\t\n\r]/g : /[&<>"'\r]/g;
  return valid.replace(special, (c) => XML_ENTITIES[c] ?? `&#${c.charCodeAt(0)};`);
}

export function junitReport(rep: EvalReport): string {
  const checks = rep.gate.checks;
  const failures = checks.filter((c) => !c.passed).length;
  const time = rep.seconds.toFixed(3);
  const counts = `tests="${checks.length}" failures="${failures}" errors="0"`;
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="fixq" ${counts} time="${time}">`];
  lines.push(`  <testsuite name="fixq eval" ${counts} skipped="0" time="${time}">`);
  lines.push("    <properties>");
  const props: [string, string][] = [
    ["reference", rep.reference],
    ["candidate", rep.candidate],
    ["data", rep.data],
    ["labels", rep.labels ?? ""],
    ["samples", String(rep.result.samples)],
    ["gate", gateRunWords(rep.result)],
  ];
  for (const [k, v] of props) lines.push(`      <property name="${escapeXml(k, true)}" value="${escapeXml(v, true)}"/>`);
  lines.push("    </properties>");
  for (const c of checks) {
    const open = `    <testcase classname="fixq.eval" name="${escapeXml(c.requirement, true)}" time="0"`;
    if (c.passed) lines.push(`${open}/>`);
    else {
      lines.push(`${open}>`);
      lines.push(`      <failure message="${escapeXml(c.message, true)}" type="threshold">measured ${escapeXml(c.measured)}; required ${escapeXml(c.requirement)} (${escapeXml(gateRunWords(rep.result))})</failure>`);
      lines.push("    </testcase>");
    }
  }
  const table = [tableHeader(rep.result).join(" | "), ...metricRows(rep.result).map((row) => row.join(" | "))].join("\n");
  lines.push(`    <system-out>${escapeXml(table)}</system-out>`);
  lines.push("  </testsuite>", "</testsuites>");
  return `${lines.join("\n")}\n`;
}

/** Inline code that survives any characters in `s`. */
function mdCode(s: string): string {
  const flat = escapeControl(s);
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(longest + 1);
  const body = flat.startsWith("`") || flat.endsWith("`") ? ` ${flat} ` : flat;
  return `${fence}${body}${fence}`;
}

function mdCell(s: string): string {
  return escapeControl(s).replace(/[|\\<>*_[\]`]/g, (c) => `\\${c}`);
}

export function markdownReport(rep: EvalReport): string {
  const r = rep.result;
  const out: string[] = [];
  out.push(`### fixq eval: ${rep.gate.passed ? "✅ passed" : "❌ failed"}`, "");
  const labels = rep.labels ? `, labels ${mdCode(rep.labels)}` : "";
  out.push(`REF ${mdCode(rep.reference)} vs CAND ${mdCode(rep.candidate)} on ${r.samples} samples from ${mdCode(rep.data)}${labels}.`, "");
  const header = tableHeader(r);
  out.push(`| ${header.map(mdCell).join(" | ")} |`, `|:--|${"--:|".repeat(header.length - 1)}`);
  for (const row of metricRows(r)) out.push(`| ${row.map(mdCell).join(" | ")} |`);
  const note = deploymentGapNote(r, rep.thresholds.maxDeploymentGap);
  if (note) out.push("", `> ⚠️ ${mdCell(note)}`);
  if (rep.divergence !== undefined) out.push(`> ${mdCell(divergenceText(rep.divergence))}`);
  out.push("");
  if (rep.gate.checks.length === 0) out.push("No thresholds set.");
  else {
    out.push(`| threshold (CAND ${gateRunLabel(r)}) | measured | result |`, "|:--|--:|:--|");
    for (const c of rep.gate.checks) out.push(`| ${mdCell(c.requirement)} | ${mdCell(c.measured)} | ${c.passed ? "✅ pass" : "❌ fail"} |`);
  }
  if (rep.perLayer) out.push("", ...perLayerMarkdown(rep.perLayer));
  return `${out.join("\n")}\n`;
}

function perLayerMarkdown(p: PerLayerResult): string[] {
  const out: string[] = [];
  const table = (header: readonly string[], rows: string[][]) => {
    if (rows.length === 0) {
      out.push("None.");
      return;
    }
    out.push(`| ${header.map(mdCell).join(" | ")} |`, `|${header.map((_, i) => (i >= header.length - 2 ? ":--|" : "--:|")).join("")}`);
    for (const row of rows) out.push(`| ${row.map(mdCell).join(" | ")} |`);
  };
  out.push("#### Per-layer SQNR (worst first)", "");
  out.push(`CAND's quantized activations against REF, both with ORT graph optimizations disabled, ${p.samples} samples. *local* estimates the noise the tensor adds itself.`, "");
  table(PER_LAYER_HEADER, perLayerRows(p));
  const note = noisiestNote(p);
  if (note) out.push("", `> ${mdCell(note)}`);
  out.push("", "#### Quantized weights and biases (worst first)", "");
  table(WEIGHT_HEADER, weightRows(p));
  if (p.unmapped.length > 0) {
    out.push("", `#### Not mapped to REF (${p.unmapped.length})`, "");
    for (const u of p.unmapped) out.push(`- ${mdCode(u.candidateTensor)} (${u.kind}): ${mdCell(u.reason)}`);
  }
  return out;
}

export interface ReportFiles {
  json?: string;
  junit?: string;
  markdown?: string;
}

/** Writes the requested reports, each atomically. */
export function writeReports(rep: EvalReport, files: ReportFiles): void {
  const enc = (s: string) => new TextEncoder().encode(s);
  if (files.json) writeFileAtomic(files.json, enc(jsonReport(rep)));
  if (files.junit) writeFileAtomic(files.junit, enc(junitReport(rep)));
  if (files.markdown) writeFileAtomic(files.markdown, enc(markdownReport(rep)));
}

const dbJson = (x: number | undefined) => (x === undefined ? null : Number.isFinite(x) ? x : formatDb(x));

/**
 * The `eval` object of `fixq quantize --eval --json`: REF is the float model,
 * CAND the quantized one. Top-1 figures are null without labels; non-finite
 * SQNRs are the strings "inf", "-inf", "nan" as in the eval report.
 */
export function quantizeEvalSummary(r: CompareResult) {
  const { all, disabled } = r.candidate;
  return {
    samples: r.samples,
    output: all.outputs[0]?.name ?? null,
    floatTop1: r.reference.accuracy?.top1 ?? null,
    integerKernelTop1: all.accuracy?.top1 ?? null,
    fakeQuantTop1: disabled.accuracy?.top1 ?? null,
    top1DropPoints: top1Drop(r),
    agreement: all.outputs[0]?.agreement ?? null,
    fakeQuantAgreement: disabled.outputs[0]?.agreement ?? null,
    sqnrDb: dbJson(all.outputs[0]?.sqnrDb),
    fakeQuantSqnrDb: dbJson(disabled.outputs[0]?.sqnrDb),
  };
}

/** The one-line result of `fixq quantize --eval`: top-1 (with labels), agreement and output SQNR. */
/**
 * The one-line `quantize --eval` summary. `deployed` names how ORT runs the
 * optimized model: "in ORT integer kernels" for 8-bit formats, or e.g. "in ORT
 * (DequantizeLinear + float ops)" for formats without integer kernels.
 */
export function quantizeEvalLine(r: CompareResult, deployed = "in ORT integer kernels"): string {
  const { all, disabled } = r.candidate;
  const pct2 = (x: number | null | undefined) => (x == null ? "n/a" : pct(x));
  const a = all.outputs[0];
  const d = disabled.outputs[0];
  const sqnr = `output SQNR ${formatDb(a?.sqnrDb ?? Number.NaN)} dB (${formatDb(d?.sqnrDb ?? Number.NaN)} dB fake-quant)`;
  const f = r.reference.accuracy;
  if (f && all.accuracy && disabled.accuracy) {
    const drop = top1Drop(r)!;
    return `top-1 on ${r.samples} samples: float ${pct(f.top1)}, quantized ${pct(all.accuracy.top1)} ${deployed} (${pct(disabled.accuracy.top1)} fake-quant), drop ${drop.toFixed(2)} points; agreement ${pct2(a?.agreement)}; ${sqnr}\n`;
  }
  return `on ${r.samples} samples (no labels): agreement ${pct2(a?.agreement)} ${deployed} (${pct2(d?.agreement)} fake-quant); ${sqnr}\n`;
}
