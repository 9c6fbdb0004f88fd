/**
 * The ops of the integer program (program.ts) that transformers add:
 * activation products (matmul, mul), per-code tables, integer softmax and
 * layer norm (numerics/transformer.ts), constant adds, and the embedding
 * gather and slice (numerics/gather.ts). Every op names the ONNX node it
 * comes from (OpBase, program-ops.ts).
 */
import type { OpBase } from "./program-ops.js";

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
