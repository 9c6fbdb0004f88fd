/**
 * ONNX element types: numbers, canonical names, storage widths.
 *
 * Sub-byte types are stored packed in raw_data, first element in the lowest
 * bits: 4-bit types two per byte (`byte = hi << 4 | lo & 0xF`), 2-bit types
 * four per byte, and the FP6 types four per three bytes as a little-endian
 * bit stream, ceil(6n/8) bytes (onnx ≥ 1.23; numerics/pack.ts). In the typed
 * field int32_data, 4- and 2-bit types keep that packing, one packed byte per
 * entry, while FP6 keeps one code per entry (onnx.helper.make_tensor).
 */
// The codes are numbers the numerics module also needs (a float format names its ONNX type): they live there.
import { DataType, type DataTypeCode, type DataTypeName } from "../numerics/onnx-dtypes.js";

export { DataType, type DataTypeCode, type DataTypeName };

interface DTypeInfo {
  readonly code: DataTypeCode;
  /** ONNX enum name, e.g. FLOAT8E4M3FN. */
  readonly onnxName: DataTypeName;
  /** Short lower-case name used in dumps and CLI output, e.g. f32, fp8e4m3fn, int4. */
  readonly short: string;
  /** Bits per element in raw_data; 0 for variable-size (string). */
  readonly bits: number;
  /** Which typed field of TensorProto carries this type when raw_data is not used. */
  readonly field: "float_data" | "int32_data" | "int64_data" | "double_data" | "uint64_data" | "string_data" | "none";
  readonly isFloat: boolean;
  readonly signed: boolean;
}

const info: DTypeInfo[] = [];
function def(
  onnxName: DataTypeName,
  short: string,
  bits: number,
  field: DTypeInfo["field"],
  isFloat: boolean,
  signed: boolean,
): void {
  info.push({ code: DataType[onnxName], onnxName, short, bits, field, isFloat, signed });
}
def("UNDEFINED", "undefined", 0, "none", false, false);
def("FLOAT", "f32", 32, "float_data", true, true);
def("UINT8", "uint8", 8, "int32_data", false, false);
def("INT8", "int8", 8, "int32_data", false, true);
def("UINT16", "uint16", 16, "int32_data", false, false);
def("INT16", "int16", 16, "int32_data", false, true);
def("INT32", "int32", 32, "int32_data", false, true);
def("INT64", "int64", 64, "int64_data", false, true);
def("STRING", "string", 0, "string_data", false, false);
def("BOOL", "bool", 8, "int32_data", false, false);
def("FLOAT16", "f16", 16, "int32_data", true, true);
def("DOUBLE", "f64", 64, "double_data", true, true);
def("UINT32", "uint32", 32, "uint64_data", false, false);
def("UINT64", "uint64", 64, "uint64_data", false, false);
def("COMPLEX64", "complex64", 64, "float_data", true, true);
def("COMPLEX128", "complex128", 128, "double_data", true, true);
def("BFLOAT16", "bf16", 16, "int32_data", true, true);
def("FLOAT8E4M3FN", "fp8e4m3fn", 8, "int32_data", true, true);
def("FLOAT8E4M3FNUZ", "fp8e4m3fnuz", 8, "int32_data", true, true);
def("FLOAT8E5M2", "fp8e5m2", 8, "int32_data", true, true);
def("FLOAT8E5M2FNUZ", "fp8e5m2fnuz", 8, "int32_data", true, true);
def("UINT4", "uint4", 4, "int32_data", false, false);
def("INT4", "int4", 4, "int32_data", false, true);
def("FLOAT4E2M1", "fp4e2m1", 4, "int32_data", true, true);
def("FLOAT8E8M0", "fp8e8m0", 8, "int32_data", true, false);
def("UINT2", "uint2", 2, "int32_data", false, false);
def("INT2", "int2", 2, "int32_data", false, true);
def("FLOAT6E2M3", "fp6e2m3", 6, "int32_data", true, true);
def("FLOAT6E3M2", "fp6e3m2", 6, "int32_data", true, true);

const byCode = new Map<number, DTypeInfo>(info.map((i) => [i.code, i]));
const byName = new Map<string, DTypeInfo>();
for (const i of info) {
  byName.set(i.short, i);
  byName.set(i.onnxName.toLowerCase(), i);
}
byName.set("float32", byCode.get(1)!);
byName.set("float", byCode.get(1)!);
byName.set("float16", byCode.get(10)!);
byName.set("bfloat16", byCode.get(16)!);
byName.set("float64", byCode.get(11)!);

export function isKnownDataType(code: number): code is DataTypeCode {
  return byCode.has(code);
}

export function dtypeInfo(code: number): DTypeInfo | undefined {
  return byCode.get(code);
}

/** Short name, or `dtype(N)` for a number fixq does not know. */
export function dtypeName(code: number): string {
  return byCode.get(code)?.short ?? `dtype(${code})`;
}

export function parseDataType(name: string): DataTypeCode | undefined {
  return byName.get(name.toLowerCase())?.code;
}

/** Bytes that `count` elements occupy in raw_data (packed for sub-byte types, FP6 included). */
export function rawByteLength(code: number, count: number): number {
  const i = byCode.get(code);
  if (!i || i.bits === 0) return Number.NaN;
  return Math.ceil((count * i.bits) / 8);
}

/** FP6 types: packed in raw_data, one code per entry in int32_data. */
export function isFp6(code: number): boolean {
  return code === DataType.FLOAT6E2M3 || code === DataType.FLOAT6E3M2;
}

export const ALL_DATA_TYPES: readonly DTypeInfo[] = info.filter((i) => i.code !== 0);

/** Maps to the onnxruntime-node tensor type string, where one exists. */
export function ortTypeName(code: number): string | undefined {
  switch (code) {
    case DataType.FLOAT:
      return "float32";
    case DataType.DOUBLE:
      return "float64";
    case DataType.FLOAT16:
      return "float16";
    case DataType.INT8:
      return "int8";
    case DataType.UINT8:
      return "uint8";
    case DataType.INT16:
      return "int16";
    case DataType.UINT16:
      return "uint16";
    case DataType.INT32:
      return "int32";
    case DataType.UINT32:
      return "uint32";
    case DataType.INT64:
      return "int64";
    case DataType.UINT64:
      return "uint64";
    case DataType.BOOL:
      return "bool";
    case DataType.STRING:
      return "string";
    default:
      return undefined;
  }
}
