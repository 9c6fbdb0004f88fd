/** `fixq inspect MODEL [--json [FILE]] [--graph] [--probe] [--input-shape NAME=DIMS]`: the model summary. */
import chalk from "chalk";
import { inspectModel, type InspectReport } from "../analysis/inspect.js";
import { provenanceLines, quantProvenance } from "../analysis/provenance.js";
import { dumpModel } from "../ir/dump.js";
import type { ProbeReport } from "../runtime/probe-types.js";
import { batchOneInstance } from "../passes/sample-axis.js";
import { applyInputFlags, type InputFlags } from "./input-flags.js";
import { emitJson, jsonOnStdout, jsonTarget } from "./json-output.js";
import { loadVerified } from "./load-verified.js";
import { externalDataInputs, guardOutputs } from "./output-guard.js";

export interface InspectOptions extends InputFlags {
  json?: string | boolean;
  graph?: boolean;
  /** Complete shapes that static inference leaves open by running the model in onnxruntime. */
  probe?: boolean;
}

function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function formatReport(path: string, r: InspectReport): string {
  const lines: string[] = [];
  const opsets = Object.entries(r.opsets).map(([d, v]) => `${d} ${v}`).join(", ");
  lines.push(`${chalk.bold(path)}  IR ${r.irVersion ?? "?"}, opsets ${opsets}${r.producer ? `, from ${r.producer}` : ""}`);
  for (const v of r.inputs) lines.push(`  input  ${chalk.cyan(v.name)}: ${v.dtype}${v.shape}`);
  for (const v of r.outputs) lines.push(`  output ${chalk.cyan(v.name)}: ${v.dtype}${v.shape}`);
  lines.push(
    `  ${r.nodes} nodes, ${human(r.parameters)} parameters (${human(r.parameterBytes)}B${r.constantNodeParameters ? `, ${human(r.constantNodeParameters)} in Constant nodes` : ""}), ${human(r.totalMacs)} MACs per sample${r.layers.some((l) => l.macs === null) ? ` (+ ${r.layers.filter((l) => l.macs === null).length} layers with input-dependent size)` : ""}`,
  );
  if (r.subgraphs || r.functions) lines.push(`  ${r.subgraphs} subgraphs, ${r.functions} functions`);
  lines.push(`  external data: ${r.externalData ? `yes (${r.externalTensors} tensors)` : "no"}`);
  lines.push(`  ops: ${Object.entries(r.ops).map(([k, v]) => `${k}×${v}`).join("  ")}`);
  if (r.layers.length) {
    lines.push("  layers:");
    const width = Math.max(...r.layers.map((l) => (l.name || "(unnamed)").length));
    for (const l of r.layers) {
      const w = l.weight ? `  w ${l.weight.dtype}[${l.weight.dims.join(",")}] range [${l.weight.min.toPrecision(4)}, ${l.weight.max.toPrecision(4)}]` : "";
      lines.push(`    ${(l.name || "(unnamed)").padEnd(width)} ${l.op.padEnd(14)} ${l.macs === null ? "?" : human(l.macs).padStart(8)} MACs${w}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** One line saying what probing filled in (stderr for text output, `probe` in JSON). */
function probeLine(p: ProbeReport): string {
  const runs = p.runs.map((r) => Object.entries(r).map(([k, d]) => `${k}[${d.join(",")}]`).join(" ")).join(", then ");
  const open = p.inputDependent.length ? `; ${p.inputDependent.length} stay input-dependent (pin them with --input-shape)` : "";
  return p.runs.length === 0 ? "probe: static inference already knows every shape; nothing to fill in" : `probe: ran the model in onnxruntime on ${runs}; filled in the shapes of ${p.filled.length} values${open}`;
}

export async function runInspect(path: string, opts: InspectOptions): Promise<number> {
  const json = jsonTarget(opts.json);
  const outputs = [{ what: "--json", path: json?.file }];
  guardOutputs([{ what: "the model", path }], outputs);
  const loaded = loadVerified(path);
  const warnings = loaded.warnings;
  guardOutputs(externalDataInputs(loaded.model, "the model"), outputs);
  const model = applyInputFlags(loaded.model, opts).model;
  if (opts.graph && !json) {
    process.stdout.write(dumpModel(model));
    return 0;
  }
  // a batch off the leading axis (torch's seq-first attention): MACs are counted on the model at batch 1
  const sample = model.graph ? batchOneInstanceOrNone(model.graph) : undefined;
  let report = inspectModel(model, undefined, sample);
  let probe: ProbeReport | undefined;
  let probeError: string | undefined;
  if (opts.probe) {
    const { probeShapes } = await import("../runtime/probe-types.js");
    try {
      probe = await probeShapes(model);
      report = inspectModel(model, probe.types, sample);
    } catch (e) {
      // The summary stands without the probe: say why it is missing instead of failing the command.
      probeError = e instanceof Error ? e.message : String(e);
    }
  }
  if (json) {
    const out: Record<string, unknown> = { file: path, ...report, quantization: quantProvenance(model) ?? null, warnings: warnings.map((w) => `${w.where}: ${w.message}`) };
    if (probe) out["probe"] = { runs: probe.runs, filled: probe.filled.length, inputDependent: probe.inputDependent };
    if (probeError) out["probe"] = { error: probeError };
    if (opts.graph) out["graph"] = dumpModel(model);
    emitJson(json, "inspect", out);
  }
  if (!jsonOnStdout(json)) {
    process.stdout.write(formatReport(path, report));
    const q = quantProvenance(model);
    if (q) process.stdout.write(`${provenanceLines(q).map((l) => `  ${l}`).join("\n")}\n`);
    if (probe) process.stderr.write(`${probeLine(probe)}\n`);
    if (probeError) process.stderr.write(`${chalk.yellow("warning:")} probe: ${probeError}; shapes are static inference's\n`);
    for (const w of warnings) process.stderr.write(`${chalk.yellow("warning:")} ${w.where}: ${w.message}\n`);
  }
  return 0;
}

/** batchOneInstance, or undefined when the graph cannot be pinned to batch 1 (the summary then counts MACs as usual). */
function batchOneInstanceOrNone(g: NonNullable<Parameters<typeof batchOneInstance>[0]>) {
  try {
    return batchOneInstance(g);
  } catch {
    return undefined;
  }
}
