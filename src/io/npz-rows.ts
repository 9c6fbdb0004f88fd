/**
 * Row-wise reading of the arrays in a .npz archive, as npy-rows.ts does for a
 * .npy: the zip directory is read and checked up front (a few pages of the
 * file, not the whole of it), then rows [start, start + count) of each array
 * are produced on demand, so a calibration set of any size costs about one
 * batch of memory.
 *
 * - Stored entries (numpy.savez): rows are read at their file offsets.
 * - Deflated entries (numpy.savez_compressed): the entry is inflated as a
 *   stream (fflate's Inflate, 64 KiB of compressed input at a time) and only
 *   the bytes of the rows asked for are kept. Reading forwards continues the
 *   stream; reading backwards restarts it from the entry's start.
 *
 * Checks: the .npy header of every entry and its data size against the shape
 * (at open); for deflated entries the inflated size against the zip header
 * (as the stream runs) and the CRC-32 once the stream ends; for stored
 * entries the CRC-32 once every byte has been read in order (as calibration
 * does). A run that stops early (a sample limit) checks no CRC.
 *
 * Entries that cannot be read by rows (Fortran order, big-endian, 0-d) are
 * read whole instead, as in npy-rows.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { Inflate } from "fflate";
import { npyAlloc, type NpyData, NpyFormatError, npyItemSize, parseNpy, parseNpyHeader } from "./npy.js";
import type { NpyRows } from "./npy-rows.js";
import { CRC32_INIT, crc32Final, crc32Update, type Fail, fileZipBytes, MAX_DEFLATE_RATIO, readZipDirectory, type ZipEntry } from "./npz.js";

export interface NpzRows {
  /** Array name (entry name without ".npy") → its rows. */
  readonly arrays: Map<string, NpyRows>;
  /** Closes the file; every array's `close` does nothing, this does it once. */
  close(): void;
}

/** Compressed bytes pushed into the inflater per step. */
const INFLATE_STEP = 1 << 16;

/** Reads decompressed bytes [a, b) of one entry into `into` (b − a bytes). */
interface EntryBytes {
  read(a: number, b: number, into: Uint8Array): void;
}

function readFully(fd: number, into: Uint8Array, position: number, fail: Fail): void {
  for (let done = 0; done < into.length; ) {
    const got = readSync(fd, into, done, into.length - done, position + done);
    if (got === 0) fail(`short read at byte ${position + done}`);
    done += got;
  }
}

function hex32(x: number): string {
  return x.toString(16).padStart(8, "0");
}

function storedBytes(fd: number, e: ZipEntry, fail: Fail): EntryBytes {
  if (e.size !== e.compressedSize) fail(`stored entry has size ${e.size} but ${e.compressedSize} bytes of data`);
  let crc = CRC32_INIT;
  let crcPos = 0; // bytes [0, crcPos) are in `crc`; −1 once a read skipped ahead
  return {
    read(a, b, into) {
      readFully(fd, into, e.dataStart + a, fail);
      if (crcPos >= a && crcPos < b) {
        crc = crc32Update(crc, into.subarray(crcPos - a));
        crcPos = b;
        if (crcPos === e.size && crc32Final(crc) !== e.crc) {
          fail(`CRC-32 mismatch (data ${hex32(crc32Final(crc))}, zip header ${hex32(e.crc)})`);
        }
      } else if (a > crcPos) crcPos = -1;
    },
  };
}

function inflatedBytes(fd: number, e: ZipEntry, fail: Fail): EntryBytes {
  if (e.size > e.compressedSize * MAX_DEFLATE_RATIO + 1024) {
    fail(`declared size ${e.size} is impossible for ${e.compressedSize} bytes of deflate data`);
  }
  let inflater: Inflate;
  let consumed = 0; // compressed bytes pushed
  let produced = 0; // decompressed bytes delivered
  let chunks: Uint8Array[] = []; // decompressed bytes [chunksStart, produced)
  let chunksStart = 0;
  let crc = CRC32_INIT;
  const restart = () => {
    inflater = new Inflate((chunk, final) => {
      if (chunk.length > 0) {
        produced += chunk.length;
        if (produced > e.size) fail(`inflates to more than the ${e.size} bytes the zip header declares`);
        crc = crc32Update(crc, chunk);
        chunks.push(chunk);
      }
      if (final) {
        if (produced < e.size) fail(`inflates to ${produced} bytes, but the zip header declares ${e.size}`);
        if (crc32Final(crc) !== e.crc) fail(`CRC-32 mismatch (data ${hex32(crc32Final(crc))}, zip header ${hex32(e.crc)})`);
      }
    });
    consumed = 0;
    produced = 0;
    chunks = [];
    chunksStart = 0;
    crc = CRC32_INIT;
  };
  /** Drops whole chunks that end at or before `pos`. */
  const dropBefore = (pos: number) => {
    let k = 0;
    while (k < chunks.length && chunksStart + chunks[k]!.length <= pos) chunksStart += chunks[k++]!.length;
    if (k > 0) chunks = chunks.slice(k);
  };
  restart();
  return {
    read(a, b, into) {
      if (a < chunksStart) restart();
      while (produced < b) {
        if (consumed >= e.compressedSize) fail(`inflates to ${produced} bytes, but the zip header declares ${e.size}`);
        const step = new Uint8Array(Math.min(INFLATE_STEP, e.compressedSize - consumed));
        readFully(fd, step, e.dataStart + consumed, fail);
        consumed += step.length;
        try {
          inflater!.push(step, consumed === e.compressedSize);
        } catch (err) {
          if (err instanceof NpyFormatError) throw err;
          fail(`corrupt deflate data (${err instanceof Error ? err.message : String(err)})`);
        }
        dropBefore(a);
      }
      let pos = chunksStart;
      for (const c of chunks) {
        const lo = Math.max(a, pos);
        const hi = Math.min(b, pos + c.length);
        if (lo < hi) into.set(c.subarray(lo - pos, hi - pos), lo - a);
        pos += c.length;
        if (pos >= b) break;
      }
      dropBefore(b);
    },
  };
}

function entryRows(bytes: EntryBytes, e: ZipEntry, where: string, fail: Fail): NpyRows {
  const start = new Uint8Array(Math.min(e.size, 12));
  bytes.read(0, start.length, start);
  const major = start[6] ?? 0;
  const headerLen = major === 1 ? (start[8] ?? 0) | ((start[9] ?? 0) << 8) : start.length >= 12 ? new DataView(start.buffer).getUint32(8, true) : 0;
  const prefix = new Uint8Array(Math.min(e.size, (major === 1 ? 10 : 12) + headerLen));
  bytes.read(0, prefix.length, prefix);
  const h = parseNpyHeader(prefix, where);
  const item = npyItemSize(h.dtype);
  if (e.size - h.dataOffset !== h.count * item) {
    fail(`data is ${e.size - h.dataOffset} bytes, shape [${h.shape.join(",")}] of ${h.descr} needs ${h.count * item}`);
  }
  if (h.fortran || (!h.littleEndian && item > 1) || h.shape.length === 0) {
    const all = new Uint8Array(e.size);
    bytes.read(0, e.size, all);
    const whole = parseNpy(all, where);
    const rowSize = whole.shape.slice(1).reduce((x, y) => x * y, 1);
    return { dtype: whole.dtype, shape: whole.shape, read: (s, c) => whole.data.slice(s * rowSize, (s + c) * rowSize) as NpyData, close() {} };
  }
  const rowBytes = h.shape.slice(1).reduce((x, y) => x * y, 1) * item;
  const rows = h.shape[0]!;
  return {
    dtype: h.dtype,
    shape: h.shape,
    read(s, c) {
      if (s < 0 || c < 0 || s + c > rows) fail(`rows ${s}..${s + c} are outside the ${rows} rows`);
      const out = npyAlloc(h.dtype, (c * rowBytes) / item);
      bytes.read(h.dataOffset + s * rowBytes, h.dataOffset + (s + c) * rowBytes, new Uint8Array(out.buffer, 0, c * rowBytes));
      return out;
    },
    close() {},
  };
}

export function openNpzRows(path: string): NpzRows {
  const fd = openSync(path, "r");
  try {
    const fail: Fail = (problem) => {
      throw new NpyFormatError(path, problem);
    };
    const arrays = new Map<string, NpyRows>();
    for (const e of readZipDirectory(fileZipBytes(fd, fstatSync(fd).size), fail)) {
      if (e.name.endsWith("/") && e.size === 0) continue; // directory entry
      const key = e.name.endsWith(".npy") ? e.name.slice(0, -4) : e.name;
      if (arrays.has(key)) fail(`duplicate array name ${JSON.stringify(key)}`);
      const entryFail: Fail = (problem) => fail(`entry ${JSON.stringify(e.name)}: ${problem}`);
      let bytes: EntryBytes;
      if (e.method === 0) bytes = storedBytes(fd, e, entryFail);
      else if (e.method === 8) bytes = inflatedBytes(fd, e, entryFail);
      else return fail(`entry ${JSON.stringify(e.name)}: unsupported compression method ${e.method} (only stored and deflate)`);
      arrays.set(key, entryRows(bytes, e, `${path}:${e.name}`, entryFail));
    }
    let open = true;
    return {
      arrays,
      close() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
