/**
 * `fixq quantize --smooth [α]`: parses α (none: searched per norm), smooths the float model on the calibration data, prints the per-norm α and channel spread.
 * `fixq quantize --rotate [folded|online]`: Hadamard-rotates the float model's linear pairs (passes/rotate.ts) and, online, inserts
 * a Hadamard MatMul before the other linear layers (passes/rotate-online.ts); prints what it rotated.
 */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import type { DataSource } from "../quant/feeds.js";
import { smoothModel } from "../quant/smooth.js";
import { rotateModel } from "../passes/rotate.js";
import { ONLINE_HADAMARD_RULE, rotateFoldedAndOnline } from "../passes/rotate-online.js";
import type { LayerRuleInput } from "../quant/layer-rules.js";
import type { RotateMode } from "./deployment-keys.js";

/**
 * The rotated model, and the recipe rules it needs ahead of the others (online: the inserted MatMuls' int8 weights).
 * With --smooth, the caller smooths first: smoothing after an online rotation would scale the inserted ±1/√d weights.
 */
export function rotateForQuantize(model: Model, mode: RotateMode, quiet: boolean): { model: Model; rules: LayerRuleInput[] } {
  const { model: out, pairs, rotations } = mode === "online" ? rotateFoldedAndOnline(model) : { ...rotateModel(model), rotations: [] };
  if (!quiet) {
    const kinds = [...new Set(pairs.map((p) => `${p.kind} block ${p.block}`))].join(", ");
    process.stderr.write(`  rotate  ${pairs.length} linear pairs Hadamard-rotated${pairs.length ? ` (${kinds})` : ""}; float function unchanged\n`);
    if (rotations.length) {
      const layers = rotations.reduce((s, r) => s + r.readers.length, 0);
      const blocks = [...new Set(rotations.map((r) => r.width === r.block ? `${r.block}` : `${r.width}/${r.block}×${r.block}`))].join(", ");
      process.stderr.write(`  rotate  online Hadamard: ${rotations.length} MatMuls inserted (int8 weights ±1/√d, d ${blocks}) before ${layers} linear layers\n`);
    }
  }
  return { model: out, rules: rotations.length ? [{ ...ONLINE_HADAMARD_RULE, match: { ...ONLINE_HADAMARD_RULE.match } }] : [] };
}

export async function smoothForQuantize(model: Model, source: DataSource, flag: string | true, batchSize: number, threads: number | undefined, quiet: boolean): Promise<Model> {
  const alpha = flag === true ? "search" : Number(flag);
  if (typeof alpha === "number" && (flag === true || flag.trim() === "" || !(alpha > 0 && alpha < 1))) throw new FixqError("usage", `--smooth expects α in (0, 1), got '${flag}'`);
  if (source.count === 0) throw new FixqError("usage", "--smooth measures activations: it needs calibration data (not --data-free)");
  const { model: out, report, refused } = await smoothModel(model, source, alpha, { batchSize, threads });
  if (!quiet) {
    for (const r of refused) process.stderr.write(`  smooth  kept ${r.norm}: ${r.reason}\n`);
    process.stderr.write(`  smooth  α ${alpha === "search" ? "searched per norm" : alpha}, ${report.layers.length} LayerNorms; channel spread max/mean of max|X| before → after:\n`);
    for (const l of report.layers) {
      const via = l.via.length ? `, via ${l.via.join(" → ")}` : "";
      process.stderr.write(`    ${l.norm} (${l.readers} readers${via}, α ${l.alpha}): ${l.spreadBefore.toFixed(2)} → ${l.spreadAfter.toFixed(2)}\n`);
    }
  }
  return out;
}
