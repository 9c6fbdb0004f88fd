/**
 * Reader and writer for NumPy's .npy format (versions 1.0, 2.0 and 3.0).
 *
 * Layout: magic "\x93NUMPY", major and minor version bytes, header length
 * (uint16 LE for 1.0, uint32 LE for 2.0/3.0), then the header — the repr of a
 * Python dict with keys 'descr', 'fortran_order' and 'shape', padded with
 * spaces and a final '\n' — and then the raw array data.
 *
 * Arrays are returned in C order with native (little-endian) element order.
 * When the data needs neither byte swapping nor transposition and its offset
 * is aligned for the element size, the returned typed array is a view on the
 * input bytes (no copy).
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../ir/atomic-write.js";
import { type PyValue, PyLiteralSyntaxError, parsePyLiteral, pyRepr, pyTypeName } from "./pyliteral.js";

export type NpyDtype = "f2" | "f4" | "f8" | "i1" | "i2" | "i4" | "i8" | "u1" | "u2" | "u4" | "u8" | "b1";

export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/**
 * An n-dimensional array. `data` holds the elements in C (row-major) order in
 * native little-endian form; f2 (float16) is raw IEEE half bits in a
 * Uint16Array and b1 (bool) is a Uint8Array of 0/1.
 */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** A malformed or unsupported .npy/.npz file (or array given to a writer). */
export class NpyFormatError extends Error {
  /** The file (or other source) the problem was found in. */
  readonly where: string;
  /** The problem, without the file name. */
  readonly problem: string;

  constructor(where: string, problem: string) {
    const oneLine = (s: string) => s.replace(/[\r\n]+/g, " ");
    super(`${oneLine(where)}: ${oneLine(problem)}`);
    this.name = "NpyFormatError";
    this.where = where;
    this.problem = problem;
  }
}

interface TypedArrayCtor {
  new (length: number): NpyData;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NpyData;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

const DTYPE_CTOR: Record<NpyDtype, TypedArrayCtor> = {
  f2: Uint16Array,
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  i2: Int16Array,
  i4: Int32Array,
  i8: BigInt64Array,
  u1: Uint8Array,
  u2: Uint16Array,
  u4: Uint32Array,
  u8: BigUint64Array,
  b1: Uint8Array,
};

/** Every supported dtype. */
export const NPY_DTYPES: readonly NpyDtype[] = Object.keys(DTYPE_CTOR) as NpyDtype[];

function isNpyDtype(s: unknown): s is NpyDtype {
  return typeof s === "string" && Object.hasOwn(DTYPE_CTOR, s);
}

/** Size in bytes of one element of `dtype`. */
export function npyItemSize(dtype: NpyDtype): number {
  return DTYPE_CTOR[dtype].BYTES_PER_ELEMENT;
}

/** A zeroed array of `length` elements of `dtype` (f2 as Uint16Array, b1 as Uint8Array). */
export function npyAlloc(dtype: NpyDtype, length: number): NpyData {
  return new DTYPE_CTOR[dtype](length);
}

/** The descr string numpy writes for `dtype` in little-endian order, e.g. '<f4' or '|u1'. */
export function npyDescr(dtype: NpyDtype): string {
  return `${npyItemSize(dtype) === 1 ? "|" : "<"}${dtype}`;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
/** numpy leaves room for the growth axis to reach this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const NATIVE_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const UNSUPPORTED_KINDS: Record<string, string> = {
  O: "object arrays are not supported",
  S: "byte-string dtypes are not supported",
  a: "byte-string dtypes are not supported",
  U: "unicode string dtypes are not supported",
  V: "void/structured dtypes are not supported",
  c: "complex dtypes are not supported",
  M: "datetime dtypes are not supported",
  m: "timedelta dtypes are not supported",
};

interface Descr {
  dtype: NpyDtype;
  /** Whether the file's data is little-endian (for 1-byte types: true). */
  littleEndian: boolean;
  /** The descr string as written in the file, for messages. */
  text: string;
}

function describeDtype(v: PyValue, fail: (p: string) => never): Descr {
  if (v.kind === "list") fail(`structured dtypes are not supported (descr is a list of fields: ${clip(pyRepr(v))})`);
  if (v.kind !== "str") fail(`descr must be a str, got ${pyTypeName(v)} ${clip(pyRepr(v))}`);
  const text = v.value;
  const m = /^([<>|=]?)([A-Za-z?])(\d*)(\[.*\])?$/.exec(text);
  const kind = m?.[2] ?? "";
  const unsupported = UNSUPPORTED_KINDS[kind];
  if (unsupported) fail(`${unsupported} (descr ${pyRepr(v)})`);
  const key = `${kind}${m?.[3] ?? ""}`;
  if (!m || m[4] !== undefined || !isNpyDtype(key)) {
    fail(`unsupported dtype descr ${clip(pyRepr(v))} (supported: ${NPY_DTYPES.join(" ")})`);
  }
  const order = m[1];
  const littleEndian = npyItemSize(key) === 1 || order === "<" || (order !== ">" && NATIVE_LE);
  return { dtype: key, littleEndian, text };
}

function clip(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function shapeText(dims: readonly (number | bigint)[]): string {
  return `[${dims.join(",")}]`;
}

function byteSwap(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function laneView(bytes: Uint8Array, width: number): Uint8Array | Uint16Array | Uint32Array {
  if (width === 1) return bytes;
  if (width === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/**
 * Reorders elements from Fortran (column-major) to C (row-major) order.
 * `src` must start at an offset aligned for 4 bytes (or the item size if smaller).
 */
function fortranToC(src: Uint8Array, shape: readonly number[], itemSize: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const lanes = itemSize === 8 ? 2 : 1;
  const s = laneView(src, itemSize / lanes);
  const d = laneView(out, itemSize / lanes);
  const nd = shape.length;
  const count = src.length / itemSize;
  // C-order strides (in elements) of each axis.
  const stride = new Array<number>(nd);
  for (let k = nd - 1, acc = 1; k >= 0; k--) {
    stride[k] = acc;
    acc *= shape[k]!;
  }
  const idx = new Array<number>(nd).fill(0);
  let dst = 0;
  // Walk the source in Fortran order (first axis fastest), tracking the C offset.
  for (let i = 0; i < count; i++) {
    if (lanes === 1) {
      d[dst] = s[i]!;
    } else {
      d[2 * dst] = s[2 * i]!;
      d[2 * dst + 1] = s[2 * i + 1]!;
    }
    for (let k = 0; k < nd; k++) {
      dst += stride[k]!;
      if (++idx[k]! < shape[k]!) break;
      dst -= stride[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

function decodeUtf8(bytes: Uint8Array, fail: (p: string) => never): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("header is not valid UTF-8");
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

interface Header {
  descr: Descr;
  fortran: boolean;
  shape: number[];
  count: number;
}

function interpretHeader(header: string, fail: (p: string) => never): Header {
  let dict: PyValue;
  try {
    dict = parsePyLiteral(header);
  } catch (e) {
    if (!(e instanceof PyLiteralSyntaxError)) throw e;
    fail(`cannot parse header: ${e.message} in ${clip(JSON.stringify(header.trimEnd()))}`);
  }
  if (dict.kind !== "dict") fail(`header is not a dict: ${clip(pyRepr(dict))}`);
  const values = new Map<string, PyValue>();
  for (const [k, v] of dict.entries) {
    if (k.kind !== "str") fail(`header keys must be strings, got ${clip(pyRepr(k))}`);
    if (values.has(k.value)) fail(`duplicate key ${pyRepr(k)} in header`);
    values.set(k.value, v);
  }
  for (const key of values.keys()) {
    if (key !== "descr" && key !== "fortran_order" && key !== "shape") {
      fail(`header has unexpected key ${clip(pyRepr({ kind: "str", value: key }))}`);
    }
  }
  const get = (key: string): PyValue => values.get(key) ?? fail(`header is missing key '${key}'`);
  const descr = describeDtype(get("descr"), fail);
  const fo = get("fortran_order");
  if (fo.kind !== "bool") fail(`fortran_order must be True or False, got ${clip(pyRepr(fo))}`);
  const sv = get("shape");
  if (sv.kind !== "tuple") fail(`shape must be a tuple of ints, got ${pyTypeName(sv)} ${clip(pyRepr(sv))}`);
  const dims: bigint[] = [];
  for (const item of sv.items) {
    if (item.kind !== "int") fail(`shape must be a tuple of ints, got ${clip(pyRepr(sv))}`);
    dims.push(item.value);
  }
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  for (const d of dims) {
    if (d < 0n) fail(`negative dimension ${d} in shape ${clip(shapeText(dims))}`);
    if (d > max) fail(`dimension ${d} in shape ${clip(shapeText(dims))} exceeds 2^53-1`);
  }
  let count = 1n;
  if (dims.includes(0n)) {
    count = 0n;
  } else {
    for (const d of dims) {
      count *= d;
      if (count > max) fail(`shape ${clip(shapeText(dims))} has more than 2^53-1 elements`);
    }
  }
  return { descr, fortran: fo.value, shape: dims.map(Number), count: Number(count) };
}

/**
 * Parses the bytes of a .npy file. `where` names the file in error messages.
 * Throws NpyFormatError for malformed or unsupported input.
 */
/** What a .npy header says, and where the data starts. */
export interface NpyHeader {
  readonly dtype: NpyDtype;
  readonly shape: number[];
  readonly count: number;
  readonly fortran: boolean;
  readonly littleEndian: boolean;
  readonly descr: string;
  readonly dataOffset: number;
}

/**
 * Parses the header at the start of `bytes`, which may hold just the start of
 * a file (the magic, version, header length and header).
 */
export function parseNpyHeader(bytes: Uint8Array, where = "<npy>"): NpyHeader {
  const fail = (problem: string): never => {
    throw new NpyFormatError(where, problem);
  };
  const n = bytes.length;
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= n) fail(`truncated: file is ${n} bytes, too short for the .npy magic`);
    if (bytes[i] !== MAGIC[i]) {
      const head = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(" ");
      fail(`not a .npy file (bad magic ${head}, expected 93 4e 55 4d 50 59)`);
    }
  }
  if (n < 8) fail(`truncated: file is ${n} bytes, too short for the version`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (minor !== 0 || major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${minor}`);
  const lenSize = major === 1 ? 2 : 4;
  const prefix = 8 + lenSize;
  if (n < prefix) fail(`truncated: file is ${n} bytes, too short for the header length`);
  const headerLen =
    major === 1
      ? bytes[8]! | (bytes[9]! << 8)
      : (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24)) >>> 0;
  const dataOffset = prefix + headerLen;
  if (dataOffset > n) fail(`truncated: header length ${headerLen} runs past the end of the file (${n} bytes)`);

  const headerBytes = bytes.subarray(prefix, dataOffset);
  const header = major === 3 ? decodeUtf8(headerBytes, fail) : latin1(headerBytes);
  const { descr, fortran, shape, count } = interpretHeader(header, fail);
  return { dtype: descr.dtype, shape, count, fortran, littleEndian: descr.littleEndian, descr: descr.text, dataOffset };
}

export function parseNpy(bytes: Uint8Array, where = "<npy>"): NpyArray {
  const fail = (problem: string): never => {
    throw new NpyFormatError(where, problem);
  };
  const n = bytes.length;
  const h = parseNpyHeader(bytes, where);
  const { shape, count, fortran, dataOffset } = h;
  const descr = { dtype: h.dtype, littleEndian: h.littleEndian, text: h.descr };

  const itemSize = npyItemSize(descr.dtype);
  const need = BigInt(count) * BigInt(itemSize);
  const have = n - dataOffset;
  if (BigInt(have) !== need) fail(`data is ${have} bytes, shape ${shapeText(shape)} of ${descr.text} needs ${need}`);

  const Ctor = DTYPE_CTOR[descr.dtype];
  const swap = itemSize > 1 && descr.littleEndian !== NATIVE_LE;
  const transpose = fortran && shape.length > 1 && count > 1;
  const start = bytes.byteOffset + dataOffset;
  const aligned = start % itemSize === 0;
  if (aligned && !swap && !transpose) {
    return { dtype: descr.dtype, shape, data: new Ctor(bytes.buffer, start, count) };
  }
  let raw = bytes.subarray(dataOffset);
  if (swap || !aligned) {
    // Private, aligned copy. (Not raw.slice(): on a Node Buffer that is a view.)
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    raw = copy;
    if (swap) byteSwap(raw, itemSize);
  }
  if (transpose) raw = fortranToC(raw, shape, itemSize);
  return { dtype: descr.dtype, shape, data: new Ctor(raw.buffer, raw.byteOffset, count) };
}

function checkArray(arr: NpyArray, where: string): void {
  const fail = (problem: string): never => {
    throw new NpyFormatError(where, problem);
  };
  if (!isNpyDtype(arr.dtype)) fail(`unsupported dtype ${JSON.stringify(arr.dtype)} (supported: ${NPY_DTYPES.join(" ")})`);
  const Ctor = DTYPE_CTOR[arr.dtype];
  if (!(arr.data instanceof Ctor)) {
    const got = (arr.data as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof arr.data;
    fail(`dtype ${arr.dtype} needs ${Ctor.name} data, got ${got}`);
  }
  if (!Array.isArray(arr.shape)) fail("shape must be an array of dimensions");
  let count = 1;
  for (const d of arr.shape) {
    if (!Number.isSafeInteger(d) || d < 0) fail(`bad dimension ${String(d)} in shape ${shapeText(arr.shape)}`);
    count *= d;
  }
  if (!Number.isSafeInteger(count)) fail(`shape ${shapeText(arr.shape)} has more than 2^53-1 elements`);
  if (count !== arr.data.length) {
    fail(`shape ${shapeText(arr.shape)} has ${count} elements but data has ${arr.data.length}`);
  }
  if (arr.dtype === "b1") {
    const d = arr.data as Uint8Array;
    const bad = d.findIndex((x) => x > 1);
    if (bad >= 0) fail(`b1 data must contain only 0 and 1, found ${d[bad]} at index ${bad}`);
  }
}

/** The header (magic through the final '\n') numpy writes for a C-order array. */
function encodeHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${npyDescr(dtype)}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) dict += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  let major = 1;
  let prefix = 10;
  let hlen = dict.length + 1;
  let pad = ALIGN - ((prefix + hlen) % ALIGN);
  if (hlen + pad > 0xffff) {
    major = 2;
    prefix = 12;
    pad = ALIGN - ((prefix + hlen) % ALIGN);
  }
  hlen += pad;
  const out = new Uint8Array(prefix + hlen);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  out[8] = hlen & 0xff;
  out[9] = (hlen >>> 8) & 0xff;
  if (major === 2) {
    out[10] = (hlen >>> 16) & 0xff;
    out[11] = (hlen >>> 24) & 0xff;
  }
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.fill(0x20, prefix + dict.length, out.length - 1);
  out[out.length - 1] = 0x0a;
  return out;
}

/** Internal: the header and data bytes of the .npy encoding (data may be a view on arr.data). */
function encodeNpyParts(arr: NpyArray, where: string): [Uint8Array, Uint8Array] {
  checkArray(arr, where);
  const header = encodeHeader(arr.dtype, arr.shape);
  let data = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  if (!NATIVE_LE && npyItemSize(arr.dtype) > 1) {
    const copy = new Uint8Array(data.length);
    copy.set(data);
    byteSwap(copy, npyItemSize(arr.dtype));
    data = copy;
  }
  return [header, data];
}

/** Internal: encodeNpy with a name for error messages. */
export function encodeNpyAs(arr: NpyArray, where: string): Uint8Array {
  const [header, data] = encodeNpyParts(arr, where);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/**
 * Encodes an array as a .npy file: format 1.0 (2.0 if the header would not
 * fit), little-endian, C order, byte-identical to `numpy.save`.
 */
export function encodeNpy(arr: NpyArray): Uint8Array {
  return encodeNpyAs(arr, "<npy>");
}

/** Reads and parses a .npy file. */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

/** Writes a .npy file atomically (temporary file in the same directory, then rename). */
export function writeNpy(path: string, arr: NpyArray): void {
  writeFileAtomic(path, encodeNpyParts(arr, path));
}
