/**
 * Protobuf wire primitives. This is the hot path of model loading, so it works
 * on byte offsets directly. 64-bit varints decode exactly: to a number when
 * the value is a safe integer, otherwise to a bigint.
 */
import { FixqError } from "../errors.js";

export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

export type Int64 = number | bigint;

/**
 * Reading ran into the end of the whole buffer (not of an inner message): the
 * data was cut short. `needed` is the length the cut field declares (a lower
 * bound on the full size), when known.
 */
export class TruncatedError extends FixqError {
  constructor(
    message: string,
    at: number,
    readonly needed?: number,
  ) {
    super("decode", message, `byte ${at}`);
  }
}

const TWO32 = 4294967296;

export class WireReader {
  pos: number;
  readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(message: string, at = this.pos): never {
    throw new FixqError("decode", message, `byte ${at}`);
  }

  /** A read that needs bytes up to `needed` (or past the end, when unknown) beyond this reader's end. */
  pastEnd(message: string, at = this.pos, needed?: number): never {
    if (this.end === this.buf.length) throw new TruncatedError(message, at, needed);
    this.fail(message, at);
  }

  /** Reads a varint as an unsigned 32-bit number (upper bits discarded, as protobuf does for int32). */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.pastEnd("truncated varint");
      const byte = b[p++]!;
      if (shift < 32) result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        return result % TWO32;
      }
      shift += 7;
    }
    this.fail("varint longer than 10 bytes");
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** Reads a varint as two 32-bit halves. */
  private varint64(): [lo: number, hi: number] {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.pastEnd("truncated varint");
      const byte = b[p++]!;
      const bits = byte & 0x7f;
      if (i < 4) lo += bits * 2 ** (7 * i);
      else if (i === 4) {
        lo += (bits & 0x0f) * 2 ** 28;
        hi += bits >>> 4;
      } else hi += bits * 2 ** (7 * i - 32);
      if ((byte & 0x80) === 0) {
        this.pos = p;
        return [lo >>> 0, hi % TWO32 >>> 0];
      }
    }
    this.fail("varint longer than 10 bytes");
  }

  int64(): Int64 {
    const [lo, hi] = this.varint64();
    if (hi < 0x200000) return hi * TWO32 + lo; // < 2^53
    if (hi >= 0xffe00000) {
      // negative, magnitude < 2^53
      const v = (hi - TWO32) * TWO32 + lo;
      if (Number.isSafeInteger(v)) return v;
    }
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  uint64(): Int64 {
    const [lo, hi] = this.varint64();
    if (hi < 0x200000) return hi * TWO32 + lo;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  float(): number {
    if (this.pos + 4 > this.end) this.pastEnd("truncated fixed32", this.pos, this.pos + 4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.pastEnd("truncated fixed64", this.pos, this.pos + 8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Length prefix of a length-delimited field, checked against the enclosing end. */
  length(): number {
    const at = this.pos;
    const n = this.uint32();
    if (n > this.end - this.pos) this.pastEnd(`length ${n} runs past the end of its message (${this.end - this.pos} bytes left)`, at, this.pos + n);
    return n;
  }

  /** A zero-copy view of the next length-delimited field. */
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.length();
    const s = decodeUtf8(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Skips one field's value of the given wire type; returns false on a bare end-group. */
  skip(wireType: number, fieldNumber: number, depth: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint64();
        return;
      case WireType.Fixed64:
        if (this.pos + 8 > this.end) this.pastEnd("truncated fixed64", this.pos, this.pos + 8);
        this.pos += 8;
        return;
      case WireType.LengthDelimited: {
        const n = this.length();
        this.pos += n;
        return;
      }
      case WireType.Fixed32:
        if (this.pos + 4 > this.end) this.pastEnd("truncated fixed32", this.pos, this.pos + 4);
        this.pos += 4;
        return;
      case WireType.StartGroup: {
        if (depth > MAX_DEPTH) this.fail("groups nested too deeply");
        for (;;) {
          if (this.pos >= this.end) this.fail(`unterminated group ${fieldNumber}`);
          const tag = this.uint32();
          const wt = tag & 7;
          const fn = tag >>> 3;
          if (wt === WireType.EndGroup) {
            if (fn !== fieldNumber) this.fail(`group ${fieldNumber} closed by end-group ${fn}`);
            return;
          }
          if (fn === 0) this.fail("field number 0");
          this.skip(wt, fn, depth + 1);
        }
      }
      default:
        this.fail(`invalid wire type ${wireType}`);
    }
  }
}

export const MAX_DEPTH = 100;

const utf8 = new TextDecoder("utf-8");

export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  // Short ASCII strings (names) are by far the most common case.
  if (end - start < 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return utf8.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(buf.subarray(start, end));
}

/** Number of bytes of the varint encoding of a non-negative number below 2^53. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 4;
  let v = Math.floor(n / 0x10000000);
  while (v > 0) {
    size++;
    v = Math.floor(v / 128);
  }
  return size;
}

/** Two's-complement 64-bit image of an int64/uint64 value, as a non-negative bigint or number. */
function toUnsigned64(v: Int64): number | bigint {
  if (typeof v === "number") {
    if (v >= 0) return v;
    return BigInt.asUintN(64, BigInt(v));
  }
  return BigInt.asUintN(64, v);
}

export function varint64Size(v: Int64): number {
  const u = toUnsigned64(v);
  if (typeof u === "number") return varintSize(u);
  let size = 1;
  let x = u >> 7n;
  while (x > 0n) {
    size++;
    x >>= 7n;
  }
  return size;
}

/**
 * A writer that produces a list of chunks. Large byte fields are referenced,
 * not copied, so a model with big raw_data can be written to a file without a
 * second in-memory copy.
 */
export class ChunkWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  readonly chunks: Uint8Array[] = [];
  static readonly BIG = 1 << 16;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(n, 1 << 16));
      this.view = new DataView(this.buf.buffer);
    }
  }

  private flush(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.buf = new Uint8Array(this.buf.length);
      this.view = new DataView(this.buf.buffer);
      this.pos = 0;
    }
  }

  uvarint(n: number): void {
    this.ensure(10);
    const b = this.buf;
    while (n >= 0x80) {
      b[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    b[this.pos++] = n;
  }

  varint64(v: Int64): void {
    const u = toUnsigned64(v);
    if (typeof u === "number") {
      this.uvarint(u);
      return;
    }
    this.ensure(10);
    let x = u;
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  /** int32 and enum values: negative numbers take ten bytes, sign-extended. */
  int32(v: number): void {
    if (v >= 0) this.uvarint(v);
    else this.varint64(BigInt(v));
  }

  tag(field: number, wireType: number): void {
    this.uvarint(field * 8 + wireType);
  }

  float(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  raw(bytes: Uint8Array): void {
    if (bytes.length >= ChunkWriter.BIG) {
      this.flush();
      this.chunks.push(bytes);
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  finish(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }
}

export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

export function int32Size(v: number): number {
  return v >= 0 ? varintSize(v) : 10;
}
