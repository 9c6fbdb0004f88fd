/**
 * Rescales into fixed-point activations (ap_fixed designs): wherever the
 * value a rescale writes carries a fixed-point type, the lowering emits a
 * `fixedrescale` (program.ts, numerics/fixed-rescale.ts) instead of a dyadic
 * requant or rescale, so the design's rounding and overflow modes apply:
 *
 *   y = clamp(O(round_Q(Σ_i x_i·m_i / 2^s)), lo, hi),  m_i·2^−s = M_i = S_i / S_y
 *
 * Between fixed-point tensors every M_i is a power of two 2^e_i: then
 * s = max(0, −min e_i) and m_i = 2^(e_i + s), a pure shift. A small exact
 * dyadic M_i = a_i·2^e_i (a Gemm's alpha of 1.5 = 3·2^−1 on a power-of-two
 * design) keeps its exact m_i = a_i·2^(e_i + s). Any other M_i (an average
 * pool's 1/window, an integer input) takes the shared-shift dyadic
 * multipliers of a rescale. Inputs must have zero point 0.
 */
import { FixqError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { fixedTypeName } from "../numerics/fixed.js";
import { type FixedCastSpec, fixedCastProblem } from "../numerics/fixed-rescale.js";
import { RESCALE_MAX_SHIFT } from "../numerics/rescale.js";
import { sharedShiftMultipliers } from "./lower-elementwise.js";
import { type ActSpec, type LoweringContext, label } from "./lowering-context.js";
import type { IntOp, ProgramValue } from "./program.js";

/** The exponent e with x = 2^e exactly, or undefined. */
function exactLog2(x: number): number | undefined {
  if (!(x > 0) || !Number.isFinite(x)) return undefined;
  const e = Math.round(Math.log2(x));
  return 2 ** e === x ? e : undefined;
}

/** Largest odd mantissa taken as an exact small multiplier (a Gemm's alpha of 1.5 is 3·2^−1). */
const SMALL_MANTISSA = 2 ** 20;

/** x = m·2^e exactly with an integer 1 ≤ m < SMALL_MANTISSA, or undefined. */
function exactDyadic(x: number): { m: number; e: number } | undefined {
  if (!(x > 0) || !Number.isFinite(x)) return undefined;
  const top = Math.floor(Math.log2(x));
  for (let k = 0; 2 ** k < SMALL_MANTISSA; k++) {
    const m = x * 2 ** (k - top);
    if (Number.isInteger(m) && m < SMALL_MANTISSA) return { m, e: top - k };
  }
  return undefined;
}

/**
 * Multipliers sharing one shift for real rescales M_i: pure shifts when every
 * M_i is a power of two; exact small multipliers m_i·2^(e_i + s) when every
 * M_i is a dyadic m_i·2^e_i with a small m_i (a power-of-two design times a
 * Gemm's alpha of 1.5); otherwise the dyadic multipliers of a rescale.
 */
export function fixedMultipliers(M: readonly number[], bits: number, where: string): { multipliers: number[]; shift: number } {
  const exps = M.map(exactLog2);
  if (exps.every((e) => e !== undefined)) {
    const es = exps as number[];
    const shift = Math.max(0, -Math.min(...es));
    const multipliers = es.map((e) => 2 ** (e + shift));
    if (shift > RESCALE_MAX_SHIFT || multipliers.some((m) => m >= 2 ** 31)) {
      throw new FixqError("unsupported", `cannot integerize: the fixed-point rescale by 2^${es.join(", 2^")} needs a shift or multiplier past the program's limits (shift ≤ ${RESCALE_MAX_SHIFT}, m < 2^31); its formats are too far apart`, where);
    }
    return { multipliers, shift };
  }
  const dyadics = M.map(exactDyadic);
  if (dyadics.every((d) => d !== undefined)) {
    const ds = dyadics as { m: number; e: number }[];
    const shift = Math.max(0, -Math.min(...ds.map((d) => d.e)));
    const multipliers = ds.map((d) => d.m * 2 ** (d.e + shift));
    if (shift <= RESCALE_MAX_SHIFT && multipliers.every((m) => m < 2 ** 31)) return { multipliers, shift };
  }
  return sharedShiftMultipliers(M, bits, where);
}

/** The cast into a fixed-point activation spec. */
export function castOf(spec: ActSpec): FixedCastSpec {
  const t = spec.fixed!;
  return { bits: t.bits, signed: t.signed, round: t.round, overflow: t.overflow, satBits: t.satBits };
}

/**
 * Emits y = fixedrescale(inputs) into `out` (a value of fixed-point spec `spec`):
 * `scales` are the inputs' real scales (an accumulator's S_x·S_W).
 */
export function emitFixedRescale(
  ctx: LoweringContext,
  n: Node,
  inputs: readonly string[],
  scales: readonly number[],
  spec: ActSpec,
  out: string,
  clampLo: number,
  clampHi: number,
): void {
  const where = label(n);
  const cast = castOf(spec);
  const problem = fixedCastProblem(cast);
  if (problem) throw new FixqError("unsupported", `cannot integerize: ${where} writes ${fixedTypeName(spec.fixed!)}: ${problem}`);
  for (const x of inputs) {
    const z = ctx.values.get(x)?.zeroPoint ?? 0;
    if (z !== 0) throw new FixqError("unsupported", `cannot integerize: ${where} rescales '${x}' (zero point ${z}) into fixed point ${fixedTypeName(spec.fixed!)}; fixed-point designs need zero point 0 (symmetric or fixed-point inputs)`);
  }
  const { multipliers, shift } = fixedMultipliers(
    scales.map((s) => s / spec.scale),
    ctx.multiplierBits,
    where,
  );
  ctx.ops.push({ kind: "fixedrescale", source: where, inputs, output: out, multipliers, shift, cast, clampLo, clampHi });
}

/** Per-channel scales into one fixed-point output: the rescale is per tensor, so they must agree. */
export function singleScale(scales: ArrayLike<number>, n: Node, spec: ActSpec): number {
  const s = scales[0]!;
  for (let c = 1; c < scales.length; c++) {
    if (scales[c] !== s) {
      throw new FixqError("unsupported", `cannot integerize: ${label(n)} has per-channel weight scales but writes fixed point ${fixedTypeName(spec.fixed!)}; use fixed-point or per-tensor weights`);
    }
  }
  return s;
}

/** Ops that may write a fixed-point value: the fixed rescale, the graph input's quantize, and data movement. */
const FIXED_WRITERS = new Set(["fixedrescale", "quantize", "maxpool", "reshape", "transpose", "concat", "remap"]);

/** Refuses a program in which another op (a table, softmax, layer norm, …) writes a fixed-point value, naming it. */
export function checkFixedWriters(ops: readonly IntOp[], values: ReadonlyMap<string, ProgramValue>): void {
  for (const op of ops) {
    const t = "output" in op ? values.get(op.output)?.fixed : undefined;
    if (t && !FIXED_WRITERS.has(op.kind)) {
      throw new FixqError("unsupported", `cannot integerize: ${op.source} (${op.kind}) writes fixed point ${fixedTypeName(t)}; fixed-point designs cover Conv, Gemm/MatMul, Add, pools, Relu/Clip and data movement`);
    }
  }
}
