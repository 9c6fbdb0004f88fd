/**
 * Small text helpers for the generated JS module: number and array
 * literals that round-trip exactly, comment-safe strings, shape arithmetic,
 * and the per-op emitter contract.
 */
import type { IntOp, Program, ProgramValue } from "../../integer/program.js";

/** What an op emitter writes: module-level constants and one function `name(inputs…, output, batch)`. */
export interface OpCode {
  readonly name: string;
  /** Constants and the function, ready to paste at module level. */
  readonly text: string;
}

/** Everything an op emitter may need besides the op. */
export interface EmitCtx {
  readonly program: Program;
  /** The op's index in `program.ops` (names the function `op<i>_<kind>`). */
  readonly index: number;
  value(name: string): ProgramValue;
}

export type OpEmitter<T extends IntOp> = (op: T, ctx: EmitCtx) => OpCode;

/** A number literal that reads back to the same double (−0 kept, no exponent loss). */
export function num(x: number): string {
  if (Object.is(x, -0)) return "-0";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  return String(x);
}

export function numList(xs: ArrayLike<number>): string {
  return `[${Array.from(xs, num).join(", ")}]`;
}

/** A string literal. */
export function str(s: string): string {
  return JSON.stringify(s);
}

/** Text safe inside a `//` comment: one line, printable. */
export function commentText(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]+/g, " ").replace(/[\u0000-\u001f\u007f]/g, "?");
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function product(xs: readonly number[]): number {
  let n = 1;
  for (const x of xs) n *= x;
  return n;
}

/** `op3_conv` for op 3. */
export function opFunctionName(index: number, op: IntOp): string {
  return `op${index}_${op.kind}`;
}

/** The comment line naming an op: its ONNX source and its values. */
export function opHeader(op: IntOp, ctx: EmitCtx, what: string): string {
  const ins = "inputs" in op ? op.inputs : [op.input];
  const desc = (n: string) => {
    const v = ctx.program.values.get(n);
    return v ? `'${n}' ${v.type.signed ? "" : "u"}int${v.type.bits}${shapeText(v.shape)}` : `'${n}' float32`;
  };
  const outV = ctx.program.values.get(op.output);
  const out = outV ? desc(op.output) : `'${op.output}' float32`;
  return [
    `// ── op ${ctx.index}: ${op.kind} ── ${commentText(op.source)}`,
    `// ${commentText(`${ins.map(desc).join(", ")} → ${out}`)}`,
    `// ${commentText(what)}`,
  ].join("\n");
}
