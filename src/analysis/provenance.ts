/**
 * What `fixq quantize` recorded in a model's metadata_props, for
 * `fixq inspect`: the fixq version, the recipe (with its per-layer rules), the
 * calibration provenance (samples and SHA-256, or data-free with the assumed
 * input range) and the format of every quantized tensor (`fixq.formats`, as
 * quant/format-table.ts writes it). Entries that are missing or not valid
 * JSON are reported as absent, never guessed.
 */
import { type Model, metadataOf } from "../ir/graph.js";
import type { TensorFormat } from "../quant/format-table.js";

export interface QuantProvenance {
  readonly version?: string;
  readonly recipe?: Record<string, unknown>;
  readonly calibration?: Record<string, unknown>;
  readonly formats?: readonly TensorFormat[];
}

function json<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** The fixq quantization metadata of `m`; undefined when it has no recipe or formats (not written by fixq quantize). */
export function quantProvenance(m: Model): QuantProvenance | undefined {
  const meta = new Map(metadataOf(m));
  if (!meta.has("fixq.recipe") && !meta.has("fixq.formats")) return undefined;
  const formats = json<TensorFormat[]>(meta.get("fixq.formats"));
  return {
    version: meta.get("fixq.version"),
    recipe: json(meta.get("fixq.recipe")),
    calibration: json(meta.get("fixq.calibration")),
    formats: Array.isArray(formats) ? formats : undefined,
  };
}

/** Text lines for `fixq inspect`: the recipe's main keys, the calibration, and one line per quantized tensor. */
export function provenanceLines(p: QuantProvenance): string[] {
  const lines = [`quantized by fixq ${p.version ?? "?"}`];
  const r = p.recipe;
  if (r) {
    const keys = ["weights", "weightBits", "acts", "granularity", "calibration", "biasCorrection", "dataFree", "cle", "exclude"].filter((k) => r[k] !== undefined && !(Array.isArray(r[k]) && (r[k] as unknown[]).length === 0));
    lines.push(`  recipe  ${keys.map((k) => `${k}=${JSON.stringify(r[k])}`).join(" ")}`);
    const rules = Array.isArray(r["layers"]) ? (r["layers"] as { index: number; match: unknown; keys: string[]; skip: boolean }[]) : [];
    for (const rule of rules) lines.push(`    layers[${rule.index}]  match ${JSON.stringify(rule.match)}${rule.skip ? " skip" : ` sets ${rule.keys.join(", ")}`}`);
  }
  const c = p.calibration;
  if (c) lines.push(`  calibration  ${c["dataFree"] ? `data-free, input range ${JSON.stringify(c["inputRange"])}` : `${c["samples"]} samples, sha256 ${c["sha256"]}`}`);
  if (p.formats) {
    lines.push(`  formats (${p.formats.length} quantized tensors): role, format, granularity, rounding/calibration, rule, tensor`);
    for (const f of p.formats) lines.push(`    ${f.role.padEnd(10)} ${f.format.padEnd(14)} ${f.granularity.padEnd(14)} ${(f.rounding || f.calibration).padEnd(14)} ${(f.rule === null ? "-" : `layers[${f.rule}]`).padEnd(10)} ${f.tensor}`);
  } else lines.push("  formats: not recorded in this file");
  return lines;
}
