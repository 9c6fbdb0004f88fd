/**
 * A quantization recipe: every option of `fixq quantize`, with defaults, from
 * flags or from a JSON file (`--recipe`) so a CI job can pin them. Flags given
 * on the command line override the file.
 *
 * Defaults, and why (measured on this x86 AVX2 CPU without VNNI):
 * - activations uint8, asymmetric, per tensor;
 * - weights int8 symmetric per channel, narrowed to 7 bits: |w| ≤ 64.
 *   ORT's u8×s8 kernels pair-sum products into int16: 255·127·2 = 64770
 *   overflows 32767, but 255·64·2 = 32640 cannot. Narrowed weights are the one
 *   configuration that keeps ORT's integer kernels exact here (see
 *   shared/numerics.md), at a negligible accuracy cost. |w| = 64 is the exact
 *   bound, so the range is [−64, 64] (quantize.ts weightFormatOf).
 *
 * Other formats: int4/uint4/int16 weights, int16/uint16 activations and
 * per-block:N (int4/uint4 weights only) need QuantizeLinear/DequantizeLinear
 * from opset 21; int8/uint8 need 13 (per-channel axis). ONNX Runtime 1.30's
 * CPU provider has integer kernels only for 8-bit activations with 8-bit
 * weights; it runs the other formats as DequantizeLinear + float ops.
 *
 * Float passes (passes/pipeline.ts) run before planning: BN folding always;
 * cross-layer equalization (cle), high-bias absorption (absorbBias) and
 * ReLU6 → ReLU (relu6ToRelu) on request. They are off by default: CLE targets
 * per-tensor weights, and relu6ToRelu changes the float function.
 */
import { FixqError } from "../ir/errors.js";

export type WeightType = "int8" | "uint8" | "int4" | "uint4" | "int16";
export type ActType = "uint8" | "int8" | "uint16" | "int16";
export type Granularity = { kind: "per-channel" } | { kind: "per-tensor" } | { kind: "per-block"; blockSize: number };

export interface Recipe {
  weights: WeightType;
  /** Bits actually used by weight values; 7 by default for int8 (see above), else the type's width. */
  weightBits: number;
  acts: ActType;
  granularity: Granularity;
  symmetricActs: boolean;
  /** "minmax" | "percentile[:P]" | "mse" | "entropy" */
  calibration: string;
  /** Node names or op types kept in float. */
  exclude: string[];
  /** Target opset; raised automatically to what the formats need. */
  opset?: number;
  /** Calibration samples used (the first N). */
  calibSamples?: number;
  batchSize: number;
  /** Float passes before planning (passes/pipeline.ts); BN folding always runs. */
  cle: boolean;
  absorbBias: boolean;
  relu6ToRelu: boolean;
}

export const DEFAULT_RECIPE: Readonly<Recipe> = {
  weights: "int8",
  weightBits: 7,
  acts: "uint8",
  granularity: { kind: "per-channel" },
  symmetricActs: false,
  calibration: "minmax",
  exclude: [],
  batchSize: 64,
  cle: false,
  absorbBias: false,
  relu6ToRelu: false,
};

const WEIGHTS: readonly WeightType[] = ["int8", "uint8", "int4", "uint4", "int16"];
const ACTS: readonly ActType[] = ["uint8", "int8", "uint16", "int16"];

export function parseGranularity(s: string): Granularity {
  if (s === "per-channel" || s === "per-tensor") return { kind: s };
  const m = /^per-block:(\d+)$/.exec(s);
  if (m && Number(m[1]) >= 2) return { kind: "per-block", blockSize: Number(m[1]) };
  throw new FixqError("usage", `--granularity must be per-channel, per-tensor or per-block:N, got '${s}'`);
}

function granularityName(g: Granularity): string {
  return g.kind === "per-block" ? `per-block:${g.blockSize}` : g.kind;
}

/** Raw option values, as from commander or a recipe file. */
export interface RecipeInput {
  weights?: string;
  weightBits?: number | string;
  acts?: string;
  granularity?: string;
  symmetricActs?: boolean;
  calibration?: string;
  exclude?: string[] | string;
  opset?: number | string;
  calibSamples?: number | string;
  batchSize?: number | string;
  cle?: boolean;
  absorbBias?: boolean;
  relu6ToRelu?: boolean;
}

function positiveInt(v: number | string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new FixqError("usage", `${what} must be a positive integer, got '${v}'`);
  return n;
}

/** Builds a recipe: defaults, then the file's values, then the flags. */
export function buildRecipe(...layers: RecipeInput[]): Recipe {
  const r: Recipe = { ...DEFAULT_RECIPE, exclude: [] };
  let bitsGiven = false;
  for (const l of layers) {
    if (l.weights !== undefined) {
      if (!WEIGHTS.includes(l.weights as WeightType)) throw new FixqError("usage", `--weights must be one of ${WEIGHTS.join(", ")}, got '${l.weights}'`);
      r.weights = l.weights as WeightType;
    }
    if (l.weightBits !== undefined) {
      r.weightBits = positiveInt(l.weightBits, "--weight-bits")!;
      bitsGiven = true;
    }
    if (l.acts !== undefined) {
      if (!ACTS.includes(l.acts as ActType)) throw new FixqError("usage", `--acts must be one of ${ACTS.join(", ")}, got '${l.acts}'`);
      r.acts = l.acts as ActType;
    }
    if (l.granularity !== undefined) r.granularity = parseGranularity(l.granularity);
    if (l.symmetricActs !== undefined) r.symmetricActs = l.symmetricActs;
    if (l.calibration !== undefined) r.calibration = l.calibration;
    if (l.exclude !== undefined) r.exclude = [...r.exclude, ...(Array.isArray(l.exclude) ? l.exclude : l.exclude.split(","))].filter(Boolean);
    if (l.opset !== undefined) r.opset = positiveInt(l.opset, "--opset");
    if (l.calibSamples !== undefined) r.calibSamples = positiveInt(l.calibSamples, "--calib-samples");
    if (l.batchSize !== undefined) r.batchSize = positiveInt(l.batchSize, "--batch-size")!;
    for (const k of ["cle", "absorbBias", "relu6ToRelu"] as const) {
      const v = l[k];
      if (v === undefined) continue;
      if (typeof v !== "boolean") throw new FixqError("usage", `recipe field '${k}' must be true or false, got '${v}'`);
      r[k] = v;
    }
  }
  const typeBits = { int8: 8, uint8: 8, int4: 4, uint4: 4, int16: 16 }[r.weights];
  if (!bitsGiven) r.weightBits = r.weights === "int8" && (r.acts === "uint8" || r.acts === "int8") ? 7 : typeBits;
  if (r.weightBits > typeBits || r.weightBits < 2) throw new FixqError("usage", `--weight-bits ${r.weightBits} does not fit ${r.weights}`);
  if (r.granularity.kind === "per-block" && r.weights !== "int4" && r.weights !== "uint4") {
    throw new FixqError("usage", "per-block granularity is for int4/uint4 weights");
  }
  return r;
}

const SUB_BYTE_OR_16_BIT = new Set<string>(["int4", "uint4", "int16", "uint16"]);

/** The lowest opset whose QuantizeLinear/DequantizeLinear accept the recipe's formats. */
export function requiredOpset(r: Recipe): number {
  return SUB_BYTE_OR_16_BIT.has(r.weights) || SUB_BYTE_OR_16_BIT.has(r.acts) || r.granularity.kind === "per-block" ? 21 : 13;
}

/** A one-line note when ONNX Runtime (CPU) has no integer kernels for the recipe's formats; undefined when it has. */
export function integerKernelNote(r: Recipe): string | undefined {
  const without = [...(SUB_BYTE_OR_16_BIT.has(r.weights) ? [`${r.weights} weights`] : []), ...(SUB_BYTE_OR_16_BIT.has(r.acts) ? [`${r.acts} activations`] : [])];
  if (without.length === 0) return undefined;
  return `ONNX Runtime (CPU) has no integer kernels for ${without.join(" or ")}: it runs these layers as DequantizeLinear + float ops, so the model is smaller but no faster than float`;
}

/** The recipe as plain JSON (recorded in the output model's metadata). */
export function recipeJson(r: Recipe): Record<string, unknown> {
  return { ...r, granularity: granularityName(r.granularity) };
}
