/**
 * Word-at-a-time access to byte and halfword arrays: on a little-endian
 * platform, 32-bit word j of a 4-byte-aligned array holds elements 4j…4j+3
 * (bytes) or 2j, 2j+1 (halfwords), lowest first:
 *   word = e0 | e1 << 8 | e2 << 16 | e3 << 24,   word = h0 | h1 << 16.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Whether 32-bit words may stand for consecutive elements of `a`, lowest first. */
export function wordAligned(a: ArrayBufferView): boolean {
  return LITTLE_ENDIAN && a.byteOffset % 4 === 0;
}
