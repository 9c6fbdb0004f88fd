/**
 * What `fixq quantize` reports after a run: the JSON summary (`--json`) and
 * the same facts as text on standard error. Pure formatting over the
 * quantizer's result; quantize.ts decides what runs and what is written.
 */
import { resolve } from "node:path";
import chalk from "chalk";
import type { Model } from "../ir/graph.js";
import { formatSummaryLines } from "../quant/format-table.js";
import { fixedDesignNotes } from "../quant/fixed-formats.js";
import type { reexportQuantized, quantizeModel } from "../quant/quantize.js";
import { type Recipe, recipeJson } from "../quant/recipe.js";
import { cpuKernelNote, integerKernelNote } from "../quant/recipe-needs.js";
import { passesJson, passesText, stagesJson, stagesText } from "../quant/stage-report.js";
import { findReport } from "../quant/stage.js";
import { detectCpu } from "../runtime/cpu-features.js";
import { type LoadCheck, loadCheckLine } from "../runtime/verify-load.js";

type QuantizeResult = Awaited<ReturnType<typeof quantizeModel>>;
type Reexported = NonNullable<ReturnType<typeof reexportQuantized>>;

const note = (s: string) => process.stderr.write(`  ${chalk.yellow("note")}  ${s}\n`);

/** The summary of re-exporting a model that is already QDQ, printed unless `quiet`. */
export function reexportSummary(already: Reexported, output: string, loads: LoadCheck, evalRequested: boolean, quiet: boolean): Record<string, unknown> {
  const { activations, weights, unmatched, notes } = already.view;
  if (!quiet) {
    process.stderr.write(`${chalk.green("wrote")} ${output}: the input is already quantized (QDQ); re-exported its ${activations.size} activation and ${weights.size} weight specs unchanged, without calibration or recipe\n`);
    for (const u of unmatched) process.stderr.write(`  kept as a node  ${u.node.opType} '${u.node.name ?? ""}': ${u.reason}\n`);
    for (const n of notes) note(n);
    process.stderr.write(`  ${loadCheckLine(loads)}\n`);
    if (evalRequested) process.stderr.write("  --eval skipped: there is no float model to compare with\n");
  }
  return { output: resolve(output), ortLoad: loads, reexported: true, activations: activations.size, weights: weights.size, leftAsNodes: unmatched.map((u) => ({ node: u.node.name ?? u.node.opType, reason: u.reason })), notes };
}

export interface QuantizeRun {
  readonly result: QuantizeResult;
  readonly recipe: Recipe;
  /** The model that was quantized (after --specialize). */
  readonly model: Model;
  readonly output: string;
  readonly calibPath?: string;
  readonly loads: LoadCheck;
  readonly inlined: readonly { node: string; branch: string }[];
  /** How ORT runs the weight-only layers when they are not DequantizeLinear + float ops (--weight-only-op matmulnbits). */
  readonly kernelNote?: string;
}

/** The JSON summary of a quantize run, printed as text on stderr unless `quiet`. */
export function quantizeSummary(run: QuantizeRun, quiet: boolean): Record<string, unknown> {
  const { result, recipe, output, calibPath, loads, inlined } = run;
  // weight-only (no activation quantized: --acts float): the planner's elementwise and pass-through nodes get no Q/DQ, so only the layers reading a quantized weight count
  const tensors = new Set(result.formats.map((f) => f.tensor));
  const weightOnly = !result.formats.some((f) => f.role === "activation");
  const decisions = result.decisions.map((d) =>
    d.quantized && weightOnly && !d.node.inputs.some((i) => tensors.has(i)) ? { ...d, quantized: false, reason: "weight-only quantization: no weight, and activations stay float" } : d,
  );
  const quantized = decisions.filter((d) => d.quantized);
  const float = decisions.filter((d) => !d.quantized && !d.notFloat && !["Constant", "QuantizeLinear", "DequantizeLinear"].includes(d.node.opType));
  const notFloat = decisions.filter((d) => d.notFloat && d.node.opType !== "Constant");
  const where = (d: (typeof float)[number]) => ({ node: d.node.name ?? `#${d.index}`, op: d.node.opType, reason: d.reason });
  const summary: Record<string, unknown> = {
    output: resolve(output),
    recipe: recipeJson(recipe),
    ortLoad: loads,
    cpu: (({ model, arch, features, u8s8 }) => ({ model, arch, features, u8s8 }))(detectCpu()),
    calibration: calibPath ? { file: calibPath, samples: result.calibrationSamples, sha256: result.calibrationHash } : { dataFree: true, inputRange: recipe.inputRange ?? null },
    quantized: quantized.length,
    float: float.map(where),
    notFloat: notFloat.map(where),
    passes: passesJson(result.passes),
    stages: stagesJson(result.stages),
    formats: result.formats,
  };
  const rounding = findReport(result.passes, "weight-rounding");
  if (rounding) summary["rounding"] = { method: rounding.method, layers: rounding.layers, skipped: rounding.skipped };
  if (inlined.length) summary["specialized"] = inlined;
  const keptFloat = result.subgraphs.filter((b) => !b.quantized);
  if (result.subgraphs.length) summary["subgraphs"] = result.subgraphs;
  if (quiet) return summary;

  const how = calibPath ? `calibrated on ${result.calibrationSamples} samples` : "data-free: no calibration data read";
  process.stderr.write(`${chalk.green("wrote")} ${output}: ${quantized.length} nodes quantized, ${float.length} kept in float (${how})\n`);
  for (const n of [run.kernelNote ?? integerKernelNote(recipe), cpuKernelNote(recipe)]) if (n) note(n);
  const count = (keys: string[]) => {
    const m = new Map<string, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return [...m].map(([k, n]) => `${n}× ${k}`).join(", ");
  };
  if (quantized.length) process.stderr.write(`  quantized  ${count(quantized.map((d) => `${d.node.opType} (${d.role})`))}\n`);
  const byReason = new Map<string, string[]>();
  for (const d of float) byReason.set(`${d.node.opType}: ${d.reason}`, [...(byReason.get(`${d.node.opType}: ${d.reason}`) ?? []), d.node.name ?? `#${d.index}`]);
  for (const [why, nodes] of byReason) process.stderr.write(`  float  ${why} (${nodes.length}×)\n`);
  if (notFloat.length) process.stderr.write(`  not float  ${count(notFloat.map((d) => d.node.opType))} (integer, boolean or shape arithmetic: nothing to quantize)\n`);
  for (const line of passesText(result.passes)) process.stderr.write(`  ${line}\n`);
  process.stderr.write("  formats (role, format, granularity, calibration, rule; every tensor in --json):\n");
  for (const line of formatSummaryLines(result.formats)) process.stderr.write(`    ${line}\n`);
  for (const line of fixedDesignNotes(result.formats)) note(line);
  for (const line of stagesText(result.stages)) process.stderr.write(`  ${line}\n`);
  for (const i of inlined) note(`specialized: If '${i.node}' replaced by its ${i.branch} (decided by --input-value); the written model computes that branch whatever the input says`);
  const bodies = result.subgraphs.length - keptFloat.length;
  if (bodies) process.stderr.write(`  subgraphs  ${bodies} If/Loop/Scan bod${bodies === 1 ? "y" : "ies"} quantized (nodes named <owner>/<attribute>/<node>)\n`);
  for (const b of keptFloat) note(`body ${b.body} kept float: ${b.reason}`);
  process.stderr.write(`  ${loadCheckLine(loads)}\n`);
  return summary;
}
