/**
 * Row-wise reading of a .npy file: the header is parsed and checked against
 * the file size up front, then rows [start, start + count) along the first
 * axis are read on demand. A calibration set of any size costs one batch of
 * memory. Files that cannot be read by rows (Fortran order, big-endian) are
 * read whole instead.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { type NpyArray, type NpyData, NpyFormatError, npyItemSize, parseNpyHeader, readNpy } from "./npy.js";

export interface NpyRows {
  readonly dtype: NpyArray["dtype"];
  readonly shape: readonly number[];
  /** Rows [start, start + count), as a new C-order array of count × rowSize elements. */
  read(start: number, count: number): NpyData;
  close(): void;
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

export function openNpyRows(path: string): NpyRows {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const start = readAt(fd, 12, 0);
    const major = start[6] ?? 0;
    const headerLen = major === 1 ? (start[8] ?? 0) | ((start[9] ?? 0) << 8) : start.length >= 12 ? start.readUInt32LE(8) : 0;
    const prefix = readAt(fd, Math.min(size, (major === 1 ? 10 : 12) + headerLen), 0);
    const h = parseNpyHeader(prefix, path);
    const item = npyItemSize(h.dtype);
    if (size - h.dataOffset !== h.count * item) {
      throw new NpyFormatError(path, `data is ${size - h.dataOffset} bytes, shape [${h.shape.join(",")}] of ${h.descr} needs ${h.count * item}`);
    }
    if (h.fortran || (!h.littleEndian && item > 1) || h.shape.length === 0) {
      closeSync(fd);
      const whole = readNpy(path);
      const rowSize = whole.shape.slice(1).reduce((a, b) => a * b, 1);
      return {
        dtype: whole.dtype,
        shape: whole.shape,
        read: (s, c) => whole.data.slice(s * rowSize, (s + c) * rowSize) as NpyData,
        close() {},
      };
    }
    const rowSize = h.shape.slice(1).reduce((a, b) => a * b, 1);
    const ctor = {
      f2: Uint16Array, f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array, i8: BigInt64Array,
      u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, u8: BigUint64Array, b1: Uint8Array,
    }[h.dtype];
    let open = true;
    return {
      dtype: h.dtype,
      shape: h.shape,
      read(s, c) {
        const bytes = c * rowSize * item;
        const out = new ctor(c * rowSize);
        const view = new Uint8Array(out.buffer);
        const got = readSync(fd, view, 0, bytes, h.dataOffset + s * rowSize * item);
        if (got !== bytes) throw new NpyFormatError(path, `short read of rows ${s}..${s + c}`);
        return out as NpyData;
      },
      close() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    throw e;
  }
}
