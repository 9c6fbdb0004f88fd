/**
 * The float formats fixq knows, by canonical name, alias and ONNX type.
 *
 *   name          E  M  bias  specials  max        ONNX type
 *   fp8e4m3fn     4  3   7    fn        448        FLOAT8E4M3FN (17)
 *   fp8e4m3fnuz   4  3   8    fnuz      240        FLOAT8E4M3FNUZ (18)
 *   fp8e5m2       5  2  15    ieee      57344      FLOAT8E5M2 (19)
 *   fp8e5m2fnuz   5  2  16    fnuz      57344      FLOAT8E5M2FNUZ (20)
 *   fp6e2m3       2  3   1    finite    7.5        FLOAT6E2M3 (27)
 *   fp6e3m2       3  2   3    finite    28         FLOAT6E3M2 (28)
 *   fp4e2m1       2  1   1    finite    6          FLOAT4E2M1 (23)
 *   e8m0          8  0  127   e8m0      2^127      FLOAT8E8M0 (24)
 *   fp16          5 10  15    ieee      65504      FLOAT16 (10)
 *   bf16          8  7  127   ieee      ≈3.39e38   BFLOAT16 (16)
 *
 * Names are matched ignoring case, `-`, `_` and spaces, with a leading
 * `float` read as `fp`, so ONNX names (`FLOAT8E4M3FN`, `float4e2m1`) and
 * ml_dtypes names (`float8_e4m3fn`, `float6_e2m3fn`, `float8_e8m0fnu`) parse too.
 */
import { DataType } from "./onnx-dtypes.js";
import { defineFloatFormat, type FloatFormat, type RoundMode } from "./float-format.js";

const RNE: readonly RoundMode[] = ["nearest-even"];

export const FP8_E4M3FN = defineFloatFormat("fp8e4m3fn", DataType.FLOAT8E4M3FN, { exponentBits: 4, mantissaBits: 3, bias: 7, specials: "fn" }, "flag", RNE);
export const FP8_E4M3FNUZ = defineFloatFormat("fp8e4m3fnuz", DataType.FLOAT8E4M3FNUZ, { exponentBits: 4, mantissaBits: 3, bias: 8, specials: "fnuz" }, "flag", RNE);
export const FP8_E5M2 = defineFloatFormat("fp8e5m2", DataType.FLOAT8E5M2, { exponentBits: 5, mantissaBits: 2, bias: 15, specials: "ieee" }, "flag", RNE);
export const FP8_E5M2FNUZ = defineFloatFormat("fp8e5m2fnuz", DataType.FLOAT8E5M2FNUZ, { exponentBits: 5, mantissaBits: 2, bias: 16, specials: "fnuz" }, "flag", RNE);
export const FP6_E2M3 = defineFloatFormat("fp6e2m3", DataType.FLOAT6E2M3, { exponentBits: 2, mantissaBits: 3, bias: 1, specials: "finite" }, "always", RNE);
export const FP6_E3M2 = defineFloatFormat("fp6e3m2", DataType.FLOAT6E3M2, { exponentBits: 3, mantissaBits: 2, bias: 3, specials: "finite" }, "always", RNE);
export const FP4_E2M1 = defineFloatFormat("fp4e2m1", DataType.FLOAT4E2M1, { exponentBits: 2, mantissaBits: 1, bias: 1, specials: "finite" }, "always", RNE);
/** ONNX Cast's default `round_mode` for E8M0 is `up`. */
export const E8M0 = defineFloatFormat("e8m0", DataType.FLOAT8E8M0, { exponentBits: 8, mantissaBits: 0, bias: 127, specials: "e8m0" }, "flag", ["up", "down", "nearest"]);
export const FP16 = defineFloatFormat("fp16", DataType.FLOAT16, { exponentBits: 5, mantissaBits: 10, bias: 15, specials: "ieee" }, "never", RNE);
export const BF16 = defineFloatFormat("bf16", DataType.BFLOAT16, { exponentBits: 8, mantissaBits: 7, bias: 127, specials: "ieee" }, "never", RNE);

export const FLOAT_FORMATS: readonly FloatFormat[] = [FP8_E4M3FN, FP8_E4M3FNUZ, FP8_E5M2, FP8_E5M2FNUZ, FP6_E2M3, FP6_E3M2, FP4_E2M1, E8M0, FP16, BF16];

export type FloatFormatName = "fp8e4m3fn" | "fp8e4m3fnuz" | "fp8e5m2" | "fp8e5m2fnuz" | "fp6e2m3" | "fp6e3m2" | "fp4e2m1" | "e8m0" | "fp16" | "bf16";

/** Spellings that the normalisation below does not already turn into a canonical name. */
const ALIASES: Record<string, FloatFormatName> = {
  fp8e4m3: "fp8e4m3fn", // OCP's "E4M3" is the FN variant
  e4m3: "fp8e4m3fn",
  e4m3fn: "fp8e4m3fn",
  e4m3fnuz: "fp8e4m3fnuz",
  e5m2: "fp8e5m2",
  e5m2fnuz: "fp8e5m2fnuz",
  fp6e2m3fn: "fp6e2m3",
  e2m3: "fp6e2m3",
  fp6e3m2fn: "fp6e3m2",
  e3m2: "fp6e3m2",
  fp4e2m1fn: "fp4e2m1",
  fp4: "fp4e2m1",
  e2m1: "fp4e2m1",
  fp8e8m0: "e8m0",
  fp8e8m0fnu: "e8m0",
  e8m0fnu: "e8m0",
  f16: "fp16",
  half: "fp16",
  bfloat16: "bf16",
};

const BY_NAME = new Map<string, FloatFormat>(FLOAT_FORMATS.map((f) => [f.name, f]));
const BY_ONNX = new Map<number, FloatFormat>(FLOAT_FORMATS.map((f) => [f.onnxType, f]));

function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[-_\s]/g, "")
    .replace(/^float/, "fp");
}

/** The format a name or alias denotes, or undefined. `parseFloatFormat(f.name) === f` for every format. */
export function parseFloatFormat(text: string): FloatFormat | undefined {
  const key = normalise(text);
  return BY_NAME.get(key) ?? BY_NAME.get(ALIASES[key] ?? "");
}

/** The format of a canonical name (typed, cannot fail). */
export function floatFormat(name: FloatFormatName): FloatFormat {
  return BY_NAME.get(name)!;
}

/** The float format of an ONNX element type, or undefined (FLOAT, DOUBLE and integer types have none). */
export function floatFormatOfDataType(onnxType: number): FloatFormat | undefined {
  return BY_ONNX.get(onnxType);
}

/** Canonical names, for error messages that list the valid ones. */
export function floatFormatNames(): string[] {
  return FLOAT_FORMATS.map((f) => f.name);
}
