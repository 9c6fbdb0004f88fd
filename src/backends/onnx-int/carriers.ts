/**
 * Which ONNX element type carries each program value in the exported graph:
 *   ≤ 8 bits  → uint8 / int8 (the types ConvInteger, MatMulInteger and MaxPool take)
 *   9…32 bits → int32 (ORT has no Pad, Max/Min or MaxPool kernels for int16/uint16)
 *   int64 accumulators (program.ts ACC64) → int64, read only by the fixed-point rescale
 * Values of a narrower type (int4, 7-bit, …) are stored in the 8-bit carrier:
 * every op keeps them inside their range. uint32 has no carrier and is refused.
 */
import { DataType } from "../../ir/dtype.js";
import { FixqError } from "../../ir/errors.js";
import type { IntType } from "../../numerics/int.js";
import { intTypeName } from "../../numerics/int.js";

export function carrierOf(t: IntType, where: string): number {
  if (t.bits <= 8) return t.signed ? DataType.INT8 : DataType.UINT8;
  if (t.bits > 32 && t.signed) return DataType.INT64;
  if (t.bits < 32 || t.signed) return DataType.INT32;
  throw new FixqError("unsupported", `integer ONNX export: ${intTypeName(t)} values have no ONNX carrier type (largest: int32, uint31)`, where);
}

/** The type QuantizeLinear / DequantizeLinear use for a value (opset 21: 8 or 16 bits). */
export function qdqTypeOf(t: IntType, where: string): number {
  if (t.bits <= 8) return t.signed ? DataType.INT8 : DataType.UINT8;
  if (t.bits <= 16) return t.signed ? DataType.INT16 : DataType.UINT16;
  throw new FixqError("unsupported", `integer ONNX export: QuantizeLinear/DequantizeLinear have no ${intTypeName(t)} type (at most 16 bits)`, where);
}

/** Range of an ONNX integer carrier type. */
export function carrierRange(dtype: number): [number, number] {
  switch (dtype) {
    case DataType.UINT8:
      return [0, 255];
    case DataType.INT8:
      return [-128, 127];
    case DataType.UINT16:
      return [0, 65535];
    case DataType.INT16:
      return [-32768, 32767];
    case DataType.INT32:
      return [-(2 ** 31), 2 ** 31 - 1];
    case DataType.INT64:
      return [-(2 ** 63), 2 ** 63];
    default:
      throw new RangeError(`not an integer carrier: ${dtype}`);
  }
}
