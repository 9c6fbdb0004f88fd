/**
 * Integer arrays embedded in the generated module: each array is stored in
 * the narrowest signed width that holds every element (1, 2 or 4 bytes,
 * little-endian two's complement), base64-encoded in a template literal
 * wrapped at 96 characters; the module's `ints(width, count, text)` decodes
 * it back to an Int32Array at load time.
 */

const LINE = 96;

/** Bytes per element: the narrowest of int8, int16, int32 that holds every value. */
export function blobWidth(xs: Int32Array): 1 | 2 | 4 {
  let lo = 0;
  let hi = 0;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo >= -128 && hi <= 127) return 1;
  if (lo >= -32768 && hi <= 32767) return 2;
  return 4;
}

/** Little-endian bytes of `xs` at `width` bytes per element. */
export function blobBytes(xs: Int32Array, width: 1 | 2 | 4): Uint8Array {
  const out = new Uint8Array(xs.length * width);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    for (let b = 0; b < width; b++) out[i * width + b] = (x >>> (8 * b)) & 255;
  }
  return out;
}

/** The expression `ints(width, count, \`…base64…\`)` that decodes to `xs`. */
export function intsExpr(xs: Int32Array): string {
  const width = blobWidth(xs);
  const b64 = Buffer.from(blobBytes(xs, width)).toString("base64");
  if (b64.length <= LINE) return `ints(${width}, ${xs.length}, "${b64}")`;
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += LINE) lines.push(b64.slice(i, i + LINE));
  return `ints(${width}, ${xs.length}, \`\n${lines.join("\n")}\`)`;
}
