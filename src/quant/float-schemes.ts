/**
 * What a recipe's float formats mean for quantization and export:
 *
 *   weights fp8-e4m3/e5m2   FP8 codes, float32 scale per channel (or tensor)   QDQ, opset 19
 *   weights mx*             element codes + E8M0 scale per 32 along the reduction axis
 *                           native: FP8/INT8 elements opset 21 (blocked DequantizeLinear),
 *                                   FP4 opset 23 (FLOAT4E2M1), FP6 none (no ONNX opset has it)
 *   weights nvfp4           FP4 + E4M3 per 16 + FP32 tensor scale, native opset 23
 *   any block format, --fp4-storage dequantized: float32 values on the grid, any opset
 *   acts fp8-e4m3/e5m2      static per-tensor scale from calibration, QDQ opset 19
 *   acts mx* / nvfp4        dynamic: scales per block at run time, as a graph of
 *                           standard ops (block-act-graph.ts); opset 19 (FP8 Cast)
 *   acts float              none (weight-only)
 *
 * The opset a recipe needs is the largest of its parts; an explicit --opset
 * below it is a usage error that names the opset needed.
 */
import { FixqError } from "../ir/errors.js";
import type { FloatFormat } from "../numerics/float-format.js";
import { FP4_E2M1, FP8_E4M3FN, FP8_E5M2 } from "../numerics/float-formats.js";
import { type MxFormat, parseMxFormat } from "../numerics/mx.js";
import { type FloatType, type Fp4Storage, isFloatType, requiredBlockSize } from "./format-names.js";
import type { Granularity, Recipe } from "./recipe.js";

export type WeightScheme =
  | { readonly kind: "fp8"; readonly format: FloatFormat; readonly perChannel: boolean }
  | { readonly kind: "mx"; readonly format: MxFormat; readonly storage: Fp4Storage }
  | { readonly kind: "nvfp4"; readonly storage: Fp4Storage };

export type ActScheme =
  | { readonly kind: "fp8"; readonly format: FloatFormat }
  | { readonly kind: "mx"; readonly format: MxFormat }
  | { readonly kind: "nvfp4" }
  | { readonly kind: "none" };

function fp8Format(t: FloatType): FloatFormat | undefined {
  return t === "fp8-e4m3" ? FP8_E4M3FN : t === "fp8-e5m2" ? FP8_E5M2 : undefined;
}

/** The float weight scheme of a recipe; undefined for integer weights. */
export function weightSchemeOf(r: Pick<Recipe, "weights" | "granularity" | "fp4Storage">): WeightScheme | undefined {
  if (!isFloatType(r.weights)) return undefined;
  const fp8 = fp8Format(r.weights);
  if (fp8) return { kind: "fp8", format: fp8, perChannel: r.granularity.kind !== "per-tensor" };
  if (r.weights === "nvfp4") return { kind: "nvfp4", storage: r.fp4Storage };
  return { kind: "mx", format: parseMxFormat(r.weights)!, storage: r.fp4Storage };
}

/** The float activation scheme of a recipe; undefined for integer activations. */
export function actSchemeOf(r: Pick<Recipe, "acts">): ActScheme | undefined {
  if (r.acts === "float") return { kind: "none" };
  if (!isFloatType(r.acts)) return undefined;
  const fp8 = fp8Format(r.acts);
  if (fp8) return { kind: "fp8", format: fp8 };
  return r.acts === "nvfp4" ? { kind: "nvfp4" } : { kind: "mx", format: parseMxFormat(r.acts)! };
}

export interface OpsetNeed {
  readonly opset: number;
  readonly why: string;
}

/** The lowest opset that expresses the recipe's float formats (undefined: nothing beyond the integer rules). */
export function floatOpsetNeed(r: Pick<Recipe, "weights" | "acts" | "granularity" | "fp4Storage">): OpsetNeed | undefined {
  const needs: OpsetNeed[] = [];
  const w = weightSchemeOf(r);
  if (w?.kind === "fp8") needs.push({ opset: 19, why: `${r.weights} weights (FLOAT8 DequantizeLinear)` });
  if ((w?.kind === "mx" || w?.kind === "nvfp4") && w.storage === "native") {
    const fp4 = w.kind === "nvfp4" || w.format.element === FP4_E2M1;
    needs.push(fp4 ? { opset: 23, why: `${r.weights} weights (FLOAT4E2M1 DequantizeLinear)` } : { opset: 21, why: `${r.weights} weights (blocked DequantizeLinear)` });
  }
  const a = actSchemeOf(r);
  if (a?.kind === "fp8") needs.push({ opset: 19, why: `${r.acts} activations (FLOAT8 QuantizeLinear)` });
  if (a?.kind === "mx" || a?.kind === "nvfp4") needs.push({ opset: 19, why: `${r.acts} activations (Cast to FLOAT8 with saturate in the dynamic block graph)` });
  return needs.reduce<OpsetNeed | undefined>((m, n) => (m === undefined || n.opset > m.opset ? n : m), undefined);
}

/**
 * Checks and completes the float-format parts of a built recipe:
 * block formats get their block granularity (an explicit other one is an
 * error), FP8 weights take no blocks, FP6 weights need dequantized storage.
 */
export function settleFloatRecipe(r: Recipe, granularityGiven: boolean): void {
  if (!isFloatType(r.weights)) return;
  const need = requiredBlockSize(r.weights);
  const g: Granularity = r.granularity;
  if (need === undefined) {
    if (g.kind === "per-block") throw new FixqError("usage", `${r.weights} weights take per-channel or per-tensor scales; for FP8 blocks use --weights mxfp8`);
    return;
  }
  if (granularityGiven && !(g.kind === "per-block" && g.blockSize === need)) {
    const rule = r.weights === "nvfp4" ? "NVFP4 blocks are 16 elements" : "MX blocks are 32 elements (OCP MX v1.0)";
    throw new FixqError("usage", `--granularity ${g.kind === "per-block" ? `per-block:${g.blockSize}` : g.kind} does not fit ${r.weights} weights: ${rule} (per-block:${need})`);
  }
  r.granularity = { kind: "per-block", blockSize: need };
  if (r.fp4Storage === "native" && (r.weights === "mxfp6" || r.weights === "mxfp6-e3m2")) {
    throw new FixqError("usage", `${r.weights} weights: no ONNX opset (up to 25) lets DequantizeLinear read FLOAT6 tensors; use --fp4-storage dequantized`);
  }
}

/** Rejects an explicit opset below what the recipe needs. */
export function checkOpset(r: Pick<Recipe, "opset">, need: OpsetNeed): void {
  if (r.opset !== undefined && r.opset < need.opset) {
    throw new FixqError("usage", `${need.why} need opset ${need.opset}; --opset ${r.opset} cannot express them`);
  }
}

/** A one-line note on how ONNX Runtime (CPU) runs the recipe's float formats; undefined for integer recipes. */
export function floatKernelNote(r: Pick<Recipe, "weights" | "acts" | "granularity" | "fp4Storage">): string | undefined {
  const w = weightSchemeOf(r);
  const a = actSchemeOf(r);
  if (!w && !a) return undefined;
  if (!w && a?.kind === "none") return "weight-only quantization: ONNX Runtime (CPU) runs it as DequantizeLinear + float ops, so the model is smaller but no faster than float";
  if (hasNativeFp4(r)) return "ONNX Runtime 1.30 (CPU) cannot run FLOAT4E2M1 DequantizeLinear; to run or evaluate this model use --fp4-storage dequantized";
  return "ONNX Runtime (CPU) has no FP8/MX/NVFP4 kernels: it runs these layers as DequantizeLinear (or the dynamic block graph) + float ops";
}

/** True when the exported weights are FLOAT4E2M1 tensors, which ONNX Runtime 1.30 cannot load. */
export function hasNativeFp4(r: Pick<Recipe, "weights" | "granularity" | "fp4Storage">): boolean {
  const w = weightSchemeOf(r);
  return (w?.kind === "nvfp4" || (w?.kind === "mx" && w.format.element === FP4_E2M1)) && w.storage === "native";
}
