/** `fixq inspect MODEL [--json] [--graph]` */
import chalk from "chalk";
import { inspectModel, type InspectReport } from "../analysis/inspect.js";
import { provenanceLines, quantProvenance } from "../analysis/provenance.js";
import { dumpModel } from "../ir/dump.js";
import { loadVerified } from "./load-verified.js";

export interface InspectOptions {
  json?: boolean;
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

export async function runInspect(path: string, opts: InspectOptions): Promise<number> {
  const { model, warnings } = loadVerified(path);
  if (opts.graph && !opts.json) {
    process.stdout.write(dumpModel(model));
    return 0;
  }
  let report = inspectModel(model);
  if (opts.probe && report.layers.some((l) => l.macs === null)) {
    // Probing marks size-dependent dims unknown, so only size-independent facts are added.
    const { probeTypes } = await import("../runtime/probe-types.js");
    const types = await probeTypes(model).catch(() => undefined);
    if (types) report = inspectModel(model, types);
  }
  if (opts.json) {
    const out: Record<string, unknown> = { file: path, ...report, quantization: quantProvenance(model) ?? null, warnings: warnings.map((w) => `${w.where}: ${w.message}`) };
    if (opts.graph) out["graph"] = dumpModel(model);
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(formatReport(path, report));
    const q = quantProvenance(model);
    if (q) process.stdout.write(`${provenanceLines(q).map((l) => `  ${l}`).join("\n")}\n`);
    for (const w of warnings) process.stderr.write(`${chalk.yellow("warning:")} ${w.where}: ${w.message}\n`);
  }
  return 0;
}
