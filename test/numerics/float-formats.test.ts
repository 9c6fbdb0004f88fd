import { describe, expect, it } from "vitest";
import { DataType, parseDataType } from "../../src/ir/dtype.js";
import { isRepresentable } from "../../src/numerics/float-codec.js";
import { FLOAT_FORMATS, floatFormat, floatFormatNames, floatFormatOfDataType, parseFloatFormat } from "../../src/numerics/float-formats.js";

describe("float format names", () => {
  it("parses every canonical name back to its format", () => {
    for (const f of FLOAT_FORMATS) expect(parseFloatFormat(f.name)).toBe(f);
    expect(floatFormatNames()).toEqual(["fp8e4m3fn", "fp8e4m3fnuz", "fp8e5m2", "fp8e5m2fnuz", "fp6e2m3", "fp6e3m2", "fp4e2m1", "e8m0", "fp16", "bf16"]);
  });

  it("accepts ONNX, ml_dtypes and dtype.ts spellings", () => {
    const cases: [string, string][] = [
      ["FLOAT8E4M3FN", "fp8e4m3fn"],
      ["float8_e4m3fn", "fp8e4m3fn"],
      ["fp8-e4m3", "fp8e4m3fn"],
      ["E4M3FNUZ", "fp8e4m3fnuz"],
      ["float8_e5m2fnuz", "fp8e5m2fnuz"],
      ["fp8_e5m2", "fp8e5m2"],
      ["float6_e2m3fn", "fp6e2m3"],
      ["FLOAT6E3M2", "fp6e3m2"],
      ["float4_e2m1fn", "fp4e2m1"],
      ["FLOAT4E2M1", "fp4e2m1"],
      ["FLOAT8E8M0", "e8m0"],
      ["float8_e8m0fnu", "e8m0"],
      ["fp8e8m0", "e8m0"],
      ["FLOAT16", "fp16"],
      ["f16", "fp16"],
      ["half", "fp16"],
      ["BFLOAT16", "bf16"],
      ["bf16", "bf16"],
    ];
    for (const [text, name] of cases) expect(parseFloatFormat(text)?.name, text).toBe(name);
    for (const bad of ["fp8", "e4m3fnu", "float32", "int8", "", "fp8e4m3fnx"]) expect(parseFloatFormat(bad), bad).toBeUndefined();
  });

  it("maps each format to its ONNX element type and back", () => {
    for (const f of FLOAT_FORMATS) {
      expect(floatFormatOfDataType(f.onnxType)).toBe(f);
      // the ONNX type name parses to the same format and to the same dtype code
      const onnxName = Object.entries(DataType).find(([, v]) => v === f.onnxType)![0];
      expect(parseFloatFormat(onnxName)).toBe(f);
      expect(parseDataType(onnxName)).toBe(f.onnxType);
    }
    expect(floatFormatOfDataType(DataType.FLOAT)).toBeUndefined();
    expect(floatFormatOfDataType(DataType.INT4)).toBeUndefined();
  });
});

describe("float format ranges (shared/numerics.md table)", () => {
  const table: [string, number, number, number, number][] = [
    // name, bits, max, min normal, min subnormal
    ["fp8e4m3fn", 8, 448, 2 ** -6, 2 ** -9],
    ["fp8e4m3fnuz", 8, 240, 2 ** -7, 2 ** -10],
    ["fp8e5m2", 8, 57344, 2 ** -14, 2 ** -16],
    ["fp8e5m2fnuz", 8, 57344, 2 ** -15, 2 ** -17],
    ["fp6e2m3", 6, 7.5, 1, 0.125],
    ["fp6e3m2", 6, 28, 0.25, 0.0625],
    ["fp4e2m1", 4, 6, 1, 0.5],
    ["e8m0", 8, 2 ** 127, 2 ** -127, 2 ** -127],
    ["fp16", 16, 65504, 2 ** -14, 2 ** -24],
    ["bf16", 16, 3.3895313892515355e38, 2 ** -126, 2 ** -133],
  ];
  for (const [name, bits, max, minNormal, minSub] of table) {
    it(name, () => {
      const f = parseFloatFormat(name)!;
      expect([f.bits, f.max, f.minNormal, f.minSubnormal]).toEqual([bits, max, minNormal, minSub]);
      expect(f.min).toBe(name === "e8m0" ? 2 ** -127 : -max);
    });
  }
});

describe("isRepresentable", () => {
  it("is true exactly for code values and the format's specials", () => {
    const e4m3 = floatFormat("fp8e4m3fn");
    expect([448, -448, 2 ** -9, 0, -0, 0.875, 240].map((x) => isRepresentable(e4m3, x))).toEqual(Array(7).fill(true));
    expect([464, 480, 2 ** -10, 0.9, Number.POSITIVE_INFINITY, 1 / 3].map((x) => isRepresentable(e4m3, x))).toEqual(Array(6).fill(false));
    expect(isRepresentable(e4m3, Number.NaN)).toBe(true);
    const fnuz = floatFormat("fp8e4m3fnuz");
    expect([isRepresentable(fnuz, -0), isRepresentable(fnuz, 0), isRepresentable(fnuz, 240), isRepresentable(fnuz, 256)]).toEqual([false, true, true, false]);
    const e5m2 = floatFormat("fp8e5m2");
    expect([isRepresentable(e5m2, Number.NEGATIVE_INFINITY), isRepresentable(e5m2, 61440)]).toEqual([true, false]);
    const fp4 = floatFormat("fp4e2m1");
    expect([0, 0.5, 1, 1.5, 2, 3, 4, 6, -6].every((x) => isRepresentable(fp4, x))).toBe(true);
    expect([5, 2.5, 0.25, 8, Number.NaN, Number.POSITIVE_INFINITY].some((x) => isRepresentable(fp4, x))).toBe(false);
    const e8m0 = floatFormat("e8m0");
    expect([2 ** -127, 1, 2 ** 127, Number.NaN].every((x) => isRepresentable(e8m0, x))).toBe(true);
    expect([0, -1, 3, 2 ** -128, Number.POSITIVE_INFINITY].some((x) => isRepresentable(e8m0, x))).toBe(false);
    const fp16 = floatFormat("fp16");
    expect([65504, 2 ** -24, Number.POSITIVE_INFINITY, -0].every((x) => isRepresentable(fp16, x))).toBe(true);
    expect([65505, 2 ** -25, 0.1].some((x) => isRepresentable(fp16, x))).toBe(false);
    expect(isRepresentable(floatFormat("bf16"), 0.1)).toBe(false);
    expect(isRepresentable(floatFormat("bf16"), 1 + 2 ** -7)).toBe(true);
  });
});
