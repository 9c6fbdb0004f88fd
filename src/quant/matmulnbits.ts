/**
 * Weight-only QDQ → ONNX Runtime's `MatMulNBits` (com.microsoft), the format
 * transformers.js ships as `q4`: each MatMul (or Gemm with transA = 0,
 * alpha = beta = 1) whose weight is a DequantizeLinear of a constant integer
 * tensor blocked along K becomes one node computing
 *   Y = A · Wᵀ (+ bias),  W[n, k] = (u[n, k] − zp[n, ⌊k/B⌋]) · scale[n, ⌊k/B⌋]
 * with u the weight code stored unsigned in `bits` ∈ {2, 4, 8} bits:
 *   signed codes q: u = q + 2^(bits−1), zp = z + 2^(bits−1);  unsigned: u = q, zp = z.
 * W is exactly the QDQ model's dequantized weight. Zero points all equal to
 * 2^(bits−1) (symmetric weights) are left implicit; others are packed like
 * the codes. Packing (MatMulNBits' layout): B is uint8 [N, ⌈K/B⌉, B·bits/8],
 * code k of a block in bits k·bits … k·bits + bits − 1 of the block's bytes,
 * low bits first, the tail of the last block 0; scales are [N·⌈K/B⌉] row-major
 * by n; zero points [N·⌈⌈K/B⌉·bits/8⌉]. `bits` is the least of 2, 4, 8 holding
 * every code and zero point. A block longer than K is shortened to the least
 * power of two ≥ max(K, 16) (still one block: same scales, no padding).
 * `accuracy_level` 4 lets ORT compute with int8
 * activations (blocked, dynamic).
 */
import { DataType } from "../ir/dtype.js";
import { FixqError } from "../ir/errors.js";
import type { Attribute, Model, Node } from "../ir/graph.js";
import { type Tensor, tensorToFloat64 } from "../ir/tensor.js";
import { attrInt } from "../ir/attrs.js";
import { type DequantizedLayer, dequantizedLayers, rebuildGraph } from "./dequantized-layers.js";

export interface MatMulNBitsOptions {
  /** MatMulNBits' accuracy_level: 0 (default: the kernel's choice, float compute), 1 fp32, 2 fp16, 3 bf16, 4 int8. */
  readonly accuracyLevel?: number;
}

export interface MatMulNBitsReport {
  /** Rewritten nodes, with their bits and block size. */
  readonly rewritten: readonly { readonly node: string; readonly bits: number; readonly blockSize: number; readonly explicitZeroPoints: boolean }[];
  /** MatMul/Gemm nodes with a dequantized constant weight left as they were, and why. */
  readonly kept: readonly { readonly node: string; readonly reason: string }[];
}

const SIGNED: Partial<Record<number, boolean>> = { [DataType.INT4]: true, [DataType.UINT4]: false, [DataType.INT8]: true, [DataType.UINT8]: false, [DataType.INT2]: true, [DataType.UINT2]: false };

const intAttr = (name: string, v: number): Attribute => ({ name, type: 2, i: v });

interface Weight {
  readonly codes: Float64Array;
  readonly zeros: Float64Array;
  readonly scales: Float64Array;
  readonly signed: boolean;
  readonly dims: readonly number[];
  readonly axis: number;
  readonly blockSize: number;
}

/** Bytes of `values` (each in [0, 2^bits)) packed low bits first, `perRow` values per row of `rowBytes`. */
function pack(values: (i: number) => number, rows: number, perRow: number, bits: number, rowBytes: number): Uint8Array {
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < perRow; j++) {
      const bit = j * bits;
      out[r * rowBytes + (bit >> 3)]! |= values(r * perRow + j) << (bit & 7);
    }
  }
  return out;
}

function leastBits(signed: boolean, lo: number, hi: number): number | undefined {
  for (const b of [2, 4, 8]) {
    const [min, max] = signed ? [-(2 ** (b - 1)), 2 ** (b - 1) - 1] : [0, 2 ** b - 1];
    if (lo >= min && hi <= max) return b;
  }
  return undefined;
}

function float32Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): Tensor {
  return { name, dtype: DataType.FLOAT, dims: [...dims], raw: new Uint8Array(Float32Array.from(values).buffer) };
}

/** The layer's codes, zero points and scales, or why it cannot become MatMulNBits. */
function weightOf({ dq, x, scale: s, zero: z }: DequantizedLayer): Weight | string {
  const signed = SIGNED[x.dtype];
  if (signed === undefined) return `its weight is stored as ${x.dtype}, not a 2/4/8-bit integer`;
  const blockSize = attrInt(dq, "block_size", 0);
  if (blockSize === 0) return "its weight is not quantized in blocks (use --granularity per-block:N)";
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) return `block size ${blockSize} is not a power of two ≥ 16`;
  const dims = x.dims.map(Number);
  if (dims.length !== 2) return `its weight has rank ${dims.length}, not 2`;
  let axis = attrInt(dq, "axis", 1);
  if (axis < 0) axis += 2;
  const scales = tensorToFloat64(s);
  return { codes: tensorToFloat64(x), zeros: z ? tensorToFloat64(z) : new Float64Array(scales.length), scales, signed, dims, axis, blockSize };
}

/** Rewrites every eligible MatMul/Gemm of a weight-only QDQ model; throws if none is eligible. */
export function toMatMulNBits(model: Model, opts: MatMulNBitsOptions = {}): { model: Model; report: MatMulNBitsReport } {
  const g = model.graph;
  if (!g) throw new FixqError("model", "the model has no graph");
  const level = opts.accuracyLevel ?? 0;
  if (!Number.isInteger(level) || level < 0 || level > 4) throw new FixqError("usage", `--nbits-accuracy-level expects 0…4, got ${level}`);
  const { layers, kept } = dequantizedLayers(g);
  const rewritten: MatMulNBitsReport["rewritten"][number][] = [];
  const replace = new Map<Node, Node[]>();
  const added: Tensor[] = [];

  for (const layer of layers) {
    const { node: n, name, transB, bias } = layer;
    const keep = (reason: string) => kept.push({ node: name, reason });
    const w = weightOf(layer);
    if (typeof w === "string") {
      keep(w);
      continue;
    }
    const [K, N] = transB ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    const kAxis = transB ? 1 : 0;
    if (w.axis !== kAxis) {
      keep(`its blocks run along axis ${w.axis}, not the reduction axis ${kAxis}`);
      continue;
    }
    // one block covers K: the smallest power of two ≥ max(K, 16) is the same single block, without padding
    const B = Math.min(w.blockSize, 2 ** Math.ceil(Math.log2(Math.max(K, 16))));
    const blocks = Math.ceil(K / B);
    // code and block parameters at (n, k) / (n, block), whatever the stored layout
    const code = (nn: number, k: number) => w.codes[transB ? nn * K + k : k * N + nn]!;
    const param = (a: Float64Array, nn: number, b: number) => a[transB ? nn * blocks + b : b * N + nn]!;
    let lo = 0;
    let hi = 0;
    for (const v of [...w.codes, ...w.zeros]) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const bits = leastBits(w.signed, lo, hi);
    if (!bits) {
      keep(`its codes span ${lo}…${hi}, beyond 8 bits`);
      continue;
    }
    const off = w.signed ? 2 ** (bits - 1) : 0;
    const blob = (B * bits) / 8;
    const packed = pack((i) => {
      const nn = Math.floor(i / (blocks * B));
      const k = i % (blocks * B);
      return k < K ? code(nn, k) + off : 0;
    }, N, blocks * B, bits, blocks * blob);
    const scales = Float64Array.from({ length: N * blocks }, (_, i) => param(w.scales, Math.floor(i / blocks), i % blocks));
    const zps = Float64Array.from({ length: N * blocks }, (_, i) => param(w.zeros, Math.floor(i / blocks), i % blocks) + off);
    const explicit = zps.some((z) => z !== 2 ** (bits - 1));
    const base = `${name}_nbits`;
    added.push({ name: `${base}_B`, dtype: DataType.UINT8, dims: [N, blocks, blob], raw: packed }, float32Tensor(`${base}_scales`, [N * blocks], scales));
    const inputs = [n.inputs[0]!, `${base}_B`, `${base}_scales`];
    if (explicit) {
      const zRow = Math.ceil((blocks * bits) / 8);
      added.push({ name: `${base}_zero_points`, dtype: DataType.UINT8, dims: [N * zRow], raw: pack((i) => zps[i]!, N, blocks, bits, zRow) });
      inputs.push(`${base}_zero_points`);
    }
    if (bias) {
      while (inputs.length < 5) inputs.push("");
      inputs.push(bias.name!);
    }
    const attributes = [intAttr("K", K), intAttr("N", N), intAttr("bits", bits), intAttr("block_size", B), ...(level ? [intAttr("accuracy_level", level)] : [])];
    replace.set(n, [{ name: base, opType: "MatMulNBits", domain: "com.microsoft", inputs, outputs: [...n.outputs], attributes }]);
    rewritten.push({ node: name, bits, blockSize: B, explicitZeroPoints: explicit });
  }
  if (rewritten.length === 0) {
    const why = kept[0] ? `: ${kept[0].node} ${kept[0].reason}` : ": it has no MatMul or Gemm with a dequantized constant weight";
    throw new FixqError("unsupported", `--weight-only-op matmulnbits: no layer can become MatMulNBits${why}`);
  }
  const opsets = model.opsets.some((o) => o.domain === "com.microsoft") ? model.opsets : [...model.opsets, { domain: "com.microsoft", version: 1 }];
  return { model: { ...rebuildGraph(model, replace, added), opsets }, report: { rewritten, kept } };
}
