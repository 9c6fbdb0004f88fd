/**
 * A binary floating-point format: its parameters, and the value of each code.
 *
 * A code of `1 + E + M` bits (sign s, exponent field e, mantissa field m) with
 * bias B stands for
 *
 *     e > 0:  (-1)^s · 2^(e − B) · (1 + m / 2^M)      normal
 *     e = 0:  (-1)^s · 2^(1 − B) · (m / 2^M)          subnormal, or ±0
 *
 * except for the special codes of its convention:
 *
 *     ieee    e = 2^E − 1 is ±Inf (m = 0) or NaN (m ≠ 0)          fp16, bf16, fp8e5m2
 *     fn      no Inf; the all-ones magnitude S.1…1 is NaN          fp8e4m3fn
 *     fnuz    no Inf, no −0; the "−0" code (sign bit alone) is
 *             the one NaN                                          fp8e4m3fnuz, fp8e5m2fnuz
 *     finite  no Inf, no NaN                                       fp6e2m3, fp6e3m2, fp4e2m1
 *     e8m0    no sign, no mantissa: code c is 2^(c − 127) and
 *             0xFF is NaN (so there is no zero)                    e8m0
 *
 * Every finite code value is exactly a float32, so decoding is exact.
 */
import type { DataTypeCode } from "./onnx-dtypes.js";

export type Specials = "ieee" | "fn" | "fnuz" | "finite" | "e8m0";

/**
 * `nearest-even`: round to nearest, ties to the even code (IEEE 754, ONNX Cast
 * for every float target but E8M0). `up` / `down` / `nearest` are ONNX Cast's
 * `round_mode` for E8M0: away from zero, toward zero, nearest with ties up.
 */
export type RoundMode = "nearest-even" | "up" | "down" | "nearest";

/**
 * How out-of-range values are treated, following ONNX Cast:
 * `flag` obeys the `saturate` attribute (FP8, E8M0; default on),
 * `always` clamps to ±max (FP4, FP6), `never` overflows to ±Inf (FP16, BF16).
 */
export type Saturation = "flag" | "always" | "never";

export interface FloatFormatSpec {
  readonly exponentBits: number;
  readonly mantissaBits: number;
  readonly bias: number;
  readonly specials: Specials;
}

export interface FloatFormat extends FloatFormatSpec {
  /** Canonical name, e.g. `fp8e4m3fn`; `parseFloatFormat(name)` returns this format. */
  readonly name: string;
  /** ONNX TensorProto.DataType of the format. */
  readonly onnxType: DataTypeCode;
  /** Code width in bits (4, 6, 8 or 16). Codes are stored one per byte (or per uint16) until packed. */
  readonly bits: number;
  readonly saturation: Saturation;
  /** Round modes `encode` accepts; the first is the default (ONNX Cast's default). */
  readonly roundModes: readonly RoundMode[];
  /** Largest finite value. */
  readonly max: number;
  /** Lowest finite value: −max, or 2^−127 for the unsigned E8M0. */
  readonly min: number;
  /** Smallest positive normal value. */
  readonly minNormal: number;
  /** Smallest positive value. */
  readonly minSubnormal: number;
  /** Code of +max (its magnitude bits); `signBit | maxCode` is −max. */
  readonly maxCode: number;
  /** The sign bit of a code, 0 for E8M0. */
  readonly signBit: number;
  readonly hasInf: boolean;
  readonly hasNaN: boolean;
  readonly hasNegativeZero: boolean;
}

/** The value a code stands for (NaN for NaN codes); the formula above, in float64, where it is exact. */
export function codeValue(spec: FloatFormatSpec, code: number): number {
  const { exponentBits: E, mantissaBits: M, bias: B, specials } = spec;
  if (specials === "e8m0") return code === 0xff ? Number.NaN : 2 ** (code - B);
  const signBit = 1 << (E + M);
  const mag = code & (signBit - 1);
  const sign = code & signBit ? -1 : 1;
  const e = mag >>> M;
  const m = mag & ((1 << M) - 1);
  const eMax = (1 << E) - 1;
  if (specials === "ieee" && e === eMax) return m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (specials === "fn" && mag === signBit - 1) return Number.NaN;
  if (specials === "fnuz" && code === signBit) return Number.NaN;
  return e === 0 ? sign * 2 ** (1 - B) * (m / 2 ** M) : sign * 2 ** (e - B) * (1 + m / 2 ** M);
}

/** Largest finite magnitude code of a spec. */
export function maxMagnitudeCode(spec: FloatFormatSpec): number {
  const { exponentBits: E, mantissaBits: M, specials } = spec;
  const allOnes = (1 << (E + M)) - 1;
  switch (specials) {
    case "ieee":
      return (((1 << E) - 1) << M) - 1;
    case "fn":
      return allOnes - 1;
    case "e8m0":
      return 0xfe;
    default:
      return allOnes;
  }
}

export function defineFloatFormat(
  name: string,
  onnxType: DataTypeCode,
  spec: FloatFormatSpec,
  saturation: Saturation,
  roundModes: readonly RoundMode[],
): FloatFormat {
  const { exponentBits: E, mantissaBits: M, bias: B, specials } = spec;
  const e8m0 = specials === "e8m0";
  const maxCode = maxMagnitudeCode(spec);
  const max = codeValue(spec, maxCode);
  return {
    ...spec,
    name,
    onnxType,
    bits: e8m0 ? 8 : 1 + E + M,
    saturation,
    roundModes,
    max,
    min: e8m0 ? 2 ** -B : -max,
    minNormal: e8m0 ? 2 ** -B : 2 ** (1 - B),
    minSubnormal: e8m0 ? 2 ** -B : 2 ** (1 - B - M),
    maxCode,
    signBit: e8m0 ? 0 : 1 << (E + M),
    hasInf: specials === "ieee",
    hasNaN: specials !== "finite",
    hasNegativeZero: specials !== "fnuz" && !e8m0,
  };
}
