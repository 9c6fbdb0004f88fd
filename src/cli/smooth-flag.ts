/**
 * `fixq quantize --smooth [α]`: parses α (none: searched per norm), smooths the float model on the calibration data, prints the per-norm α and channel spread.
 * `fixq quantize --rotate`: Hadamard-rotates the float model's linear pairs (passes/rotate.ts), prints what it rotated.
 */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import type { DataSource } from "../quant/feeds.js";
import { smoothModel } from "../quant/smooth.js";
import { rotateModel } from "../passes/rotate.js";

export function rotateForQuantize(model: Model, quiet: boolean): Model {
  const { model: out, pairs } = rotateModel(model);
  if (!quiet) {
    const kinds = [...new Set(pairs.map((p) => `${p.kind} block ${p.block}`))].join(", ");
    process.stderr.write(`  rotate  ${pairs.length} linear pairs Hadamard-rotated (${kinds}); float function unchanged\n`);
  }
  return out;
}

export async function smoothForQuantize(model: Model, source: DataSource, flag: string | true, batchSize: number, threads: number | undefined, quiet: boolean): Promise<Model> {
  const alpha = flag === true ? "search" : Number(flag);
  if (typeof alpha === "number" && (flag === true || flag.trim() === "" || !(alpha > 0 && alpha < 1))) throw new FixqError("usage", `--smooth expects α in (0, 1), got '${flag}'`);
  if (source.count === 0) throw new FixqError("usage", "--smooth measures activations: it needs calibration data (not --data-free)");
  const { model: out, report } = await smoothModel(model, source, alpha, { batchSize, threads });
  if (!quiet) {
    process.stderr.write(`  smooth  α ${alpha === "search" ? "searched per norm" : alpha}, ${report.layers.length} LayerNorms; channel spread max/mean of max|X| before → after:\n`);
    for (const l of report.layers) process.stderr.write(`    ${l.norm} (${l.readers} readers, α ${l.alpha}): ${l.spreadBefore.toFixed(2)} → ${l.spreadAfter.toFixed(2)}\n`);
  }
  return out;
}
