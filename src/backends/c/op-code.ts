/**
 * The per-op emitter contract of the C back end: each op becomes one static
 * function over one sample, `static int opI_kind(const Tin *restrict x…,
 * Tout *restrict y)` returning 0, or FIXQ_ERANGE where numerics refuses the
 * values (double rounding's left shift on integer feeds beyond the quantize
 * range), plus file-scope constants (weights, per-channel multipliers).
 */
import { type DenseOp, type IntOp, opInputs, type Program, type ProgramValue } from "../../integer/program.js";
import { cComment } from "../shared/print-c.js";
import { type CType, cType } from "./c-types.js";

export interface COpCode {
  /** The function's name. */
  readonly name: string;
  /** File-scope constants (weights, per-channel multipliers, offset tables), printed once before every CPU path (cpu-dispatch.ts); a one-sample op's serve its batch function too. */
  readonly decls?: string;
  /** The function `name` alone (with its comment): printed once per CPU path, so no file-scope data. */
  readonly text: string;
  /** Elements of scratch the function needs, by array: "int16_t" (fixq_scratch_int16_t), "pad:int16_t" (fixq_pad_int16_t), …; the largest over ops is allocated once. */
  readonly scratch?: Readonly<Record<string, number>>;
  /** Shared kernels the function calls ("gemm_s16": gemm.ts). */
  readonly uses?: readonly string[];
}

export interface CEmitCtx {
  readonly program: Program;
  readonly index: number;
  value(name: string): ProgramValue;
  /**
   * Samples per call: 1 (one sample, values in their per-sample layout), or
   * TILE (the batch functions: element i of sample b at i·TILE + b, batch-tile.ts).
   */
  readonly lanes?: number;
}

export type COpEmitter<T extends IntOp> = (op: T, ctx: CEmitCtx) => COpCode;

export const opName = (index: number, op: IntOp, lanes = 1): string => `${lanes === 1 ? "op" : "tile"}${index}_${op.kind}`;

/** The C type a value is stored as. */
export const storage = (ctx: CEmitCtx, name: string): CType => cType(ctx.value(name).type);

/** The comment naming an op: its ONNX source, its values and its formula. */
export function opComment(op: IntOp, ctx: CEmitCtx, what: string): string {
  const ins = opInputs(op);
  const desc = (n: string) => {
    const v = ctx.program.values.get(n);
    return v ? `'${n}' ${v.type.signed ? "" : "u"}int${v.type.bits}[${v.shape.join(", ")}]` : `'${n}' float32`;
  };
  return `/* op ${ctx.index}: ${op.kind}, ${cComment(op.source)}\n * ${cComment(`${ins.map(desc).join(", ")} -> ${desc(op.output)}`)}\n * ${cComment(what)} */`;
}

/**
 * A dense op's geometry, checked against its input: y[r, j] over rows =
 * Π input dims but the last, K = in features (the input's last dim), N = out
 * features, and a weight of exactly N·K entries; throws naming the op otherwise.
 */
export function denseGeometry(op: DenseOp, ctx: CEmitCtx): { xv: ProgramValue; K: number; N: number; rows: number } {
  const xv = ctx.value(op.input);
  const K = op.inFeatures;
  const N = op.outFeatures;
  if (xv.shape[xv.shape.length - 1] !== K || op.weight.length !== K * N) throw new Error(`dense ${op.source}: weight [${N}, ${K}] does not fit input [${xv.shape.join(", ")}]`);
  return { xv, K, N, rows: xv.shape.slice(0, -1).reduce((a, b) => a * b, 1) };
}
