/**
 * Names of the number formats `fixq quantize` takes for weights (--weights),
 * activations (--acts) and both at once (--format), and the block-size and
 * opset rules each format brings.
 *
 *   integer   int8 uint8 int4 uint4 int16 (weights), uint8 int8 uint16 int16 (acts),
 *             int4-block:N / uint4-block:N = int4/uint4 weights per-block:N
 *   narrow    int2 int3 int5 int6 int7 (weights): b-bit symmetric codes
 *             ±(2^(b−1)−1), stored in INT4 (b ≤ 4) or INT8 and annotated with their
 *             exact range (int7 is ±63, not the default int8's ±64)
 *   FP8       fp8-e4m3, fp8-e5m2: float32 scale per tensor or per channel
 *   MX        mxfp8 (E4M3), mxfp8-e5m2, mxfp6 (E2M3), mxfp6-e3m2, mxfp4, mxint8:
 *             blocks of 32 with an E8M0 scale (OCP MX v1.0); `mxfp4:32` may spell the size
 *   NVFP4     nvfp4: FP4 in blocks of 16 with E4M3 block scales and an FP32 tensor scale
 *   float     (acts only) no activation quantization: weight-only
 *   fixed     fixed<W,I>, fixed<W,I,Q,O[,N]>, ufixed<…>, fixed<W> (I chosen per
 *             tensor): ap_fixed designs, power-of-two scales (fixed-formats.ts)
 *
 * Names are matched ignoring case, `-` and `_` (fp8e4m3, MXFP8_E5M2 parse too).
 */
import { FixqError } from "../ir/errors.js";
import { type FixedSetting, fixedActStorage, fixedWeightStorage, isFixedFormatName, parseFixedFormat } from "./fixed-formats.js";

export const INT_WEIGHT_TYPES = ["int8", "uint8", "int4", "uint4", "int16"] as const;
export const INT_ACT_TYPES = ["uint8", "int8", "uint16", "int16"] as const;
export const FP8_TYPES = ["fp8-e4m3", "fp8-e5m2"] as const;
export const MX_TYPES = ["mxfp8", "mxfp8-e5m2", "mxfp6", "mxfp6-e3m2", "mxfp4", "mxint8"] as const;
export const FLOAT_TYPES = [...FP8_TYPES, ...MX_TYPES, "nvfp4"] as const;

export type IntWeightType = (typeof INT_WEIGHT_TYPES)[number];
/** Narrow integer weights, stored in INT4 or INT8 with fewer value bits. */
export const NARROW_INT_WEIGHTS = ["int2", "int3", "int5", "int6", "int7"] as const;
export type NarrowIntWeight = (typeof NARROW_INT_WEIGHTS)[number];
export type IntActType = (typeof INT_ACT_TYPES)[number];
export type Fp8Type = (typeof FP8_TYPES)[number];
export type MxType = (typeof MX_TYPES)[number];
export type FloatType = (typeof FLOAT_TYPES)[number];
/** `float`: activations stay float (weight-only quantization). */
export type FloatActType = FloatType | "float";

/** How MX and NVFP4 weights are stored: ONNX's FLOAT4E2M1/FP8 + DequantizeLinear, or float32 values on the format's grid. */
export type Fp4Storage = "native" | "dequantized";
export const FP4_STORAGES: readonly Fp4Storage[] = ["native", "dequantized"];

/** The block size a block float format requires. */
export function requiredBlockSize(t: FloatType): number | undefined {
  if (t === "nvfp4") return 16;
  return (MX_TYPES as readonly string[]).includes(t) ? 32 : undefined;
}

export function isFloatType(t: string): t is FloatType {
  return (FLOAT_TYPES as readonly string[]).includes(t);
}

export function isBlockFloatType(t: string): t is MxType | "nvfp4" {
  return isFloatType(t) && requiredBlockSize(t) !== undefined;
}

const key = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");

const FLOAT_KEYS: Record<string, FloatType> = {
  ...Object.fromEntries(FLOAT_TYPES.map((t) => [key(t), t])),
  fp8e4m3fn: "fp8-e4m3",
  mxfp8e4m3: "mxfp8",
  mxfp6e2m3: "mxfp6",
  mxfp4e2m1: "mxfp4",
};

function canonicalFloat(name: string): FloatType | undefined {
  return FLOAT_KEYS[key(name)];
}

/** A float format name with an optional `:N` block size, checked against the format's rule. */
function parseFloatWithBlock(text: string, flag: string): FloatType | undefined {
  const m = /^(.*?)(?::(\d+))?$/.exec(text.trim())!;
  const t = canonicalFloat(m[1]!);
  if (!t) return undefined;
  if (m[2] !== undefined) checkBlockSize(t, Number(m[2]), `${flag} ${text}`);
  return t;
}

/** Rejects a block size a float format cannot have (MX: 32, NVFP4: 16; FP8 has none). */
export function checkBlockSize(t: FloatType, blockSize: number, where: string): void {
  const need = requiredBlockSize(t);
  if (need === undefined) throw new FixqError("usage", `${where}: ${t} has per-tensor or per-channel scales, not blocks (blocked FP8 is mxfp8)`);
  if (blockSize !== need) {
    const rule = t === "nvfp4" ? "NVFP4 blocks are 16 elements" : "MX blocks are 32 elements (OCP MX v1.0)";
    throw new FixqError("usage", `${where}: ${rule}, not ${blockSize}`);
  }
}

const FIXED_NAMES = ["fixed<W,I[,Q,O[,N]]>", "ufixed<…>", "fixed<W>"];
const WEIGHT_NAMES = [...INT_WEIGHT_TYPES, ...NARROW_INT_WEIGHTS, "int4-block:N", "uint4-block:N", ...FLOAT_TYPES, ...FIXED_NAMES].join(", ");
const ACT_NAMES = [...INT_ACT_TYPES, ...FLOAT_TYPES, "float", ...FIXED_NAMES].join(", ");
const FORMAT_NAMES = [...FLOAT_TYPES, "int4-block:N", "uint4-block:N", ...FIXED_NAMES].join(", ");

export interface ParsedWeights {
  readonly weights: IntWeightType | FloatType;
  /** Set by `int4-block:N` / `uint4-block:N`. */
  readonly blockSize?: number;
  /** Set by the narrow names (int2 … int7): the value bits, symmetric ±(2^(bits−1)−1). */
  readonly weightBits?: number;
  /** Set by the fixed-point names: the design (weights' storage type and weightBits = W follow from it). */
  readonly fixed?: FixedSetting;
}

function parseNarrowInt(text: string): ParsedWeights | undefined {
  if (!(NARROW_INT_WEIGHTS as readonly string[]).includes(text)) return undefined;
  const bits = Number(text.slice(3));
  return { weights: bits <= 4 ? "int4" : "int8", weightBits: bits };
}

function parseIntBlock(text: string): ParsedWeights | undefined {
  const m = /^(u?int4)-block:(\d+)$/.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const n = Number(m[2]);
  if (!(n >= 2)) throw new FixqError("usage", `${text}: the block size must be at least 2`);
  return { weights: m[1] as IntWeightType, blockSize: n };
}

function parseFixedWeights(text: string, flag: string): ParsedWeights {
  const fixed = parseFixedFormat(text, flag);
  return { weights: fixedWeightStorage(fixed, flag), weightBits: fixed.bits, fixed };
}

export function parseWeightType(text: string, flag = "--weights"): ParsedWeights {
  if (isFixedFormatName(text)) return parseFixedWeights(text, flag);
  if ((INT_WEIGHT_TYPES as readonly string[]).includes(text)) return { weights: text as IntWeightType };
  const narrow = parseNarrowInt(text);
  if (narrow) return narrow;
  const block = parseIntBlock(text);
  if (block) return block;
  const f = parseFloatWithBlock(text, flag);
  if (f) return { weights: f };
  throw new FixqError("usage", `${flag} must be one of ${WEIGHT_NAMES}; got '${text}'`);
}

export function parseActType(text: string, flag = "--acts"): IntActType | FloatActType {
  if ((INT_ACT_TYPES as readonly string[]).includes(text) || text === "float") return text as IntActType | "float";
  const f = parseFloatWithBlock(text, flag);
  if (f) return f;
  throw new FixqError("usage", `${flag} must be one of ${ACT_NAMES}; got '${text}'`);
}

/** `--acts X` with its fixed-point design, when X is one. */
export function parseActFormat(text: string, flag = "--acts"): { acts: IntActType | FloatActType; fixed?: FixedSetting } {
  if (!isFixedFormatName(text)) return { acts: parseActType(text, flag) };
  const fixed = parseFixedFormat(text, flag);
  return { acts: fixedActStorage(fixed), fixed };
}

/** `--format X`: the weight format, and the activation format when X makes sense for activations (every float and fixed-point format). */
export function parseFormat(text: string, flag = "--format"): ParsedWeights & { acts?: FloatType | IntActType; actsFixed?: FixedSetting } {
  if (isFixedFormatName(text)) {
    const w = parseFixedWeights(text, flag);
    return { ...w, acts: fixedActStorage(w.fixed!), actsFixed: w.fixed };
  }
  const block = parseIntBlock(text);
  if (block) return block;
  const f = parseFloatWithBlock(text, flag);
  if (f) return { weights: f, acts: f };
  throw new FixqError("usage", `${flag} must be one of ${FORMAT_NAMES}; got '${text}'`);
}

export function parseFp4Storage(text: string, flag = "--fp4-storage"): Fp4Storage {
  if ((FP4_STORAGES as readonly string[]).includes(text)) return text as Fp4Storage;
  throw new FixqError("usage", `${flag} must be one of ${FP4_STORAGES.join(", ")}; got '${text}'`);
}
