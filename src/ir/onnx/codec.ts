/**
 * Lossless protobuf codec driven by the protobufjs reflection of schema.ts.
 *
 * Why not `Type.decode`/`Type.encode`: protobufjs drops fields it does not
 * know and, without the `long` package, rounds int64 values. Here:
 * - unknown fields are kept as raw byte slices (`$unknown`) and written back
 *   after the known fields, as the C++ and Python implementations do;
 * - int64/uint64 decode exactly (number when safe, bigint otherwise);
 * - `bytes` fields are zero-copy views of the input buffer;
 * - packed numeric fields decode to typed arrays;
 * - a repeated numeric field read in the non-default packing is remembered
 *   (`$packing`) so it is written back the same way.
 *
 * Known fields are written in field-number order, so a canonically encoded
 * message (what protobuf's own serializers produce) re-encodes to identical
 * bytes.
 */
import type protobuf from "protobufjs";
import { onnxType } from "./schema.js";
import {
  ChunkWriter,
  concatChunks,
  type Int64,
  int32Size,
  MAX_DEPTH,
  varint64Size,
  varintSize,
  WireReader,
  WireType,
} from "./wire.js";

export type ScalarKind = "int32" | "int64" | "uint64" | "enum" | "float" | "double" | "string" | "bytes" | "bool";

export interface FieldSpec {
  readonly name: string;
  readonly number: number;
  readonly kind: ScalarKind | "message";
  readonly repeated: boolean;
  readonly packed: boolean;
  /** For message fields. Filled lazily to allow recursive schemas. */
  message?: MessageSpec;
}

export interface MessageSpec {
  readonly name: string;
  readonly fields: ReadonlyMap<number, FieldSpec>;
  /** Fields sorted by number, for encoding. */
  readonly ordered: readonly FieldSpec[];
}

/** A decoded message: field name → value, plus bookkeeping for lossless re-encoding. */
export interface ProtoMessage {
  [field: string]: unknown;
  $unknown?: Uint8Array[];
  $packing?: Record<number, boolean>;
}

const specs = new Map<string, MessageSpec>();

function scalarKind(f: protobuf.Field): ScalarKind | "message" {
  if (f.resolvedType && "fieldsArray" in f.resolvedType) return "message";
  if (f.resolvedType) return "enum";
  switch (f.type) {
    case "int32":
    case "int64":
    case "uint64":
    case "float":
    case "double":
    case "string":
    case "bytes":
    case "bool":
      return f.type;
    default:
      throw new Error(`schema field type ${f.type} not supported by the codec`);
  }
}

/** The compiled spec for `onnx.<name>`. */
export function messageSpec(name: string): MessageSpec {
  const cached = specs.get(name);
  if (cached) return cached;
  const type = onnxType(name);
  const fields = new Map<number, FieldSpec>();
  const ordered: FieldSpec[] = [];
  const spec: MessageSpec = { name, fields, ordered };
  specs.set(name, spec);
  for (const f of type.fieldsArray) {
    const kind = scalarKind(f);
    const fs: FieldSpec = { name: f.name, number: f.id, kind, repeated: f.repeated, packed: f.repeated && f.packed };
    if (kind === "message") {
      const rt = f.resolvedType as protobuf.Type;
      fs.message = messageSpec(rt.fullName.replace(/^\.onnx\./, ""));
    }
    fields.set(f.id, fs);
  }
  ordered.push(...[...fields.values()].sort((a, b) => a.number - b.number));
  return spec;
}

function isPackable(kind: FieldSpec["kind"]): boolean {
  return kind !== "string" && kind !== "bytes" && kind !== "message";
}

function expectedWireType(kind: FieldSpec["kind"]): number {
  switch (kind) {
    case "float":
      return WireType.Fixed32;
    case "double":
      return WireType.Fixed64;
    case "string":
    case "bytes":
    case "message":
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

function readScalar(r: WireReader, kind: ScalarKind): unknown {
  switch (kind) {
    case "int32":
    case "enum":
      return r.int32();
    case "int64":
      return r.int64();
    case "uint64":
      return r.uint64();
    case "bool":
      return r.uint64() !== 0;
    case "float":
      return r.float();
    case "double":
      return r.double();
    case "string":
      return r.string();
    case "bytes":
      return r.bytes();
  }
}

/** Packed numeric payload → typed array (floats, doubles, int32) or plain array (64-bit). */
function readPacked(r: WireReader, kind: ScalarKind, previous: unknown): unknown {
  const n = r.length();
  const end = r.pos + n;
  let out: ArrayLike<unknown>;
  if (kind === "float" || kind === "double") {
    const size = kind === "float" ? 4 : 8;
    if (n % size !== 0) r.fail(`packed ${kind} field of ${n} bytes is not a multiple of ${size}`);
    const bytes = new Uint8Array(n); // a copy: aligned, and detached from the file buffer
    bytes.set(r.buf.subarray(r.pos, end));
    out = kind === "float" ? new Float32Array(bytes.buffer, 0, n / 4) : new Float64Array(bytes.buffer, 0, n / 8);
    r.pos = end;
  } else {
    const sub = new WireReader(r.buf, r.pos, end);
    const values: unknown[] = [];
    while (sub.pos < end) values.push(readScalar(sub, kind));
    r.pos = end;
    out = kind === "int32" || kind === "enum" ? Int32Array.from(values as number[]) : values;
  }
  if (previous === undefined) return out;
  return appendValues(previous as ArrayLike<unknown>, out);
}

function appendValues(a: ArrayLike<unknown>, b: ArrayLike<unknown>): unknown {
  if (a instanceof Float32Array || a instanceof Float64Array || a instanceof Int32Array) {
    const Ctor = a.constructor as Float32ArrayConstructor;
    const out = new Ctor(a.length + b.length);
    out.set(a as Float32Array, 0);
    out.set(Array.from(b as ArrayLike<number>), a.length);
    return out;
  }
  return [...Array.from(a), ...Array.from(b)];
}

function pushValue(msg: ProtoMessage, f: FieldSpec, value: unknown): void {
  const cur = msg[f.name];
  if (cur === undefined) {
    msg[f.name] = [value];
  } else if (Array.isArray(cur)) {
    cur.push(value);
  } else {
    msg[f.name] = appendValues(cur as ArrayLike<unknown>, [value]);
  }
}

function markPacking(msg: ProtoMessage, f: FieldSpec, packed: boolean): void {
  if (packed === f.packed) return;
  msg.$packing ??= {};
  msg.$packing[f.number] = packed;
}

function decodeInto(r: WireReader, spec: MessageSpec, end: number, msg: ProtoMessage, depth: number): ProtoMessage {
  if (depth > MAX_DEPTH) r.fail(`messages nested deeper than ${MAX_DEPTH} levels`);
  while (r.pos < end) {
    const fieldStart = r.pos;
    const tag = r.uint32();
    const number = tag >>> 3;
    const wt = tag & 7;
    if (number === 0) r.fail("field number 0", fieldStart);
    const f = spec.fields.get(number);
    const expected = f ? expectedWireType(f.kind) : -1;
    if (f && wt === expected) {
      if (f.kind === "message") {
        const n = r.length();
        const subEnd = r.pos + n;
        const sub = new WireReader(r.buf, r.pos, subEnd);
        if (f.repeated) {
          pushValue(msg, f, decodeInto(sub, f.message!, subEnd, {}, depth + 1));
        } else {
          // A singular message field seen twice is merged, as protobuf specifies.
          const prev = (msg[f.name] as ProtoMessage | undefined) ?? {};
          msg[f.name] = decodeInto(sub, f.message!, subEnd, prev, depth + 1);
        }
        r.pos = subEnd;
      } else if (f.repeated) {
        if (isPackable(f.kind)) markPacking(msg, f, false);
        pushValue(msg, f, readScalar(r, f.kind));
      } else {
        msg[f.name] = readScalar(r, f.kind);
      }
    } else if (f?.repeated && isPackable(f.kind) && wt === WireType.LengthDelimited) {
      markPacking(msg, f, true);
      msg[f.name] = readPacked(r, f.kind as ScalarKind, msg[f.name]);
    } else {
      r.skip(wt, number, depth);
      msg.$unknown ??= [];
      msg.$unknown.push(r.buf.subarray(fieldStart, r.pos));
    }
  }
  if (r.pos !== end) r.fail("field runs past the end of its message");
  return msg;
}

/** Decodes `bytes` as message `name` (e.g. "ModelProto"). Throws FixqError("decode") naming a byte offset. */
export function decodeMessage(name: string, bytes: Uint8Array): ProtoMessage {
  const r = new WireReader(bytes);
  return decodeInto(r, messageSpec(name), bytes.length, {}, 0);
}

// ---------------------------------------------------------------- encoding

function scalarSize(kind: ScalarKind, v: unknown): number {
  switch (kind) {
    case "int32":
    case "enum":
      return int32Size(v as number);
    case "int64":
    case "uint64":
      return varint64Size(v as Int64);
    case "bool":
      return 1;
    case "float":
      return 4;
    case "double":
      return 8;
    case "string":
      return lengthDelimitedSize(Buffer.byteLength(v as string, "utf8"));
    case "bytes":
      return lengthDelimitedSize((v as Uint8Array).length);
  }
}

function lengthDelimitedSize(n: number): number {
  return varintSize(n) + n;
}

function packedPayloadSize(kind: ScalarKind, values: ArrayLike<unknown>): number {
  if (kind === "float") return values.length * 4;
  if (kind === "double") return values.length * 8;
  let n = 0;
  for (let i = 0; i < values.length; i++) n += scalarSize(kind, values[i]);
  return n;
}

function isPackedOnWire(msg: ProtoMessage, f: FieldSpec): boolean {
  return msg.$packing?.[f.number] ?? f.packed;
}

/** Encoded size of `msg`; message sizes are memoized in `sizes` for the write pass. */
function messageSize(spec: MessageSpec, msg: ProtoMessage, sizes: Map<object, number>): number {
  let n = 0;
  for (const f of spec.ordered) {
    const v = msg[f.name];
    if (v === undefined || v === null) continue;
    const tagSize = varintSize(f.number * 8);
    if (f.kind === "message") {
      const items = f.repeated ? (v as ProtoMessage[]) : [v as ProtoMessage];
      for (const item of items) n += tagSize + lengthDelimitedSize(messageSize(f.message!, item, sizes));
    } else if (f.repeated) {
      const items = v as ArrayLike<unknown>;
      if (items.length === 0) continue;
      if (isPackable(f.kind) && isPackedOnWire(msg, f)) {
        n += tagSize + lengthDelimitedSize(packedPayloadSize(f.kind, items));
      } else {
        for (let i = 0; i < items.length; i++) n += tagSize + scalarSize(f.kind, items[i]);
      }
    } else {
      n += tagSize + scalarSize(f.kind, v);
    }
  }
  if (msg.$unknown) for (const u of msg.$unknown) n += u.length;
  sizes.set(msg, n);
  return n;
}

function writeScalar(w: ChunkWriter, kind: ScalarKind, v: unknown): void {
  switch (kind) {
    case "int32":
    case "enum":
      w.int32(v as number);
      return;
    case "int64":
    case "uint64":
      w.varint64(v as Int64);
      return;
    case "bool":
      w.uvarint(v ? 1 : 0);
      return;
    case "float":
      w.float(v as number);
      return;
    case "double":
      w.double(v as number);
      return;
    case "string": {
      const b = Buffer.from(v as string, "utf8");
      w.uvarint(b.length);
      w.raw(b);
      return;
    }
    case "bytes":
      w.uvarint((v as Uint8Array).length);
      w.raw(v as Uint8Array);
      return;
  }
}

function writeMessage(w: ChunkWriter, spec: MessageSpec, msg: ProtoMessage, sizes: Map<object, number>): void {
  for (const f of spec.ordered) {
    const v = msg[f.name];
    if (v === undefined || v === null) continue;
    if (f.kind === "message") {
      const items = f.repeated ? (v as ProtoMessage[]) : [v as ProtoMessage];
      for (const item of items) {
        w.tag(f.number, WireType.LengthDelimited);
        w.uvarint(sizes.get(item)!);
        writeMessage(w, f.message!, item, sizes);
      }
    } else if (f.repeated) {
      const items = v as ArrayLike<unknown>;
      if (items.length === 0) continue;
      if (isPackable(f.kind) && isPackedOnWire(msg, f)) {
        w.tag(f.number, WireType.LengthDelimited);
        w.uvarint(packedPayloadSize(f.kind, items));
        if (f.kind === "float" && items instanceof Float32Array) {
          w.raw(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
        } else if (f.kind === "double" && items instanceof Float64Array) {
          w.raw(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
        } else {
          for (let i = 0; i < items.length; i++) writeScalar(w, f.kind, items[i]);
        }
      } else {
        const wt = expectedWireType(f.kind);
        for (let i = 0; i < items.length; i++) {
          w.tag(f.number, wt);
          writeScalar(w, f.kind, items[i]);
        }
      }
    } else {
      w.tag(f.number, expectedWireType(f.kind));
      writeScalar(w, f.kind, v);
    }
  }
  if (msg.$unknown) for (const u of msg.$unknown) w.raw(u);
}

/** A message measured for encoding: its size is known before any byte is written. */
export interface SizedMessage {
  readonly size: number;
  /** Encodes to a list of chunks (large byte fields are referenced, not copied). */
  chunks(): Uint8Array[];
}

export function sizeMessage(name: string, msg: ProtoMessage): SizedMessage {
  const spec = messageSpec(name);
  const sizes = new Map<object, number>();
  const size = messageSize(spec, msg, sizes);
  return {
    size,
    chunks() {
      if (size > 0x7fffffff) throw new RangeError(`encoded ${name} would be ${size} bytes, over protobuf's 2 GiB limit; use external data`);
      const w = new ChunkWriter();
      writeMessage(w, spec, msg, sizes);
      return w.finish();
    },
  };
}

export function encodeMessageChunks(name: string, msg: ProtoMessage): Uint8Array[] {
  return sizeMessage(name, msg).chunks();
}

export function encodeMessage(name: string, msg: ProtoMessage): Uint8Array {
  return concatChunks(encodeMessageChunks(name, msg));
}

