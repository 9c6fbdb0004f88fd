/**
 * `fixq quantize --weight-only-op matmulnbits [--nbits-accuracy-level L]`:
 * the weight-only QDQ model rewritten to ONNX Runtime's MatMulNBits
 * (quant/matmulnbits.ts). Usage errors: another op name, activations that
 * are quantized (MatMulNBits takes float activations), a bad level.
 */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { toMatMulNBits } from "../quant/matmulnbits.js";
import type { Recipe } from "../quant/recipe.js";

export interface WeightOnlyOpFlags {
  weightOnlyOp?: string;
  nbitsAccuracyLevel?: string;
}

/** Checks the flags before any work; true when the rewrite is asked for. */
export function wantsMatMulNBits(flags: WeightOnlyOpFlags, recipe: Recipe): boolean {
  const op = flags.weightOnlyOp ?? "qdq";
  if (op !== "qdq" && op !== "matmulnbits") throw new FixqError("usage", `--weight-only-op expects qdq | matmulnbits, got '${op}'`);
  if (op === "qdq") {
    if (flags.nbitsAccuracyLevel !== undefined) throw new FixqError("usage", "--nbits-accuracy-level needs --weight-only-op matmulnbits");
    return false;
  }
  if (recipe.acts !== "float") throw new FixqError("usage", `--weight-only-op matmulnbits writes weight-only layers: add --acts float (not ${recipe.acts})`);
  const level = accuracyLevel(flags);
  if (!(Number.isInteger(level) && level >= 0 && level <= 4)) throw new FixqError("usage", `--nbits-accuracy-level expects 0…4, got '${flags.nbitsAccuracyLevel}'`);
  return true;
}

function accuracyLevel(flags: WeightOnlyOpFlags): number {
  return flags.nbitsAccuracyLevel === undefined ? 0 : Number(flags.nbitsAccuracyLevel);
}

/** The rewritten model, with one summary line on standard error (unless `quiet`). */
export function applyMatMulNBits(model: Model, flags: WeightOnlyOpFlags, quiet: boolean): Model {
  const { model: out, report } = toMatMulNBits(model, { accuracyLevel: accuracyLevel(flags) });
  if (!quiet) {
    const bits = [...new Set(report.rewritten.map((r) => `${r.bits}-bit block ${r.blockSize}`))].join(", ");
    const kept = report.kept.length ? `; ${report.kept.length} kept as DequantizeLinear + ${report.kept[0]!.node.includes("Gemm") ? "Gemm" : "MatMul"} (first: ${report.kept[0]!.node}: ${report.kept[0]!.reason})` : "";
    process.stderr.write(`  MatMulNBits  ${report.rewritten.length} layers (${bits})${kept}\n`);
  }
  return out;
}
