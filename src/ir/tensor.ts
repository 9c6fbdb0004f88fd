/**
 * Tensors: dims, element type and a data source. Data stays where the model
 * put it: `raw` is a zero-copy view of raw_data, `external` points into an
 * external-data file and is read on demand, and the typed repeated fields
 * (float_data, int32_data, ...) stay in `extra` exactly as decoded.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { decodeFloats } from "../numerics/float-codec.js";
import { floatFormatOfDataType } from "../numerics/float-formats.js";
import { pack6, unpack4, unpack6 } from "../numerics/pack.js";
import { DataType, dtypeInfo, dtypeName, isFp6, rawByteLength } from "./dtype.js";
import { FixqError } from "./errors.js";
import type { Extra } from "./graph.js";
import type { Int64 } from "./onnx/wire.js";

export interface ExternalRef {
  readonly location: string;
  readonly offset: number;
  /** undefined when the model gives no length: the tensor runs to the expected size. */
  readonly length?: number;
  /** Absolute path, resolved and checked to lie inside the model's folder. */
  readonly path: string;
}

export interface Tensor {
  readonly name?: string;
  readonly dtype: number;
  readonly dims: readonly number[];
  readonly docString?: string;
  readonly raw?: Uint8Array;
  readonly external?: ExternalRef;
  /** Other TensorProto fields: typed data arrays, external_data entries, data_location, segment, metadata_props, unknown fields. */
  readonly extra?: Extra;
}

export function tensorLabel(t: Tensor): string {
  return `tensor '${t.name ?? ""}'`;
}

/** Product of dims, checked: non-negative, and a safe integer. */
export function elementCount(dims: readonly Int64[], where: string): number {
  let n = 1;
  for (const d of dims) {
    if (typeof d === "bigint" || d < 0 || !Number.isSafeInteger(d)) {
      throw new FixqError("tensor", `invalid dimension ${d} in dims [${dims.join(",")}]`, where);
    }
    n *= d;
    if (!Number.isSafeInteger(n)) throw new FixqError("tensor", `dims [${dims.join(",")}] overflow: the element count is too large`, where);
  }
  return n;
}

export function tensorElementCount(t: Tensor): number {
  return elementCount(t.dims, tensorLabel(t));
}

/** Number of bytes this tensor's data occupies in raw form, or NaN for strings. */
export function tensorByteLength(t: Tensor): number {
  return rawByteLength(t.dtype, tensorElementCount(t));
}

function typedFieldOf(t: Tensor): [string, ArrayLike<unknown>] | undefined {
  const x = t.extra;
  if (!x) return undefined;
  for (const f of ["float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data"]) {
    const v = x[f] as ArrayLike<unknown> | undefined;
    if (v !== undefined && v.length > 0) return [f, v];
  }
  return undefined;
}

/**
 * Checks that the data a tensor carries agrees with its dims and dtype.
 * Nothing is read or allocated from the declared sizes before this passes.
 */
export function checkTensor(t: Tensor): void {
  const where = tensorLabel(t);
  const info = dtypeInfo(t.dtype);
  if (!info || t.dtype === DataType.UNDEFINED) throw new FixqError("dtype", `unknown element type ${t.dtype}`, where);
  const count = elementCount(t.dims, where);
  if (t.dtype === DataType.STRING) {
    if (t.raw || t.external) throw new FixqError("tensor", "string tensor stored as raw or external data", where);
    const strings = (t.extra?.["string_data"] as unknown[] | undefined)?.length ?? 0;
    if (strings !== count) throw new FixqError("tensor", `string_data has ${strings} entries, but dims [${t.dims.join(",")}] need ${count}`, where);
    return;
  }
  const need = rawByteLength(t.dtype, count);
  if (t.external) {
    const have = t.external.length;
    if (have !== undefined && have !== need) {
      throw new FixqError("tensor", `external data length ${have} bytes, but dims [${t.dims.join(",")}] of ${dtypeName(t.dtype)} need ${need}`, where);
    }
    return;
  }
  if (t.raw) {
    if (t.raw.length !== need) {
      throw new FixqError("tensor", `raw_data is ${t.raw.length} bytes, but dims [${t.dims.join(",")}] of ${dtypeName(t.dtype)} need ${need}`, where);
    }
    return;
  }
  const typed = typedFieldOf(t);
  if (!typed) {
    if (count !== 0) throw new FixqError("tensor", `has dims [${t.dims.join(",")}] but no data`, where);
    return;
  }
  const [field, values] = typed;
  const expected = typedFieldLength(t.dtype, count);
  if (field !== info.field) throw new FixqError("tensor", `${dtypeName(t.dtype)} data stored in ${field}`, where);
  if (values.length !== expected) {
    throw new FixqError("tensor", `${field} has ${values.length} entries, but dims [${t.dims.join(",")}] of ${dtypeName(t.dtype)} need ${expected}`, where);
  }
}

/** Entries the typed field holds for `count` elements (sub-byte types pack into bytes; complex types use two). */
function typedFieldLength(dtype: number, count: number): number {
  const info = dtypeInfo(dtype)!;
  if (isFp6(dtype)) return count; // one code per int32_data entry (onnx.helper.make_tensor)
  if (info.bits < 8) return Math.ceil((count * info.bits) / 8);
  if (dtype === DataType.COMPLEX64 || dtype === DataType.COMPLEX128) return count * 2;
  return count;
}

/** Reads `length` bytes at `offset` of an external file, checking the file is long enough. */
export function readExternalBytes(ref: ExternalRef, expected: number, where: string): Uint8Array {
  const length = ref.length ?? expected;
  let fd: number;
  try {
    fd = openSync(ref.path, "r");
  } catch (e) {
    throw new FixqError("external-data", `cannot open external data '${ref.location}': ${(e as NodeJS.ErrnoException).code ?? e}`, where);
  }
  try {
    const size = fstatSync(fd).size;
    if (ref.offset + length > size) {
      throw new FixqError("external-data", `external data '${ref.location}' is ${size} bytes; offset ${ref.offset} + length ${length} runs past its end`, where);
    }
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), ref.offset + done);
      if (n === 0) throw new FixqError("external-data", `short read from '${ref.location}'`, where);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * The tensor's data as little-endian raw bytes (the raw_data layout), whatever
 * field it is stored in. raw_data is returned without copying.
 */
export function tensorBytes(t: Tensor): Uint8Array {
  const where = tensorLabel(t);
  checkTensor(t);
  if (t.dtype === DataType.STRING) throw new FixqError("unsupported", "string tensors have no raw byte form", where);
  const need = tensorByteLength(t);
  if (t.raw) return t.raw;
  if (t.external) return readExternalBytes(t.external, need, where);
  const typed = typedFieldOf(t);
  if (!typed) return new Uint8Array(0);
  const [field, values] = typed;
  const out = new Uint8Array(need);
  const dv = new DataView(out.buffer);
  const info = dtypeInfo(t.dtype)!;
  switch (field) {
    case "float_data":
      for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i] as number, true);
      break;
    case "double_data":
      for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i] as number, true);
      break;
    case "int64_data":
      for (let i = 0; i < values.length; i++) dv.setBigInt64(i * 8, BigInt(values[i] as Int64), true);
      break;
    case "uint64_data":
      if (info.bits === 32) for (let i = 0; i < values.length; i++) dv.setUint32(i * 4, Number(values[i] as Int64) >>> 0, true);
      else for (let i = 0; i < values.length; i++) dv.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(values[i] as Int64)), true);
      break;
    case "int32_data": {
      if (isFp6(t.dtype)) return pack6(Uint8Array.from(values as ArrayLike<number>, (v) => v & 0x3f));
      const width = Math.max(1, info.bits / 8);
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        if (width === 1) out[i] = v & 0xff;
        else if (width === 2) dv.setUint16(i * 2, v & 0xffff, true);
        else dv.setInt32(i * 4, v, true);
      }
      break;
    }
  }
  return out;
}

/** The codes of a float-format tensor of ≤ 8 bits, one per byte (4- and 6-bit codes unpacked). */
function floatCodes(t: Tensor, bytes: Uint8Array, n: number): Uint8Array {
  if (t.dtype === DataType.FLOAT4E2M1) return unpack4(bytes, n);
  if (isFp6(t.dtype)) return unpack6(bytes, n);
  return bytes.subarray(0, n);
}

/** Decodes numeric tensor data to float64 values (for statistics and display); float formats through the numerics module. */
export function tensorToFloat64(t: Tensor): Float64Array {
  const bytes = tensorBytes(t);
  const n = tensorElementCount(t);
  const out = new Float64Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (t.dtype) {
    case DataType.FLOAT:
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    case DataType.DOUBLE:
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    case DataType.FLOAT16:
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      return out;
    case DataType.BFLOAT16: {
      const f = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        f.setUint32(0, dv.getUint16(i * 2, true) << 16);
        out[i] = f.getFloat32(0);
      }
      return out;
    }
    case DataType.INT8:
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    case DataType.UINT8:
    case DataType.BOOL:
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i);
      return out;
    case DataType.INT16:
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    case DataType.UINT16:
      for (let i = 0; i < n; i++) out[i] = dv.getUint16(i * 2, true);
      return out;
    case DataType.INT32:
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    case DataType.UINT32:
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(i * 4, true);
      return out;
    case DataType.INT64:
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      return out;
    case DataType.UINT64:
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigUint64(i * 8, true));
      return out;
    case DataType.INT4:
    case DataType.UINT4:
      for (let i = 0; i < n; i++) {
        const nib = (bytes[i >> 1]! >> ((i & 1) * 4)) & 0xf;
        out[i] = t.dtype === DataType.INT4 && nib >= 8 ? nib - 16 : nib;
      }
      return out;
    default: {
      const fmt = floatFormatOfDataType(t.dtype);
      if (fmt && fmt.bits <= 8) {
        out.set(decodeFloats(fmt, floatCodes(t, bytes, n)));
        return out;
      }
      throw new FixqError("unsupported", `decoding ${dtypeName(t.dtype)} values is not supported`, tensorLabel(t));
    }
  }
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A float32 tensor with raw data, for passes and tests. */
export function makeFloatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const f = Float32Array.from(values);
  return { name, dtype: DataType.FLOAT, dims: [...dims], raw: new Uint8Array(f.buffer) };
}

