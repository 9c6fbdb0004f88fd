/**
 * The ops of the integer program (program.ts) that convolutional networks
 * lower to: the float boundary (quantize, dequantize), the integer products
 * (conv, dense, sumpool) into int32 accumulators, the requantizations back
 * to activations (requant, rescale, fixedrescale), maxpool, and data
 * movement (reshape, transpose, concat, remap). Their arithmetic is stated
 * in program.ts's comment and defined once in src/numerics.
 */
import type { FixedCastSpec } from "../numerics/fixed-rescale.js";
import type { IntType } from "../numerics/int.js";
import type { Dyadic } from "../numerics/requant.js";

export interface OpBase {
  /** The ONNX node this op comes from, for reports and errors ("Conv '/layer1/conv1/Conv'"). */
  readonly source: string;
}

/** Graph input (float32) → integer activation, ONNX QuantizeLinear. */
export interface QuantizeOp extends OpBase {
  readonly kind: "quantize";
  readonly input: string;
  readonly output: string;
  /** float32 scale. */
  readonly scale: number;
  readonly zeroPoint: number;
  readonly qmin: number;
  readonly qmax: number;
}

/** Integer activation → graph output (float32), ONNX DequantizeLinear. */
export interface DequantizeOp extends OpBase {
  readonly kind: "dequantize";
  readonly input: string;
  readonly output: string;
  readonly scale: number;
  readonly zeroPoint: number;
}

/** 2-D convolution into an int32 accumulator. */
export interface ConvOp extends OpBase {
  readonly kind: "conv";
  readonly input: string;
  readonly output: string;
  readonly inputZero: number;
  /** OIHW: [outChannels, inChannels / group, kh, kw], weight zero point already subtracted. */
  readonly weight: Int32Array;
  readonly weightShape: readonly [number, number, number, number];
  /** One per output channel, at scale S_in · S_w[c]; absent = 0. */
  readonly bias?: Int32Array;
  /** The exact type every element of `weight` lies in (see `WeightTyped`). */
  readonly weightType?: IntType;
  readonly strides: readonly [number, number];
  /** [top, left, bottom, right]; padded positions contribute 0 (they hold inputZero). */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly group: number;
}

/**
 * Fully connected: the input's last axis (K) times a weight [N, K] (one row
 * per output feature), into int32 [..., N]. Covers Gemm and MatMul with a
 * constant right-hand side.
 */
export interface DenseOp extends OpBase {
  readonly kind: "dense";
  readonly input: string;
  readonly output: string;
  readonly inputZero: number;
  /** [N, K] row-major, weight zero point already subtracted. */
  readonly weight: Int32Array;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias?: Int32Array;
  /** The exact type every element of `weight` lies in (see `WeightTyped`). */
  readonly weightType?: IntType;
}

/**
 * A layer's weight type, per layer: formats may differ from one layer to the
 * next (int4 weights here, int8 there). `integerize` sets it from the exact
 * format the QDQ file records (a 3-bit weight stored as INT4 is int3): with a
 * zero point of 0 the format's own type, else the narrowest signed type
 * holding qmin − z … qmax − z. Back ends may rely on it (verifyProgram checks
 * the weights lie in it); a hand-built program may leave it out, and then
 * `weightTypeOf` gives the narrowest signed type holding the weights.
 */
export type WeightTyped = ConvOp | DenseOp;

/** Window sums of (x − inputZero): AveragePool and GlobalAveragePool before their dyadic reciprocal. */
export interface SumPoolOp extends OpBase {
  readonly kind: "sumpool";
  readonly input: string;
  readonly output: string;
  readonly inputZero: number;
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
}

export interface MaxPoolOp extends OpBase {
  readonly kind: "maxpool";
  readonly input: string;
  readonly output: string;
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

/** int32 accumulator → activation: dyadic multiply per channel, zero point, clamp (ReLU/ReLU6 live in the clamp). */
export interface RequantOp extends OpBase {
  readonly kind: "requant";
  readonly input: string;
  readonly output: string;
  /** One per channel along `axis`, or one for the tensor. */
  readonly multipliers: readonly Dyadic[];
  /** Per-sample axis the multipliers run along (0 for NCHW channels, the last for dense). */
  readonly axis: number;
  readonly outZero: number;
  readonly clampLo: number;
  readonly clampHi: number;
}

/** Σ_i (x_i − z_i)·m_i, one rounding shift, zero point, clamp: residual Add, Concat branches, standalone ReLU, scale changes. */
export interface RescaleOp extends OpBase {
  readonly kind: "rescale";
  readonly inputs: readonly string[];
  readonly output: string;
  readonly inputZeros: readonly number[];
  /** Non-negative integers below 2^31, sharing `shift`. */
  readonly multipliers: readonly number[];
  readonly shift: number;
  readonly outZero: number;
  readonly clampLo: number;
  readonly clampHi: number;
}

/**
 * Into a fixed-point activation: Σ_i x_i·m_i (inputs at zero point 0; m_i
 * powers of two for pure fixed-point designs), shifted right by `shift` with
 * the ap rounding mode, the ap overflow mode into W bits, then the clamp
 * (ReLU, ReLU6). numerics/fixed-rescale.ts defines it.
 */
export interface FixedRescaleOp extends OpBase {
  readonly kind: "fixedrescale";
  readonly inputs: readonly string[];
  readonly output: string;
  /** Non-negative integers below 2^31, sharing `shift`. */
  readonly multipliers: readonly number[];
  readonly shift: number;
  readonly cast: FixedCastSpec;
  readonly clampLo: number;
  readonly clampHi: number;
}

export interface ReshapeOp extends OpBase {
  readonly kind: "reshape";
  readonly input: string;
  readonly output: string;
}

export interface TransposeOp extends OpBase {
  readonly kind: "transpose";
  readonly input: string;
  readonly output: string;
  /** Permutation of the per-sample axes. */
  readonly perm: readonly number[];
}

export interface ConcatOp extends OpBase {
  readonly kind: "concat";
  readonly inputs: readonly string[];
  readonly output: string;
  /** Per-sample axis. */
  readonly axis: number;
}

/**
 * A gather with a compile-time index map, separable per output axis
 * (numerics/remap.ts): y[i_0, …, i_{r−1}] = x[Σ_a offsets[a][i_a]], per
 * sample, x read as its flat row-major elements. Nearest Resize/Upsample
 * (offsets[a][i] = src_a(i)·stride_a(x)) and the interleave of ConvTranspose's
 * output phases (lower-conv-transpose.ts). Values move; scale and zero point
 * pass through.
 */
export interface RemapOp extends OpBase {
  readonly kind: "remap";
  readonly input: string;
  readonly output: string;
  /** One table per per-sample output axis, of that axis's length: flat input offsets summed over the axes. */
  readonly offsets: readonly Int32Array[];
}
