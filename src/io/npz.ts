/**
 * Reader and writer for NumPy .npz archives: zip files whose entries are .npy
 * files, stored (numpy.savez) or deflated (numpy.savez_compressed).
 *
 * Writing uses fflate's zip encoder. Reading walks the zip central directory
 * here, validating every offset and size against the actual bytes (including
 * zip64 records as written by numpy), inflates with fflate into a buffer of the
 * declared size, and checks each entry's length and CRC-32, so truncated or
 * corrupt archives are reported instead of yielding wrong data.
 */
import { readFileSync, readSync } from "node:fs";
import { extname } from "node:path";
import { inflateSync, type Zippable, zipSync } from "fflate";
import { writeFileAtomic } from "../ir/atomic-write.js";
import { encodeNpyAs, type NpyArray, NpyFormatError, parseNpy } from "./npy.js";

export interface NpzWriteOptions {
  /** Deflate the entries (like numpy.savez_compressed). Default false (stored, like numpy.savez). */
  compress?: boolean;
}

export type Fail = (problem: string) => never;

/** Bytes 0x80..0xff of code page 437, the zip default for names without the UTF-8 flag. */
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
/** Deflate cannot expand by more than ~1032:1; anything claiming more is corrupt. */
export const MAX_DEFLATE_RATIO = 1032;
/** Entries are written without zip64 records, so each must stay below 4 GiB. */
const MAX_ENTRY_BYTES = 0xfffffffe;

let crcTable: Int32Array | undefined;

/** Running CRC-32: start from CRC32_INIT, feed chunks in order, then crc32Final. */
export const CRC32_INIT = -1;

export function crc32Final(state: number): number {
  return (state ^ -1) >>> 0;
}

function crc32(bytes: Uint8Array): number {
  return crc32Final(crc32Update(CRC32_INIT, bytes));
}

export function crc32Update(state: number, bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let c = state;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

function decodeName(raw: Uint8Array, utf8: boolean, fail: Fail): string {
  if (utf8) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      return fail("entry name is not valid UTF-8");
    }
  }
  let s = "";
  for (const b of raw) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return s;
}

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  dataStart: number;
}

/**
 * Random access to an archive's bytes: the whole file in memory, or a file
 * read a page at a time (so the directory of a large archive costs a few
 * pages). Reads past the end throw RangeError, as a DataView does.
 */
export interface ZipBytes {
  readonly size: number;
  bytes(offset: number, length: number): Uint8Array;
}

export function memoryZipBytes(bytes: Uint8Array): ZipBytes {
  return {
    size: bytes.length,
    bytes(o, len) {
      if (o < 0 || len < 0 || o + len > bytes.length) throw new RangeError(`offset ${o}+${len} is outside the ${bytes.length}-byte archive`);
      return bytes.subarray(o, o + len);
    },
  };
}

const PAGE = 1 << 16;

/** Pages of an open file, cached while the reader lives. */
export function fileZipBytes(fd: number, size: number): ZipBytes {
  const pages = new Map<number, Uint8Array>();
  const readAt = (o: number, len: number) => {
    const buf = new Uint8Array(len);
    for (let done = 0; done < len; ) {
      const got = readSync(fd, buf, done, len - done, o + done);
      if (got === 0) throw new RangeError(`file ended at ${o + done} of ${size} bytes`);
      done += got;
    }
    return buf;
  };
  return {
    size,
    bytes(o, len) {
      if (o < 0 || len < 0 || o + len > size) throw new RangeError(`offset ${o}+${len} is outside the ${size}-byte archive`);
      const p = Math.floor(o / PAGE);
      if (o + len > (p + 1) * PAGE) return readAt(o, len);
      let page = pages.get(p);
      if (!page) {
        page = readAt(p * PAGE, Math.min(PAGE, size - p * PAGE));
        pages.set(p, page);
      }
      return page.subarray(o - p * PAGE, o - p * PAGE + len);
    },
  };
}

/** Reads and validates the central directory of a zip archive. */
export function readZipDirectory(src: ZipBytes, fail: Fail): ZipEntry[] {
  const n = src.size;
  const view = (o: number, len: number) => {
    const b = src.bytes(o, len);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  };
  const u16 = (o: number) => view(o, 2).getUint16(0, true);
  const u32 = (o: number) => view(o, 4).getUint32(0, true);
  const u64 = (o: number, what: string): number => {
    const v = view(o, 8).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is out of range`);
    return Number(v);
  };

  // End of central directory: the last signature whose comment fits the file.
  let eocd = -1;
  const tailStart = Math.max(0, n - 22 - 0xffff);
  const tail = view(tailStart, n - tailStart);
  for (let e = n - 22; e >= tailStart; e--) {
    if (tail.getUint32(e - tailStart, true) === SIG_EOCD && e + 22 + tail.getUint16(e + 20 - tailStart, true) <= n) {
      eocd = e;
      break;
    }
  }
  if (eocd < 0) {
    const head = src.bytes(0, Math.min(n, 6));
    const isNpy = n >= 6 && head[0] === 0x93 && String.fromCharCode(...head.subarray(1, 6)) === "NUMPY";
    if (isNpy) fail("not a .npz archive (this looks like a .npy file)");
    if (n >= 4 && u32(0) === SIG_LOCAL) fail("truncated zip archive (no end-of-central-directory record)");
    fail(`not a zip archive (no end-of-central-directory record in ${n} bytes)`);
  }
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) fail("multi-disk zip archives are not supported");
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdOffset = u32(eocd + 16);
  let cdLimit = eocd;
  if (eocd >= 20 && u32(eocd - 20) === SIG_ZIP64_LOCATOR) {
    const z = u64(eocd - 12, "zip64 end record offset");
    if (z + 56 > eocd - 20 || u32(z) !== SIG_ZIP64_EOCD) fail("corrupt zip64 end-of-central-directory record");
    if (u32(z + 16) !== 0 || u32(z + 20) !== 0) fail("multi-disk zip archives are not supported");
    count = u64(z + 32, "zip64 entry count");
    cdSize = u64(z + 40, "zip64 central directory size");
    cdOffset = u64(z + 48, "zip64 central directory offset");
    cdLimit = z;
  }
  if (cdOffset + cdSize > cdLimit) {
    fail(`truncated or corrupt zip archive (central directory at ${cdOffset}+${cdSize} runs past ${cdLimit})`);
  }
  if (count * 46 > cdSize) fail(`corrupt zip archive (${count} entries cannot fit in a ${cdSize}-byte directory)`);

  const entries: ZipEntry[] = [];
  const cdEnd = cdOffset + cdSize;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || u32(p) !== SIG_CENTRAL) fail(`corrupt zip central directory (entry ${i} at offset ${p})`);
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let compressedSize = u32(p + 20);
    let size = u32(p + 24);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    let localOffset = u32(p + 42);
    const nameStart = p + 46;
    const extraStart = nameStart + nameLen;
    const next = extraStart + extraLen + commentLen;
    if (next > cdEnd) fail(`corrupt zip central directory (entry ${i} runs past its end)`);
    const rawName = src.bytes(nameStart, nameLen);
    const name = decodeName(rawName, (flags & 0x800) !== 0, fail);
    const entryFail: Fail = (problem) => fail(`entry ${JSON.stringify(name)}: ${problem}`);
    if (flags & 0x1) entryFail("encrypted entries are not supported");

    // Zip64 extended information: the 64-bit values of the saturated fields, in order.
    for (let x = extraStart; x + 4 <= extraStart + extraLen; ) {
      const id = u16(x);
      const len = u16(x + 2);
      const end = x + 4 + len;
      if (end > extraStart + extraLen) entryFail("corrupt extra field");
      if (id === 0x0001) {
        let q = x + 4;
        const take = (what: string): number => {
          if (q + 8 > end) entryFail("corrupt zip64 extra field");
          const v = u64(q, what);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take("size");
        if (compressedSize === 0xffffffff) compressedSize = take("compressed size");
        if (localOffset === 0xffffffff) localOffset = take("offset");
      }
      x = end;
    }

    if (localOffset + 30 > cdOffset || u32(localOffset) !== SIG_LOCAL) {
      entryFail(`bad local header offset ${localOffset}`);
    }
    const localNameLen = u16(localOffset + 26);
    const localExtraLen = u16(localOffset + 28);
    const localName = src.bytes(localOffset + 30, Math.min(localNameLen, Math.max(0, n - localOffset - 30)));
    if (localNameLen !== nameLen || localName.some((b, k) => b !== rawName[k])) {
      entryFail("local header name does not match the central directory");
    }
    const dataStart = localOffset + 30 + localNameLen + localExtraLen;
    if (dataStart + compressedSize > cdOffset) {
      entryFail(`truncated: ${compressedSize} bytes of data at offset ${dataStart} run past the entries area`);
    }
    entries.push({ name, method, crc, compressedSize, size, dataStart });
    p = next;
  }
  return entries;
}

/** Returns the uncompressed contents of an entry, checking size and CRC. */
function entryData(bytes: Uint8Array, e: ZipEntry, fail: Fail): Uint8Array {
  const raw = bytes.subarray(e.dataStart, e.dataStart + e.compressedSize);
  let data: Uint8Array;
  if (e.method === 0) {
    if (e.size !== e.compressedSize) fail(`stored entry has size ${e.size} but ${e.compressedSize} bytes of data`);
    data = raw;
  } else if (e.method === 8) {
    if (e.size > e.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      fail(`declared size ${e.size} is impossible for ${e.compressedSize} bytes of deflate data`);
    }
    // One spare byte detects streams that inflate to more than declared.
    const out = new Uint8Array(e.size + 1);
    try {
      data = inflateSync(raw, { out });
    } catch (err) {
      return fail(`corrupt deflate data (${err instanceof Error ? err.message : String(err)})`);
    }
    if (data.length > e.size) fail(`inflates to more than the ${e.size} bytes the zip header declares`);
    if (data.length < e.size) fail(`inflates to ${data.length} bytes, but the zip header declares ${e.size}`);
  } else {
    return fail(`unsupported compression method ${e.method} (only stored and deflate)`);
  }
  const crc = crc32(data);
  if (crc !== e.crc) fail(`CRC-32 mismatch (data ${hex32(crc)}, zip header ${hex32(e.crc)})`);
  return data;
}

function hex32(x: number): string {
  return x.toString(16).padStart(8, "0");
}

/**
 * Parses the bytes of a .npz archive into a map from array name (entry name
 * without ".npy") to array. `where` names the file in error messages; problems
 * inside an entry are reported as `where:entry.npy: problem`.
 */
export function parseNpz(bytes: Uint8Array, where = "<npz>"): Map<string, NpyArray> {
  const fail: Fail = (problem) => {
    throw new NpyFormatError(where, problem);
  };
  const out = new Map<string, NpyArray>();
  for (const e of readZipDirectory(memoryZipBytes(bytes), fail)) {
    if (e.name.endsWith("/") && e.size === 0) continue; // directory entry
    const key = e.name.endsWith(".npy") ? e.name.slice(0, -4) : e.name;
    if (out.has(key)) fail(`duplicate array name ${JSON.stringify(key)}`);
    const data = entryData(bytes, e, (problem) => fail(`entry ${JSON.stringify(e.name)}: ${problem}`));
    out.set(key, parseNpy(data, `${where}:${e.name}`));
  }
  return out;
}

function entriesOf(arrays: Map<string, NpyArray> | Record<string, NpyArray>): [string, NpyArray][] {
  return arrays instanceof Map ? [...arrays] : Object.entries(arrays);
}

function encodeNpzAs(
  arrays: Map<string, NpyArray> | Record<string, NpyArray>,
  opts: NpzWriteOptions,
  where: string,
): Uint8Array {
  const level = opts.compress ? 6 : 0;
  const files: Zippable = {};
  for (const [key, arr] of entriesOf(arrays)) {
    const name = `${key}.npy`;
    if (key.endsWith("/") || key.includes("\0")) {
      throw new NpyFormatError(where, `invalid array name ${JSON.stringify(key)}`);
    }
    const npy = encodeNpyAs(arr, `${where}:${name}`);
    if (npy.length > MAX_ENTRY_BYTES) {
      throw new NpyFormatError(where, `array ${JSON.stringify(key)} is ${npy.length} bytes; entries over 4 GiB are not supported`);
    }
    files[name] = [npy, { level }];
  }
  // A fixed timestamp keeps the output reproducible.
  return zipSync(files, { mtime: new Date(1980, 0, 1, 0, 0, 0) });
}

/**
 * Encodes arrays as a .npz archive. Entries are named `<key>.npy`, stored
 * uncompressed unless `opts.compress` is set.
 */
export function encodeNpz(
  arrays: Map<string, NpyArray> | Record<string, NpyArray>,
  opts: NpzWriteOptions = {},
): Uint8Array {
  return encodeNpzAs(arrays, opts, "<npz>");
}

/** Reads and parses a .npz file. */
export function readNpz(path: string): Map<string, NpyArray> {
  return parseNpz(readFileSync(path), path);
}

/** Writes a .npz file atomically (temporary file in the same directory, then rename). */
export function writeNpz(
  path: string,
  arrays: Map<string, NpyArray> | Record<string, NpyArray>,
  opts: NpzWriteOptions = {},
): void {
  writeFileAtomic(path, encodeNpzAs(arrays, opts, path));
}

/**
 * Reads a tensor file by extension: a .npy file gives a map with the single
 * key "", a .npz file gives its entries. Any other extension is an error.
 */
export function readTensorFile(path: string): Map<string, NpyArray> {
  const ext = extname(path).toLowerCase();
  if (ext === ".npy") return new Map([["", parseNpy(readFileSync(path), path)]]);
  if (ext === ".npz") return readNpz(path);
  throw new NpyFormatError(path, `unsupported tensor file extension ${JSON.stringify(ext)} (expected .npy or .npz)`);
}
