/**
 * Code → float32 by table lookup: one float32 bit pattern per code, built
 * once per format from `codeValue` (the formula in float-format.ts).
 * 2^bits entries: 16 to 256 for the small formats, 65536 (256 KB) for fp16 and bf16.
 *
 * NaN codes decode to the quiet NaN 0x7FC00000 with the code's sign bit
 * (fnuz and e8m0 NaNs are positive); payloads are not kept.
 * Bits of a code above the format's width are ignored.
 */
import { codeValue, type FloatFormat } from "./float-format.js";
import { wordAligned } from "./words.js";

const tables = new Map<string, Uint32Array>();

/** float32 bits of every code of `fmt`, indexed by code. */
export function decodeTable(fmt: FloatFormat): Uint32Array {
  let t = tables.get(fmt.name);
  if (!t) {
    t = new Uint32Array(2 ** fmt.bits);
    const f = new Float32Array(t.buffer);
    for (let c = 0; c < t.length; c++) {
      const v = codeValue(fmt, c);
      if (Number.isNaN(v)) t[c] = 0x7fc00000 | (fmt.signBit && c & fmt.signBit && fmt.specials !== "fnuz" ? 0x80000000 : 0);
      else f[c] = v;
    }
    tables.set(fmt.name, t);
  }
  return t;
}

/** Decodes 8-bit (or narrower) codes; four at a time from 32-bit words where `codes` is aligned (about 2× faster). */
export function decodeBytes(table: Uint32Array, codes: Uint8Array, out: Float32Array): void {
  const t = new Int32Array(table.buffer, table.byteOffset, table.length);
  const o = new Int32Array(out.buffer, out.byteOffset, out.length);
  const mask = t.length - 1;
  const n = codes.length;
  let i = 0;
  if (wordAligned(codes)) {
    const words = new Int32Array(codes.buffer, codes.byteOffset, n >>> 2);
    for (let j = 0; j < words.length; j++, i += 4) {
      const w = words[j]!;
      o[i] = t[w & mask]!;
      o[i + 1] = t[(w >>> 8) & mask]!;
      o[i + 2] = t[(w >>> 16) & mask]!;
      o[i + 3] = t[(w >>> 24) & mask]!;
    }
  }
  for (; i < n; i++) o[i] = t[codes[i]! & mask]!;
}

/** Decodes 16-bit codes; two at a time from 32-bit words where `codes` is aligned. */
export function decodeHalfwords(table: Uint32Array, codes: Uint16Array, out: Float32Array): void {
  const t = new Int32Array(table.buffer, table.byteOffset, table.length);
  const o = new Int32Array(out.buffer, out.byteOffset, out.length);
  const n = codes.length;
  let i = 0;
  if (wordAligned(codes)) {
    const words = new Int32Array(codes.buffer, codes.byteOffset, n >>> 1);
    for (let j = 0; j < words.length; j++, i += 2) {
      const w = words[j]!;
      o[i] = t[w & 0xffff]!;
      o[i + 1] = t[w >>> 16]!;
    }
  }
  for (; i < n; i++) o[i] = t[codes[i]!]!;
}
