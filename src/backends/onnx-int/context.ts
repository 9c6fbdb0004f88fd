/**
 * Shared state of one integer ONNX export: the graph builder, the program,
 * and the ONNX name and element type of every program value emitted so far.
 * Also the helpers every op emitter uses: casts, per-channel constants that
 * broadcast along a per-sample axis, and accumulators whose bias is left
 * pending for the requant that reads them.
 */
import { DataType } from "../../ir/dtype.js";
import { FixqError } from "../../ir/errors.js";
import { type Program, type ProgramValue, opInputs } from "../../integer/program.js";
import { type ConstValues, GraphBuilder, intAttr } from "./builder.js";
import { carrierOf } from "./carriers.js";

export interface Emitted {
  readonly name: string;
  readonly dtype: number;
}

/** A per-channel int32 bias not yet added to an accumulator (its sole reader, a requant, folds it in). */
export interface PendingBias {
  readonly values: Int32Array;
  /** Per-sample axis and rank of the accumulator. */
  readonly axis: number;
  readonly rank: number;
}

export class EmitContext {
  readonly b = new GraphBuilder();
  private readonly emitted = new Map<string, Emitted>();
  private readonly pending = new Map<string, { e: Emitted; bias: PendingBias }>();
  private readonly readers = new Map<string, string[]>();

  constructor(readonly p: Program) {
    for (const v of p.values.keys()) this.b.reserve(v);
    for (const io of [...p.inputs, ...p.outputs]) this.b.reserve(io.name);
    for (const op of p.ops) for (const i of opInputs(op)) this.readers.set(i, [...(this.readers.get(i) ?? []), op.kind]);
  }

  /** Whether value `name` is read by exactly one op, a requant (which can fold a bias into its rounding offset). */
  soleReaderIsRequant(name: string): boolean {
    const r = this.readers.get(name);
    return r?.length === 1 && r[0] === "requant";
  }

  /** Records `name` as `e` + bias, the bias added only if a reader needs the value itself. */
  setBiased(name: string, e: Emitted, bias: PendingBias): void {
    this.pending.set(name, { e, bias });
  }

  /** The tensor and pending bias of `name`, without adding the bias. */
  getUnbiased(name: string, where: string): { e: Emitted; bias?: PendingBias } {
    return this.pending.get(name) ?? { e: this.get(name, where) };
  }

  value(name: string, where: string): ProgramValue {
    const v = this.p.values.get(name);
    if (!v) throw new FixqError("model", `integer ONNX export: value '${name}' is not declared in the program`, where);
    return v;
  }

  /** The ONNX tensor holding program value `name` (must already be emitted). */
  get(name: string, where: string): Emitted {
    const p = this.pending.get(name);
    if (p) {
      const { values, axis, rank } = p.bias;
      const bias = this.b.constant(DataType.INT32, [values.length, ...Array<number>(rank - 1 - axis).fill(1)], values, `${name}_bias`);
      const e: Emitted = { name: this.b.op("Add", [this.cast(p.e, DataType.INT32, `${name}_acc`).name, bias], [], name, name), dtype: DataType.INT32 };
      this.pending.delete(name);
      this.emitted.set(name, e);
      return e;
    }
    const e = this.emitted.get(name);
    if (!e) throw new FixqError("model", `integer ONNX export: value '${name}' is read before it is written`, where);
    return e;
  }

  set(name: string, e: Emitted): void {
    this.emitted.set(name, e);
  }

  /** The carrier type of program value `name`. */
  carrier(name: string, where: string): number {
    return carrierOf(this.value(name, where).type, where);
  }

  cast(x: Emitted, to: number, hint = "cast", output?: string): Emitted {
    if (x.dtype === to && !output) return x;
    if (x.dtype === to) return { name: this.b.op("Identity", [x.name], [], hint, output), dtype: to };
    return { name: this.b.op("Cast", [x.name], [intAttr("to", to)], hint, output), dtype: to };
  }

  /** Elementwise binary op; the result has x's type. */
  binary(op: string, x: Emitted, y: string, hint = op): Emitted {
    return { name: this.b.op(op, [x.name, y], [], hint), dtype: x.dtype };
  }

  /**
   * A constant with one entry per channel along per-sample `axis` of a
   * per-sample `rank`, shaped [C, 1, …, 1] so that it broadcasts against
   * [N, …]; a scalar when all entries are equal.
   */
  channelConst(dtype: number, values: ConstValues, axis: number, rank: number, hint: string): string {
    const n = values.length;
    let same = true;
    for (let i = 1; i < n && same; i++) same = values[i] === values[0];
    if (same) return this.b.scalar(dtype, values[0]!, hint);
    return this.b.constant(dtype, [n, ...Array<number>(rank - 1 - axis).fill(1)], values, hint);
  }

  i64(v: number | bigint, hint = "k"): string {
    return this.b.scalar(DataType.INT64, v, hint);
  }
}
