/**
 * A quantization recipe: every option of `fixq quantize`, with defaults, from
 * flags or from a JSON file (`--recipe`) so a CI job can pin them. Flags given
 * on the command line override the file.
 *
 * Defaults, and why:
 * - activations uint8, asymmetric, per tensor;
 * - weights int8 symmetric per channel, narrowed to |w| ≤ 64. A model is often
 *   quantized on one machine and deployed on another, and ONNX Runtime's u8×s8
 *   kernels differ by CPU (runtime/cpu-features.ts): on x86 with AVX2 but no
 *   VNNI they add products in pairs into a saturating int16, where
 *   255·127·2 = 64770 overflows 32767 but 255·64·2 = 32640 cannot; with VNNI,
 *   AMX or on Arm they accumulate in int32. [−64, 64] is exact on every one of
 *   them, at a negligible accuracy cost; |w| = 64 is the exact bound
 *   (resolve-plan.ts weightChoice). `targetCpu` states the deployment CPU:
 *   "portable" (default) keeps the narrowing, "vnni" (int32-accumulating
 *   kernels: AVX512-VNNI, AVX-VNNI, AMX, Arm) uses full 8-bit weights, and
 *   "native" picks one of the two for the CPU fixq runs on. An explicit
 *   `weightBits` overrides all three.
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
 *
 * Bias correction (biasCorrection: empirical | analytic | none, default none)
 * runs after planning (quant/bias-correction.ts). dataFree quantizes without
 * any data: activation ranges from BN statistics and an assumed input range
 * (inputRange), and, unless the recipe sets them, CLE, high-bias absorption
 * and analytic bias correction on; empirical bias correction contradicts it.
 *
 * Per-layer rules (`layers`, layer-rules.ts) override the weight and
 * activation formats, granularity, weight bits and calibration method for the
 * nodes they match, or skip them. Each rule's settings are built here with the
 * same code as the global ones (the global settings with the rule's keys on
 * top, as flags are on top of a file), so a rule is checked exactly as a
 * command line would be. A rule that names a new weight type starts from that
 * type's default weight bits, and from per-channel granularity where the
 * global granularity is blocks.
 */
import { parseCalibrationMethod } from "../calib/range.js";
import { FixqError, isFixqError } from "../ir/errors.js";
import { detectCpu } from "../runtime/cpu-features.js";
import { optionName } from "./option-name.js";
import { type LayerMatch, type LayerOverrides, type LayerRuleInput, overridesOf, parseLayerRules, WEIGHT_ROUNDINGS, type WeightRounding } from "./layer-rules.js";
import { checkOpset, settleFloatRecipe } from "./float-schemes.js";
import type { FixedSetting } from "./fixed-formats.js";
import { setActs, setFixedWeights, settleFixedWeights } from "./recipe-fixed.js";
import { opsetNeed } from "./recipe-needs.js";
import { applyRoundingOptions, ROUNDING_DEFAULTS, type RoundingInput, type RoundingOptions } from "./rounding/options.js";
import {
  type FloatActType,
  type FloatType,
  type Fp4Storage,
  type IntActType,
  type IntWeightType,
  isBlockFloatType,
  isFloatType,
  parseFormat,
  parseFp4Storage,
  parseWeightType,
} from "./format-names.js";

/** Integer types, or a float format (FP8, MX, NVFP4; see format-names.ts and float-schemes.ts). */
export type WeightType = IntWeightType | FloatType;
/** Integer types, a float format, or "float" (activations not quantized). */
export type ActType = IntActType | FloatActType;
export type BiasCorrection = "none" | "empirical" | "analytic";
/** The CPU the model will run on in ONNX Runtime, for the default weight width (see above). */
export type TargetCpu = "portable" | "vnni" | "native";
export type Int4Grid = "symmetric" | "full";
/** How integer block scales are chosen: from each block's min/max, or the shrink of least squared error (numerics/int-group-clip.ts). */
export type BlockScale = "minmax" | "mse";
export type Granularity = { kind: "per-channel" } | { kind: "per-tensor" } | { kind: "per-block"; blockSize: number };

export interface Recipe {
  weights: WeightType;
  /** Bits actually used by weight values; 7 (|w| ≤ 64) by default for int8 (see above), else the type's width. */
  weightBits: number;
  /** Set by the narrow names (int2 … int7): the range is exactly ±(2^(weightBits−1)−1), never int8's ±64 (format-names.ts). */
  exactWeightRange?: boolean;
  /** A fixed-point weight design (quant/fixed-formats.ts): `weights` is then its storage type, weightBits its W. */
  fixedWeights?: FixedSetting;
  /** A fixed-point activation design: `acts` is then its storage type. */
  fixedActs?: FixedSetting;
  /** The deployment CPU, which sets the default weightBits for int8 (see above). */
  targetCpu: TargetCpu;
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
  /** Bias correction after planning (quant/bias-correction.ts). */
  biasCorrection: BiasCorrection;
  /** No data at all: ranges from BN statistics and `inputRange` (quant/data-free-ranges.ts). */
  dataFree: boolean;
  /** The range assumed for every graph input in data-free mode. */
  inputRange?: [number, number];
  /** How MX/NVFP4 weights are stored: ONNX FP4/FP8 + DequantizeLinear, or float32 values on the grid (float-schemes.ts). */
  fp4Storage: Fp4Storage;
  /** How weight codes are chosen (the rounding stage): nearest, gptq or adaround. */
  weightRounding: WeightRounding;
  /**
   * "full": int4 per-block weights of weight-only layers (acts float) map each block's signed
   * extreme to −8 and use all 16 codes (negative scales; ONNX Runtime's MatMulNBits grid,
   * numerics/int-group.ts). Unset: the symmetric grid [−7, 7], s = max|w|/7.
   */
  int4Grid?: Int4Grid;
  /**
   * "mse": each int4/uint4 block's min-max scale shrunk by the factor in [0.85, 1] (steps of 0.01) of least
   * squared rounding error (numerics/int-group-clip.ts). Unset: min-max (ONNX Runtime's RTN).
   */
  blockScale?: "mse";
  /** Hyperparameters of learned rounding (rounding-options.ts). */
  rounding: RoundingOptions;
  /** Per-layer rules, in order (first match wins), each with its resolved settings. */
  layers: LayerRule[];
  /** The recipe file the settings came from, named in errors about it. */
  recipeFile?: string;
}

/** The settings that can differ from layer to layer. */
export type LayerSettings = Pick<
  Recipe,
  "weights" | "weightBits" | "exactWeightRange" | "fixedWeights" | "fixedActs" | "acts" | "granularity" | "symmetricActs" | "calibration" | "fp4Storage" | "weightRounding" | "int4Grid" | "blockScale"
>;

export interface LayerRule {
  /** Position in the recipe's `layers` list, from 0. */
  readonly index: number;
  readonly match: LayerMatch;
  readonly skip: boolean;
  /** For the C/HLS back ends: recorded in the plan, no effect on the QDQ model. */
  readonly reuseFactor?: number;
  /** The keys the rule sets (besides match). */
  readonly keys: readonly string[];
  /** The global settings with the rule's applied. */
  readonly settings: LayerSettings;
}

export function layerSettingsOf(r: LayerSettings): LayerSettings {
  const { weights, weightBits, exactWeightRange, fixedWeights, fixedActs, acts, granularity, symmetricActs, calibration, fp4Storage, weightRounding, int4Grid, blockScale } = r;
  const s: LayerSettings = { weights, weightBits, acts, granularity, symmetricActs, calibration, fp4Storage, weightRounding };
  return { ...s, ...(exactWeightRange ? { exactWeightRange } : {}), ...(fixedWeights ? { fixedWeights } : {}), ...(fixedActs ? { fixedActs } : {}), ...(int4Grid ? { int4Grid } : {}), ...(blockScale ? { blockScale } : {}) };
}

export const DEFAULT_RECIPE: Readonly<Recipe> = {
  weights: "int8",
  weightBits: 7,
  targetCpu: "portable",
  acts: "uint8",
  granularity: { kind: "per-channel" },
  symmetricActs: false,
  calibration: "minmax",
  exclude: [],
  batchSize: 64,
  cle: false,
  absorbBias: false,
  relu6ToRelu: false,
  biasCorrection: "none",
  dataFree: false,
  fp4Storage: "native",
  weightRounding: "nearest",
  rounding: ROUNDING_DEFAULTS,
  layers: [],
};

const BIAS_CORRECTIONS: readonly BiasCorrection[] = ["none", "empirical", "analytic"];
const TARGET_CPUS: readonly TargetCpu[] = ["portable", "vnni", "native"];

/** True when the deployment CPU's u8×s8 kernels accumulate exactly in int32 ("native": this machine's, detected). */
function exactInt8Kernels(t: TargetCpu): boolean {
  return t === "vnni" || (t === "native" && detectCpu().u8s8 === "exact-int32");
}

export function parseGranularity(s: string, flag = "--granularity"): Granularity {
  if (s === "per-channel" || s === "per-tensor") return { kind: s };
  const m = /^per-block:(\d+)$/.exec(s);
  if (m && Number(m[1]) >= 2) return { kind: "per-block", blockSize: Number(m[1]) };
  throw new FixqError("usage", `${flag} must be per-channel, per-tensor or per-block:N, got '${s}'`);
}

export function granularityName(g: Granularity): string {
  return g.kind === "per-block" ? `per-block:${g.blockSize}` : g.kind;
}

/** Raw option values, as from commander or a recipe file. */
export interface RecipeInput extends RoundingInput {
  weights?: string;
  weightBits?: number | string;
  targetCpu?: string;
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
  biasCorrection?: string;
  dataFree?: boolean;
  /** "LO,HI" (flag) or [LO, HI] (file). */
  inputRange?: string | number[];
  /** Shorthand for weights and (float formats) activations: fp8-e4m3, mxfp4, nvfp4, int4-block:128, … */
  format?: string;
  fp4Storage?: string;
  weightRounding?: string;
  /** "symmetric" (default) | "full" (see Recipe.int4Grid). */
  int4Grid?: string;
  /** "minmax" (default) | "mse" (see Recipe.blockScale). */
  blockScale?: string;
  /** Per-layer rules (recipe files only); checked with parseLayerRules. */
  layers?: unknown;
  /** The file these values come from: errors about them name it. */
  recipeFile?: string;
  /** True for a `layers` rule's values: like a file's (recipeFile set), errors name their keys, not their flags (option-name.ts). */
  fromFile?: boolean;
}

function parseInputRange(v: string | number[], flag: string): [number, number] {
  const parts = typeof v === "string" ? v.split(",").map((x) => (x.trim() === "" ? Number.NaN : Number(x))) : v.map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0]! < parts[1]!)) {
    throw new FixqError("usage", `${flag} must be LO,HI with LO < HI, got '${Array.isArray(v) ? JSON.stringify(v) : v}'`);
  }
  return [parts[0]!, parts[1]!];
}

function positiveInt(v: number | string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new FixqError("usage", `${what} must be a positive integer, got '${v}'`);
  return n;
}

/** Runs `f`; a usage error it throws is re-thrown naming `where` (the recipe file) and `prefix` (the rule). */
function within<T>(where: string | undefined, prefix: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!isFixqError(e) || e.code !== "usage" || (!where && !prefix) || e.where) throw e;
    throw new FixqError("usage", `${prefix}${e.message}`, where);
  }
}

/** The default weight bits for a weight type under an activation type (7 for int8 under 8-bit activations, see above). */
function defaultWeightBits(r: Pick<Recipe, "weights" | "acts" | "targetCpu">): number {
  return r.weights === "int8" && (r.acts === "uint8" || r.acts === "int8") && !exactInt8Kernels(r.targetCpu) ? 7 : weightTypeBits(r.weights);
}

/** A rule's settings: the global ones with the rule's overrides applied on top, through the same checks. */
function ruleSettings(r: Recipe, o: LayerOverrides, weightRounding: WeightRounding, fromFile = false): LayerSettings {
  const newWeights = o.weights !== undefined || o.format !== undefined;
  const base: RecipeInput = { weights: r.fixedWeights?.name ?? r.weights, acts: r.fixedActs?.name ?? r.acts, symmetricActs: r.symmetricActs, calibration: r.calibration, fp4Storage: r.fp4Storage, opset: r.opset, targetCpu: r.targetCpu };
  if (!newWeights && (r.weightBits !== defaultWeightBits(r) || r.exactWeightRange)) base.weightBits = r.weightBits;
  if (!newWeights || r.granularity.kind !== "per-block") base.granularity = granularityName(r.granularity);
  const built = layerSettingsOf(buildRecipe(base, { ...o, fromFile }));
  const exact = newWeights ? built.exactWeightRange : r.exactWeightRange;
  // the full int4 grid follows the global setting onto every rule's weight-only int4 blocks (resolve-plan.ts)
  return { ...built, ...(exact ? { exactWeightRange: true } : {}), weightRounding, ...(r.int4Grid ? { int4Grid: r.int4Grid } : {}), ...(r.blockScale ? { blockScale: r.blockScale } : {}) };
}

/** The settings of a layer given `o` on top of the global recipe, checked as a `layers` rule is; a usage error starts with `what`. */
export function layerSettingsFor(r: Recipe, o: LayerOverrides, what: string): LayerSettings {
  return within(undefined, `${what}: `, () => ruleSettings(r, o, r.weightRounding));
}

/** Builds a recipe: defaults, then the file's values, then the flags. */
export function buildRecipe(...layers: RecipeInput[]): Recipe {
  const global = buildGlobal(layers);
  const input = [...layers].reverse().find((l) => l.layers !== undefined);
  if (input) global.layers = layerRules(global, input);
  if (global.dataFree) {
    const learned = [global.weightRounding, ...global.layers.map((l) => l.settings.weightRounding)].find((m) => m !== "nearest");
    if (learned) throw new FixqError("usage", `weight rounding '${learned}' learns from calibration data, which --data-free never reads; use nearest`);
  }
  return global;
}

function layerRules(global: Recipe, input: RecipeInput): LayerRule[] {
  const where = input.recipeFile ?? "recipe";
  return parseLayerRules(input.layers, where).map((rule: LayerRuleInput, index) => {
    const prefix = `layers[${index}]: `;
    const keys = Object.keys(rule).filter((k) => k !== "match");
    const rounding = (rule.weightRounding as WeightRounding | undefined) ?? global.weightRounding;
    const settings = rule.skip ? layerSettingsOf(global) : within(where, prefix, () => ruleSettings(global, overridesOf(rule), rounding, true));
    return { index, match: rule.match, skip: rule.skip === true, reuseFactor: rule.reuseFactor, keys, settings };
  });
}

function buildGlobal(layers: RecipeInput[]): Recipe {
  const r: Recipe = { ...DEFAULT_RECIPE, exclude: [], layers: [] };
  const given = new Set<string>();
  for (const l of layers) {
    if (l.recipeFile !== undefined) r.recipeFile = l.recipeFile;
    within(l.recipeFile, "", () => applyInput(r, l, given));
  }
  return settleRecipe(r, given);
}

/** Applies one layer of raw values (a file or the flags) to `r`; `given` collects the keys set explicitly. */
function applyInput(r: Recipe, l: RecipeInput, given: Set<string>): void {
  const name = (key: string) => optionName(key, l.recipeFile !== undefined || l.fromFile === true);
  if (l.format !== undefined) {
    const f = parseFormat(l.format, name("format"));
    r.weights = f.weights;
    delete r.exactWeightRange;
    delete r.fixedWeights;
    if (f.acts) {
      r.acts = f.acts;
      delete r.fixedActs;
    }
    if (f.fixed) setFixedWeights(r, f.fixed, given);
    if (f.actsFixed) r.fixedActs = f.actsFixed;
    if (f.blockSize) r.granularity = { kind: "per-block", blockSize: f.blockSize };
  }
  if (l.weights !== undefined) {
    const w = parseWeightType(l.weights, name("weights"));
    r.weights = w.weights;
    delete r.exactWeightRange;
    delete r.fixedWeights;
    if (w.fixed) setFixedWeights(r, w.fixed, given);
    if (w.weightBits !== undefined) {
      r.weightBits = w.weightBits;
      r.exactWeightRange = true;
      given.add("weightBits");
    }
    if (w.blockSize) r.granularity = { kind: "per-block", blockSize: w.blockSize };
  }
  if (l.weightBits !== undefined) {
    r.weightBits = positiveInt(l.weightBits, name("weightBits"))!;
    given.add("weightBits");
  }
  if (l.targetCpu !== undefined) {
    if (!TARGET_CPUS.includes(l.targetCpu as TargetCpu)) throw new FixqError("usage", `${name("targetCpu")} must be one of ${TARGET_CPUS.join(", ")}, got '${l.targetCpu}'`);
    r.targetCpu = l.targetCpu as TargetCpu;
  }
  if (l.acts !== undefined) setActs(r, l.acts, name("acts"));
  if (l.fp4Storage !== undefined) r.fp4Storage = parseFp4Storage(l.fp4Storage, name("fp4Storage"));
  if (l.granularity !== undefined) {
    r.granularity = parseGranularity(l.granularity, name("granularity"));
    given.add("granularity");
  }
  if (l.symmetricActs !== undefined) r.symmetricActs = l.symmetricActs;
  if (l.calibration !== undefined) {
    parseCalibrationMethod(l.calibration); // checked here, so a bad method is refused before any work
    r.calibration = l.calibration;
  }
  if (l.exclude !== undefined) r.exclude = [...r.exclude, ...(Array.isArray(l.exclude) ? l.exclude : l.exclude.split(","))].filter(Boolean);
  if (l.opset !== undefined) r.opset = positiveInt(l.opset, name("opset"));
  if (l.calibSamples !== undefined) r.calibSamples = positiveInt(l.calibSamples, name("calibSamples"));
  if (l.batchSize !== undefined) r.batchSize = positiveInt(l.batchSize, name("batchSize"))!;
  for (const k of ["cle", "absorbBias", "relu6ToRelu", "dataFree"] as const) {
    const v = l[k];
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw new FixqError("usage", `recipe field '${k}' must be true or false, got '${v}'`);
    r[k] = v;
    given.add(k);
  }
  if (l.biasCorrection !== undefined) {
    if (!BIAS_CORRECTIONS.includes(l.biasCorrection as BiasCorrection)) throw new FixqError("usage", `${name("biasCorrection")} must be one of ${BIAS_CORRECTIONS.join(", ")}, got '${l.biasCorrection}'`);
    r.biasCorrection = l.biasCorrection as BiasCorrection;
    given.add("biasCorrection");
  }
  if (l.inputRange !== undefined) r.inputRange = parseInputRange(l.inputRange, name("inputRange"));
  if (l.weightRounding !== undefined) {
    if (!WEIGHT_ROUNDINGS.includes(l.weightRounding as WeightRounding)) throw new FixqError("usage", `${name("weightRounding")} must be one of ${WEIGHT_ROUNDINGS.join(", ")}, got '${l.weightRounding}'`);
    r.weightRounding = l.weightRounding as WeightRounding;
  }
  if (l.int4Grid !== undefined) {
    if (l.int4Grid !== "symmetric" && l.int4Grid !== "full") throw new FixqError("usage", `${name("int4Grid")} must be symmetric or full, got '${l.int4Grid}'`);
    if (l.int4Grid === "full") r.int4Grid = "full";
    else delete r.int4Grid;
  }
  if (l.blockScale !== undefined) {
    if (l.blockScale !== "minmax" && l.blockScale !== "mse") throw new FixqError("usage", `${name("blockScale")} must be minmax or mse, got '${l.blockScale}'`);
    if (l.blockScale === "mse") r.blockScale = "mse";
    else delete r.blockScale;
  }
  r.rounding = applyRoundingOptions(r.rounding, l, name);
}

/** The rules that relate options to each other: data-free defaults, float formats, weight bits, blocks, opset. */
function settleRecipe(r: Recipe, given: Set<string>): Recipe {
  if (r.dataFree) {
    // The data-free pipeline: every data-free pass on unless the recipe says otherwise.
    if (!given.has("cle")) r.cle = true;
    if (!given.has("absorbBias")) r.absorbBias = true;
    if (!given.has("biasCorrection")) r.biasCorrection = "analytic";
    if (r.biasCorrection === "empirical") throw new FixqError("usage", "--bias-correction empirical needs calibration data, which --data-free never reads; use analytic");
  }
  settleFloatRecipe(r, given.has("granularity"));
  const typeBits = weightTypeBits(r.weights);
  if (isFloatType(r.weights) && given.has("weightBits")) throw new FixqError("usage", `--weight-bits applies to integer weights, not ${r.weights}`);
  if (!given.has("weightBits")) r.weightBits = defaultWeightBits(r);
  if (r.weightBits > typeBits || r.weightBits < 2) throw new FixqError("usage", `--weight-bits ${r.weightBits} does not fit ${r.weights}`);
  settleFixedWeights(r);
  if (r.granularity.kind === "per-block" && r.weights !== "int4" && r.weights !== "uint4" && !isBlockFloatType(r.weights)) {
    throw new FixqError("usage", "per-block granularity is for int4/uint4 weights (and the MX/NVFP4 formats, which are always blocked)");
  }
  if (r.int4Grid === "full" && (r.weights !== "int4" || r.fixedWeights || r.granularity.kind !== "per-block" || r.acts !== "float")) {
    throw new FixqError("usage", "--int4-grid full is for weight-only int4 blocks: it needs --weights int4 --granularity per-block:N --acts float (its negative block scales have no integer lowering)");
  }
  if (r.blockScale === "mse" && (r.fixedWeights || r.granularity.kind !== "per-block" || (r.weights !== "int4" && r.weights !== "uint4"))) {
    throw new FixqError("usage", "--block-scale mse is for integer blocks: it needs --weights int4 or uint4 with --granularity per-block:N");
  }
  checkOpset(r, opsetNeed(r));
  return r;
}

/** Bits of one weight value: the integer width, or the float format's element width. */
export function weightTypeBits(w: WeightType): number {
  const bits: Record<WeightType, number> = { int8: 8, uint8: 8, int4: 4, uint4: 4, int16: 16, "fp8-e4m3": 8, "fp8-e5m2": 8, mxfp8: 8, "mxfp8-e5m2": 8, mxint8: 8, mxfp6: 6, "mxfp6-e3m2": 6, mxfp4: 4, nvfp4: 4 };
  return bits[w];
}

/** The recipe as plain JSON (recorded in the output model's metadata). */
export function recipeJson(r: Recipe): Record<string, unknown> {
  const { layers, recipeFile: _file, ...rest } = r;
  const settings = (s: LayerSettings) => ({ ...s, granularity: granularityName(s.granularity) });
  return { ...rest, granularity: granularityName(r.granularity), layers: layers.map((l) => ({ ...l, settings: settings(l.settings) })) };
}
