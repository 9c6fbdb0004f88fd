import { describe, expect, it } from "vitest";
import { ALL_DATA_TYPES, DataType, dtypeName, parseDataType, rawByteLength } from "../../src/ir/dtype.js";
import { FixqError } from "../../src/ir/errors.js";
import { checkTensor, elementCount, tensorBytes, tensorToFloat64 } from "../../src/ir/tensor.js";

describe("element types", () => {
  it("knows all ONNX element types 1..28 and round-trips their names", () => {
    expect(ALL_DATA_TYPES.map((d) => d.code)).toEqual(Array.from({ length: 28 }, (_, i) => i + 1));
    for (const d of ALL_DATA_TYPES) {
      expect(parseDataType(dtypeName(d.code))).toBe(d.code);
      expect(parseDataType(d.onnxName)).toBe(d.code);
    }
  });

  it("sizes sub-byte types packed", () => {
    expect(rawByteLength(DataType.INT4, 5)).toBe(3);
    expect(rawByteLength(DataType.FLOAT4E2M1, 4)).toBe(2);
    expect(rawByteLength(DataType.INT2, 5)).toBe(2);
    expect(rawByteLength(DataType.FLOAT8E8M0, 5)).toBe(5);
    // FP6: four codes in three bytes (onnx 1.23's raw_data packing)
    expect(rawByteLength(DataType.FLOAT6E2M3, 4)).toBe(3);
    expect(rawByteLength(DataType.FLOAT6E3M2, 5)).toBe(4);
  });
});

describe("float-format tensors decode through the numerics module", () => {
  // Expected bytes from onnx 1.23: helper.make_tensor / numpy_helper.from_array with ml_dtypes.float6_e2m3fn
  // values [1, -2, 0.5, 7.5, 3] → codes [8, 48, 4, 31, 20] → raw_data [8, 76, 124, 20]; int32_data keeps the codes.
  it("FP6 E2M3 from packed raw_data and from int32_data (one code per entry)", () => {
    const raw = { name: "t", dtype: DataType.FLOAT6E2M3, dims: [5], raw: Uint8Array.of(8, 76, 124, 20) };
    expect(Array.from(tensorToFloat64(raw))).toEqual([1, -2, 0.5, 7.5, 3]);
    const typed = { name: "t", dtype: DataType.FLOAT6E2M3, dims: [5], extra: { int32_data: Int32Array.of(8, 48, 4, 31, 20) } };
    expect(() => checkTensor(typed)).not.toThrow();
    expect(Array.from(tensorBytes(typed))).toEqual([8, 76, 124, 20]);
    expect(Array.from(tensorToFloat64(typed))).toEqual([1, -2, 0.5, 7.5, 3]);
    expect(() => checkTensor({ ...raw, raw: Uint8Array.of(8, 76, 124, 20, 0) })).toThrow(FixqError);
  });

  it("FP4 E2M1 two per byte, low nibble first; FP8 and E8M0 one per byte", () => {
    // 0.5, -6, 3 → codes 1, 0xF, 5
    expect(Array.from(tensorToFloat64({ name: "t", dtype: DataType.FLOAT4E2M1, dims: [3], raw: Uint8Array.of(0xf1, 0x05) }))).toEqual([0.5, -6, 3]);
    expect(Array.from(tensorToFloat64({ name: "t", dtype: DataType.FLOAT8E4M3FN, dims: [3], raw: Uint8Array.of(0x38, 0xfe, 0x7f) }))).toEqual([1, -448, Number.NaN]);
    expect(Array.from(tensorToFloat64({ name: "t", dtype: DataType.FLOAT8E5M2, dims: [2], raw: Uint8Array.of(0x3c, 0x7c) }))).toEqual([1, Number.POSITIVE_INFINITY]);
    expect(Array.from(tensorToFloat64({ name: "t", dtype: DataType.FLOAT8E8M0, dims: [3], raw: Uint8Array.of(127, 0, 254) }))).toEqual([1, 2 ** -127, 2 ** 127]);
  });
});

describe("tensors", () => {
  it("reads int4 packed low nibble first, from raw_data and from int32_data", () => {
    // values 1, -2, 7, -8, 3 → nibbles 0x1, 0xE, 0x7, 0x8, 0x3
    const raw = { name: "q", dtype: DataType.INT4, dims: [5], raw: new Uint8Array([0xe1, 0x87, 0x03]) };
    expect(Array.from(tensorToFloat64(raw))).toEqual([1, -2, 7, -8, 3]);
    const typed = { name: "q", dtype: DataType.INT4, dims: [5], extra: { int32_data: Int32Array.from([0xe1, 0x87, 0x03]) } };
    expect(Array.from(tensorBytes(typed))).toEqual([0xe1, 0x87, 0x03]);
    const u = { name: "u", dtype: DataType.UINT4, dims: [2], raw: new Uint8Array([0xf0]) };
    expect(Array.from(tensorToFloat64(u))).toEqual([0, 15]);
  });

  it("converts typed fields to raw bytes", () => {
    const f = { name: "f", dtype: DataType.FLOAT, dims: [2], extra: { float_data: Float32Array.from([1.5, -2]) } };
    expect(Array.from(tensorToFloat64(f))).toEqual([1.5, -2]);
    const h = { name: "h", dtype: DataType.FLOAT16, dims: [2], extra: { int32_data: Int32Array.from([0x3c00, 0xc000]) } };
    expect(Array.from(tensorToFloat64(h))).toEqual([1, -2]);
    const l = { name: "l", dtype: DataType.INT64, dims: [2], extra: { int64_data: [-(2 ** 40), 2n ** 62n] } };
    expect(Array.from(tensorToFloat64(l))).toEqual([-(2 ** 40), 2 ** 62]);
  });

  it("checks string tensors' entry count against dims (fuzz finding)", () => {
    const strings = [Buffer.from("a")];
    expect(() => checkTensor({ name: "s", dtype: DataType.STRING, dims: [2 ** 20, 2 ** 20], extra: { string_data: strings } })).toThrow(
      /string_data has 1 entries, but dims \[1048576,1048576\] need 1099511627776/,
    );
    expect(() => checkTensor({ name: "s", dtype: DataType.STRING, dims: [1], extra: { string_data: strings } })).not.toThrow();
  });

  it("rejects dims that overflow and data that disagrees with dims", () => {
    expect(() => elementCount([2 ** 30, 2 ** 30, 2 ** 30], "tensor 'x'")).toThrow(/overflow/);
    expect(() => elementCount([-1], "tensor 'x'")).toThrow(/invalid dimension -1/);
    const bad = { name: "b", dtype: DataType.FLOAT, dims: [2 ** 20, 2 ** 20], raw: new Uint8Array(8) };
    expect(() => checkTensor(bad)).toThrow(FixqError);
    expect(() => checkTensor({ name: "d", dtype: 99, dims: [1], raw: new Uint8Array(1) })).toThrow(/unknown element type 99/);
    expect(() => checkTensor({ name: "t", dtype: DataType.INT32, dims: [3], extra: { int32_data: Int32Array.from([1]) } })).toThrow(
      /int32_data has 1 entries, but dims \[3\] of int32 need 3/,
    );
  });
});
