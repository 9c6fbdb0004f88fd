/**
 * `fixq quantize --weight-only-op matmulnbits [--nbits-accuracy-level L]`:
 * the weight-only QDQ model rewritten to ONNX Runtime's MatMulNBits
 * (quant/matmulnbits.ts). Usage errors: another op name, activations that
 * are quantized (MatMulNBits takes float activations), a bad level.
 *
 * `--acts dynamic-uint8`: int8 weights quantized as weight-only, then every
 * MatMul/Gemm rewritten to run-time uint8 activations (quant/dynamic-matmul.ts).
 */
import { FixqError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { toDynamicUint8 } from "../quant/dynamic-matmul.js";
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

/** `--acts dynamic-uint8`: true, and the flags turned into their weight-only form (acts float), when asked for. */
export function takeDynamicActs(flags: { acts?: string; weightOnlyOp?: string; weights?: string }): boolean {
  if (flags.acts !== "dynamic-uint8") return false;
  if (flags.weightOnlyOp !== undefined && flags.weightOnlyOp !== "qdq") throw new FixqError("usage", "--acts dynamic-uint8 writes MatMulInteger layers: drop --weight-only-op");
  if (flags.weights !== undefined && flags.weights !== "int8") throw new FixqError("usage", `--acts dynamic-uint8 takes int8 weights, not ${flags.weights}`);
  flags.acts = "float";
  return true;
}

/** The model with dynamic uint8 activations, with one summary line on standard error (unless `quiet`). */
export function applyDynamicUint8(model: Model, quiet: boolean): Model {
  const { model: out, report } = toDynamicUint8(model);
  if (!quiet) {
    const kept = report.kept.length ? `; ${report.kept.length} kept weight-only (first: ${report.kept[0]!.node}: ${report.kept[0]!.reason})` : "";
    process.stderr.write(`  dynamic-uint8  ${report.rewritten.length} MatMul/Gemm layers as DynamicQuantizeLinear + MatMulInteger${kept}\n`);
  }
  return out;
}
