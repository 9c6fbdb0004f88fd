/**
 * Packing of 4-bit and 6-bit codes into bytes, as ONNX stores them (onnx.proto,
 * TensorProto.raw_data):
 *
 *   4-bit: two per byte, first element in the low nibble:
 *          byte[i] = c[2i] | c[2i+1] << 4                       ceil(n/2) bytes
 *   6-bit: four per three bytes, a little-endian bit stream
 *          (c[0] in bits 0–5 of byte 0, c[1] in the next six bits, …):
 *          b0 = c0 | c1 << 6,  b1 = c1 >> 2 | c2 << 4,  b2 = c2 >> 4 | c3 << 2
 *                                                               ceil(6n/8) bytes
 *
 * A short last group is padded with zero codes, and only the bytes that hold
 * code bits are written (onnx ≥ 1.23's `_pack_6bit` does the same). The OCP MX
 * spec leaves packing to implementations; this is ONNX's, so FP6 tensors
 * written by fixq read back in onnx. Bits of a code above its width are ignored.
 */

export function packedLength4(count: number): number {
  return Math.ceil(count / 2);
}

export function packedLength6(count: number): number {
  return Math.ceil((count * 6) / 8);
}

function checkLength(what: string, have: number, need: number): void {
  if (have !== need) throw new RangeError(`${what} has ${have} bytes, expected ${need}`);
}

export function pack4(codes: Uint8Array, out = new Uint8Array(packedLength4(codes.length))): Uint8Array {
  const n = codes.length;
  checkLength("pack4 output", out.length, packedLength4(n));
  const pairs = n >>> 1;
  for (let i = 0; i < pairs; i++) out[i] = (codes[2 * i]! & 0xf) | ((codes[2 * i + 1]! & 0xf) << 4);
  if (n & 1) out[pairs] = codes[n - 1]! & 0xf;
  return out;
}

export function unpack4(packed: Uint8Array, count: number, out = new Uint8Array(count)): Uint8Array {
  checkLength("unpack4 input", packed.length, packedLength4(count));
  if (out.length !== count) throw new RangeError(`unpack4 output has ${out.length} elements, expected ${count}`);
  const pairs = count >>> 1;
  for (let i = 0; i < pairs; i++) {
    const b = packed[i]!;
    out[2 * i] = b & 0xf;
    out[2 * i + 1] = b >>> 4;
  }
  if (count & 1) out[count - 1] = packed[pairs]! & 0xf;
  return out;
}

export function pack6(codes: Uint8Array, out = new Uint8Array(packedLength6(codes.length))): Uint8Array {
  const n = codes.length;
  checkLength("pack6 output", out.length, packedLength6(n));
  const groups = n >>> 2;
  for (let g = 0; g < groups; g++) {
    const c0 = codes[4 * g]! & 0x3f;
    const c1 = codes[4 * g + 1]! & 0x3f;
    const c2 = codes[4 * g + 2]! & 0x3f;
    const c3 = codes[4 * g + 3]! & 0x3f;
    out[3 * g] = c0 | (c1 << 6);
    out[3 * g + 1] = (c1 >>> 2) | (c2 << 4);
    out[3 * g + 2] = (c2 >>> 4) | (c3 << 2);
  }
  const rest = n - 4 * groups;
  if (rest > 0) {
    // 1, 2 or 3 codes left: 6, 12 or 18 bits in 1, 2 or 3 bytes.
    let acc = 0;
    for (let j = 0; j < rest; j++) acc |= (codes[4 * groups + j]! & 0x3f) << (6 * j);
    for (let j = 0; 3 * groups + j < out.length; j++) out[3 * groups + j] = (acc >>> (8 * j)) & 0xff;
  }
  return out;
}

export function unpack6(packed: Uint8Array, count: number, out = new Uint8Array(count)): Uint8Array {
  checkLength("unpack6 input", packed.length, packedLength6(count));
  if (out.length !== count) throw new RangeError(`unpack6 output has ${out.length} elements, expected ${count}`);
  const groups = count >>> 2;
  for (let g = 0; g < groups; g++) {
    const b0 = packed[3 * g]!;
    const b1 = packed[3 * g + 1]!;
    const b2 = packed[3 * g + 2]!;
    out[4 * g] = b0 & 0x3f;
    out[4 * g + 1] = (b0 >>> 6) | ((b1 & 0x0f) << 2);
    out[4 * g + 2] = (b1 >>> 4) | ((b2 & 0x03) << 4);
    out[4 * g + 3] = b2 >>> 2;
  }
  const rest = count - 4 * groups;
  if (rest > 0) {
    let acc = 0;
    for (let j = 0; 3 * groups + j < packed.length; j++) acc |= packed[3 * groups + j]! << (8 * j);
    for (let j = 0; j < rest; j++) out[4 * groups + j] = (acc >>> (6 * j)) & 0x3f;
  }
  return out;
}
