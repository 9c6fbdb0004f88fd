/**
 * Runtime helpers pasted at the top of the generated module (plain JS, no
 * imports): base64 weight decoding, the int32 dot-product kernel of conv and
 * dense with conv's im2col gather table, ONNX's round-half-to-even, and the
 * index map of a transpose. Only the helpers a program uses are emitted.
 * roundHalfEven is printed from numerics' definition (numerics/definitions.ts).
 */
import { roundHalfEvenDef } from "../../numerics/definitions.js";
import { printJsFunction } from "../shared/print-js.js";

const INTS = `const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64_INDEX[BASE64_ALPHABET.charCodeAt(i)] = i;

/** Base64 text → bytes (whitespace and padding ignored). */
function bytes(text) {
  const out = new Uint8Array(Math.ceil((text.length * 3) / 4));
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? BASE64_INDEX[c] : -1;
    if (d < 0) continue;
    acc = ((acc << 6) | d) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 255;
    }
  }
  return out.subarray(0, n);
}

/** \`count\` little-endian two's-complement integers of \`width\` bytes (1, 2 or 4), as an Int32Array. */
function ints(width, count, text) {
  const b = bytes(text);
  if (b.length !== width * count) throw new Error("corrupt weight blob");
  const out = new Int32Array(count);
  for (let i = 0, j = 0; i < count; i++, j += width) {
    if (width === 1) out[i] = (b[j] << 24) >> 24;
    else if (width === 2) out[i] = ((b[j] | (b[j + 1] << 8)) << 16) >> 16;
    else out[i] = b[j] | (b[j + 1] << 8) | (b[j + 2] << 16) | (b[j + 3] << 24);
  }
  return out;
}`;

const GEMM = `/**
 * y[yo + o·os + p·ps] = bias[o] + Σ_k w[o·K + k] · a[p·K + k]  for rows p < P and outputs o0 ≤ o < o1:
 * the dot product of weight row o with row p of \`a\` (an im2col patch, or dense inputs), all Float64Array.
 * Exact: the emitter checks |bias| + Σ|w|·max|a| < 2^53 for every row, so every partial sum is an integer a
 * double holds. Blocks of 4 outputs × 2 rows share their loads.
 */
function gemm(a, P, K, w, bias, o0, o1, y, yo, os, ps) {
  let o = o0;
  for (; o + 3 < o1; o += 4) {
    const w0 = o * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
    let p = 0;
    for (; p + 1 < P; p += 2) {
      const ap = p * K, aq = ap + K;
      let s0 = bias[o], s1 = bias[o + 1], s2 = bias[o + 2], s3 = bias[o + 3];
      let t0 = s0, t1 = s1, t2 = s2, t3 = s3;
      for (let k = 0; k < K; k++) {
        const u = a[ap + k], v = a[aq + k];
        const x0 = w[w0 + k], x1 = w[w1 + k], x2 = w[w2 + k], x3 = w[w3 + k];
        s0 += x0 * u;
        s1 += x1 * u;
        s2 += x2 * u;
        s3 += x3 * u;
        t0 += x0 * v;
        t1 += x1 * v;
        t2 += x2 * v;
        t3 += x3 * v;
      }
      const yp = yo + o * os + p * ps, yq = yp + ps;
      y[yp] = s0;
      y[yp + os] = s1;
      y[yp + 2 * os] = s2;
      y[yp + 3 * os] = s3;
      y[yq] = t0;
      y[yq + os] = t1;
      y[yq + 2 * os] = t2;
      y[yq + 3 * os] = t3;
    }
    for (; p < P; p++) {
      const ap = p * K;
      let s0 = bias[o], s1 = bias[o + 1], s2 = bias[o + 2], s3 = bias[o + 3];
      for (let k = 0; k < K; k++) {
        const u = a[ap + k];
        s0 += w[w0 + k] * u;
        s1 += w[w1 + k] * u;
        s2 += w[w2 + k] * u;
        s3 += w[w3 + k] * u;
      }
      const yp = yo + o * os + p * ps;
      y[yp] = s0;
      y[yp + os] = s1;
      y[yp + 2 * os] = s2;
      y[yp + 3 * os] = s3;
    }
  }
  for (; o < o1; o++) {
    const w0 = o * K;
    for (let p = 0; p < P; p++) {
      const ap = p * K;
      let s = bias[o];
      for (let k = 0; k < K; k++) s += w[w0 + k] * a[ap + k];
      y[yo + o * os + p * ps] = s;
    }
  }
}`;

const GEMM_INT = `/**
 * As gemm, for layers whose sums could pass 2^53: Int32Array operands, int32 products (Math.imul) and sums (| 0),
 * the exact result modulo 2^32.
 */
function gemmInt(a, P, K, w, bias, o0, o1, y, yo, os, ps) {
  for (let o = o0; o < o1; o++) {
    const w0 = o * K;
    for (let p = 0; p < P; p++) {
      const ap = p * K;
      let s = bias[o];
      for (let k = 0; k < K; k++) s = (s + Math.imul(w[w0 + k], a[ap + k])) | 0;
      y[yo + o * os + p * ps] = s;
    }
  }
}`;

const CONV_INDEX = `/**
 * The im2col gather table of a conv group: for output position p = oh·OW + ow and k = (c·KH + kh)·KW + kw,
 * the input offset (c·H + ih)·W + iw from the group's first channel, ih = oh·SH − PT + kh·DH, iw = ow·SW − PL + kw·DW,
 * or −1 where (ih, iw) is padding.
 */
function convIndex(CG, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW) {
  const idx = new Int32Array(OH * OW * CG * KH * KW);
  let q = 0;
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      for (let c = 0; c < CG; c++) {
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PT + kh * DH;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PL + kw * DW;
            idx[q++] = ih >= 0 && ih < H && iw >= 0 && iw < W ? (c * H + ih) * W + iw : -1;
          }
        }
      }
    }
  }
  return idx;
}`;

/** Printed from numerics' definition (numerics/definitions.ts). */
const ROUND = `/** Nearest integer, ties to even (ONNX QuantizeLinear); exact for every double, NaN and ±Infinity pass through. */
${printJsFunction(roundHalfEvenDef)}`;

const TRANSPOSE = `/** For each flat index of the transposed tensor, the flat index it reads in the input (per sample). */
function transposeMap(shape, perm) {
  const rank = shape.length;
  const inStride = new Array(rank);
  let size = 1;
  for (let k = rank - 1; k >= 0; k--) {
    inStride[k] = size;
    size *= shape[k];
  }
  const outShape = perm.map((p) => shape[p]);
  const stride = perm.map((p) => inStride[p]);
  const map = new Int32Array(size);
  const idx = new Array(rank).fill(0);
  for (let i = 0; i < size; i++) {
    let off = 0;
    for (let k = 0; k < rank; k++) off += idx[k] * stride[k];
    map[i] = off;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return map;
}`;

export interface PreludeNeeds {
  readonly ints: boolean;
  readonly gemm: boolean;
  readonly gemmInt: boolean;
  readonly conv: boolean;
  readonly round: boolean;
  readonly transpose: boolean;
}

export function preludeText(needs: PreludeNeeds): string {
  const parts: string[] = [];
  if (needs.ints) parts.push(INTS);
  if (needs.gemm) parts.push(GEMM);
  if (needs.gemmInt) parts.push(GEMM_INT);
  if (needs.conv) parts.push(CONV_INDEX);
  if (needs.round) parts.push(ROUND);
  if (needs.transpose) parts.push(TRANSPOSE);
  return parts.join("\n\n");
}
