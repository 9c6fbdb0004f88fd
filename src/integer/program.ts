/**
 * The integer program: what `integerize` lowers a quantized graph to, and
 * what every integer back end (emulator, generated JS, integer-only ONNX,
 * C, HLS) executes. Between the input `quantize` and the output `dequantize`
 * every value is an integer tensor and every op is integer arithmetic.
 *
 * Shapes are per sample: every value has a leading batch axis that is not
 * stored, and ops act on each sample alike. Layouts are ONNX's (NCHW
 * activations, OIHW conv weights), row-major.
 *
 * Arithmetic, exactly (all integers; `rshr(x, s)` = floor((x + 2^(s−1)) / 2^s)
 * for s ≥ 1, and x for s = 0 — a right shift rounding half toward +∞):
 * - quantize:   q = clamp(roundHalfEven(float32(x / scale)) + zeroPoint, qmin, qmax)
 *               (ONNX QuantizeLinear, float32 x and scale)
 * - conv/dense: acc = bias[c] + Σ (x − inputZero) · w        (exact, int32 result; int64
 *               where the certificate needs it and a fixedrescale reads it, ACC64)
 * - sumpool:    acc = Σ_window (x − inputZero)                (padding adds 0)
 * - requant:    y = clamp(R(acc, multiplier[c]) + outZero, clampLo, clampHi)
 *               R = single rounding rshr(acc·m, s) (default) or gemmlowp double
 *               rounding (numerics/requant.ts), per `Program.rounding`
 * - rescale:    y = clamp(outZero + rshr(Σ_i (x_i − inputZeros[i]) · multipliers[i], shift), clampLo, clampHi)
 *               (residual Add, Concat branches, a change of scale; inputs
 *               of one shape, no broadcasting; |terms| < 2^48 so doubles are exact)
 * - fixedrescale: y = clamp(O(round_Q(Σ_i x_i · m_i / 2^shift)), clampLo, clampHi)
 *               into a fixed-point activation: its ap_fixed rounding mode Q and
 *               overflow mode O into W bits (numerics/fixed-rescale.ts); inputs
 *               have zero point 0
 * - maxpool:    max over the window, padding ignored (ONNX MaxPool)
 * - reshape, transpose, concat, slice: data movement only
 * - remap:      y[i_0, …, i_{r−1}] = x[Σ_a offsets[a][i_a]] (a gather with a
 *               compile-time, per-axis index map; numerics/remap.ts): nearest
 *               Resize/Upsample and the interleave of ConvTranspose's phases
 * - gather:     y[i, :] = T[idx_i, :] (embedding rows of output codes; numerics/gather.ts)
 * - dequantize: y = float32(float32(q − zeroPoint) · scale)  (ONNX DequantizeLinear)
 * The one definition of that arithmetic is `src/numerics`; the emulator calls
 * it, and the other back ends are tested against the emulator bit for bit.
 */
import type { FixedType } from "../numerics/fixed.js";
import type { FixedCastSpec } from "../numerics/fixed-rescale.js";
import type { IntType } from "../numerics/int.js";
import { narrowestIntType } from "../quant/format-annotation.js";
import type { Dyadic, RequantRounding } from "../numerics/requant.js";

/**
 * The wide accumulator type: a conv or dense accumulator whose
 * certified range leaves int32 (fixed-point designs such as Q2.14 weights
 * and activations) is typed int64 by integer/widen-accumulators.ts. Only
 * those accumulators are wide; every other value stays in int32 storage.
 */
export const ACC64: IntType = { kind: "int", bits: 64, signed: true };

/** Whether a value is a widened (int64) accumulator. */
export function isWideValue(v: ProgramValue | undefined): boolean {
  return v !== undefined && v.type.bits > 32;
}

export interface ProgramValue {
  readonly name: string;
  /** Per-sample shape (the batch axis excluded). */
  readonly shape: readonly number[];
  /** Element type: the activation format (uint8, int8, …), or int32 for accumulators. */
  readonly type: IntType;
  /** Real value = (q − zeroPoint) · scale, for quantized activations (per tensor). Accumulators have none. */
  readonly scale?: number;
  readonly zeroPoint?: number;
  /** The exact ap type of a fixed-point activation (its scale is 2^(I−W), zero point 0). */
  readonly fixed?: FixedType;
}

interface OpBase {
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
 * Activation × activation (attention Q·Kᵀ, probabilities·V), batched over the
 * leading per-sample axes (equal, no broadcasting): inputs [..., M, K] and
 * [..., K, N] into int32 [..., M, N], acc = Σ_k (a − za)·(b − zb).
 */
export interface MatMulOp extends OpBase {
  readonly kind: "matmul";
  readonly inputs: readonly [string, string];
  readonly output: string;
  readonly inputZeros: readonly [number, number];
}

/**
 * Activation ⊙ activation (a gated MLP's x·σ(y), SwiGLU): the elementwise
 * product, broadcast per sample as ONNX Mul (inputs of one per-sample rank,
 * each axis equal to the output's or 1), into int32: acc = (a − za)·(b − zb)
 * (numerics/transformer.ts mulKernel). A requant follows, as after matmul.
 */
export interface MulOp extends OpBase {
  readonly kind: "mul";
  readonly inputs: readonly [string, string];
  readonly output: string;
  readonly inputZeros: readonly [number, number];
}

/** y = table[x − inputMin]: any function of one small-integer input (GELU, Erf, Sigmoid, Mul/Div by constants), exact per code. */
export interface TableOp extends OpBase {
  readonly kind: "table";
  readonly input: string;
  readonly output: string;
  readonly inputMin: number;
  /** One output code per input code inputMin … inputMin + length − 1. */
  readonly table: Int32Array;
}

/** Softmax over the last axis (numerics/transformer.ts): exp table on max − x, integer sum, exact integer division. */
export interface SoftmaxOp extends OpBase {
  readonly kind: "softmax";
  readonly input: string;
  /** A key mask of the input's shape: where it is not 0 the key is excluded (probability 0); an attention mask (passes/key-mask.ts). */
  readonly mask?: string;
  readonly output: string;
  /** exp[d] = round(2^15·exp(−d·S_x)), d = max − x. */
  readonly exp: Int32Array;
  /** c·2^−shift ≈ 1 / S_y. */
  readonly numerator: number;
  readonly shift: number;
  readonly outZero: number;
  readonly clampLo: number;
  readonly clampHi: number;
}

/** LayerNormalization (or RMSNormalization: rmsZero) over the last axis with an integer mean, variance and floor square root (numerics/transformer.ts). */
export interface LayerNormOp extends OpBase {
  readonly kind: "layernorm";
  readonly input: string;
  readonly output: string;
  /** g_i = round(γ_i·√C·2^(k+F) / S_y), integers. */
  readonly gamma: Float64Array;
  /** b_i = round(β_i·2^F / S_y), integers. */
  readonly beta: Float64Array;
  /** k: the variance is scaled by 4^k before its square root. */
  readonly varShift: number;
  /** F ≥ 1: fraction bits of g and b. */
  readonly fracBits: number;
  /** E = max(1, round(ε·C³·4^k / S_x²)). */
  readonly epsilon: number;
  readonly outZero: number;
  readonly clampLo: number;
  readonly clampHi: number;
  /** RMSNormalization: the input's zero point, subtracted instead of the row mean (s = C·z_x); absent for LayerNormalization. */
  readonly rmsZero?: number;
}

/** Adds a constant (bias, position embedding): y = clamp(z + rshr((x − zx)·m + offset[i mod |offset|], s), lo, hi). */
export interface AddConstOp extends OpBase {
  readonly kind: "addconst";
  readonly input: string;
  readonly output: string;
  readonly inputZero: number;
  readonly multiplier: number;
  /**
   * Integers at scale S_y·2^−shift over the trailing axes of a sample the
   * constant spans (its length is the product of those axes), repeated over
   * the leading ones: element i of a sample adds offset[i mod length].
   */
  readonly offset: Float64Array;
  readonly shift: number;
  readonly outZero: number;
  readonly clampLo: number;
  readonly clampHi: number;
}

/**
 * An embedding lookup (numerics/gather.ts gatherKernel): integer indices
 * [...] (a graph input's ids) → [..., width], each row the output codes of
 * one table row; an index outside [−rows, rows) is an error.
 */
export interface GatherOp extends OpBase {
  readonly kind: "gather";
  readonly input: string;
  readonly output: string;
  /** [rows, width] row-major: T[r, j] = Q_y(DQ(W)[r, j]). */
  readonly table: Int32Array;
  readonly rows: number;
  readonly width: number;
}

/** Rows start … end − 1 along one per-sample axis (numerics/gather.ts sliceKernel): the CLS token, a Slice. */
export interface SliceOp extends OpBase {
  readonly kind: "slice";
  readonly input: string;
  readonly output: string;
  /** Per-sample axis. */
  readonly axis: number;
  readonly start: number;
  readonly end: number;
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

export type IntOp =
  | GatherOp
  | RemapOp
  | SliceOp
  | MatMulOp
  | MulOp
  | TableOp
  | SoftmaxOp
  | LayerNormOp
  | AddConstOp
  | QuantizeOp
  | DequantizeOp
  | ConvOp
  | DenseOp
  | SumPoolOp
  | MaxPoolOp
  | RequantOp
  | RescaleOp
  | FixedRescaleOp
  | ReshapeOp
  | TransposeOp
  | ConcatOp;

export type IntOpKind = IntOp["kind"];

export interface ProgramIo {
  readonly name: string;
  /** Per-sample shape. */
  readonly shape: readonly number[];
  /**
   * An integer graph input (int64 ids or a mask): its values are integers,
   * and its `quantize` op has scale 1 and zero point 0, so it only clamps
   * them (exact for every int64: the clamp bounds lie within ±2^24). Back ends
   * that take float32 feeds take the integers as float32 numbers.
   */
  readonly integer?: boolean;
  /**
   * The axis of the source model's tensor along which its samples run, when
   * not the first (torch's seq-first x [seq, batch, d]: 1). The program's data
   * holds samples first ([N, …shape]); runners that take the model's layout
   * (eval's emulator engine) move this axis to the front, and back for outputs.
   */
  readonly batchAxis?: number;
}

export interface Program {
  /** Float32 graph inputs, each read by one `quantize` op. */
  readonly inputs: readonly ProgramIo[];
  /** Float32 graph outputs, each written by one `dequantize` op. */
  readonly outputs: readonly ProgramIo[];
  /** Every integer value, by name. */
  readonly values: ReadonlyMap<string, ProgramValue>;
  /** In execution order. */
  readonly ops: readonly IntOp[];
  readonly rounding: RequantRounding;
  /** Width b of the requant multipliers: 2^(b−1) ≤ m < 2^b. */
  readonly multiplierBits: number;
}

/** The integer value written just before each graph output's `dequantize` ("raw integer outputs"). */
export function integerOutputs(p: Program): string[] {
  return p.outputs.map((o) => {
    const dq = p.ops.find((op) => op.kind === "dequantize" && op.output === o.name) as DequantizeOp | undefined;
    if (!dq) throw new Error(`program output '${o.name}' has no dequantize op`);
    return dq.input;
  });
}

/** The op's weight type: `weightType`, or the narrowest signed type (≥ 2 bits) holding its weights. */
export function weightTypeOf(op: WeightTyped): IntType {
  if (op.weightType) return op.weightType;
  let lo = 0;
  let hi = 0;
  for (const w of op.weight) {
    if (w < lo) lo = w;
    if (w > hi) hi = w;
  }
  return narrowestIntType(lo, hi, true);
}

/** Number of elements of a per-sample shape. */
export function sampleSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The input values an op reads. */
export function opInputs(op: IntOp): readonly string[] {
  if ("inputs" in op) return op.inputs;
  return op.kind === "softmax" && op.mask !== undefined ? [op.input, op.mask] : [op.input];
}
