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
 * The ops' fields are in program-ops.ts (the ops convolutional networks
 * lower to) and program-transformer-ops.ts (attention, norms, embeddings).
 */
import type { FixedType } from "../numerics/fixed.js";
import type { IntType } from "../numerics/int.js";
import type { RequantRounding } from "../numerics/requant.js";
import { narrowestIntType } from "../quant/format-annotation.js";
import type { ConcatOp, ConvOp, DenseOp, DequantizeOp, FixedRescaleOp, MaxPoolOp, QuantizeOp, RemapOp, RequantOp, RescaleOp, ReshapeOp, SumPoolOp, TransposeOp, WeightTyped } from "./program-ops.js";
import type { AddConstOp, GatherOp, LayerNormOp, MatMulOp, MulOp, SliceOp, SoftmaxOp, TableOp } from "./program-transformer-ops.js";

// The op types, defined by concern in program-ops.ts (convolutional networks)
// and program-transformer-ops.ts, are named here too: the program's one door.
export type * from "./program-ops.js";
export type * from "./program-transformer-ops.js";

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
