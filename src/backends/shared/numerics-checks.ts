/**
 * The check every integer back end runs first: each op inside the domain
 * numerics defines for it (numerics/domain.ts). Arithmetic ops check their
 * parameters against their operands' ranges: first the types' ranges, and,
 * where that fails, the certified ranges (a left shift or a rescale term is
 * safe when the values that reach it are small enough, not only when every
 * value of the type is).
 *
 *   quantize, dequantize   scale (finite, positive as float32), integer zero point and range
 *   requant                per channel: requantDomainIssue(m, s, rounding, acc range);
 *                          one multiplier, or one per channel along `axis`
 *   rescale                rescaleDomainIssue(zeros, multipliers, shift, input ranges)
 *   fixedrescale           fixedRescaleDomainIssue(multipliers, shift, cast, input ranges)
 *   conv, dense, sumpool   integer input zero point
 *   maxpool, reshape, transpose, concat   data movement: nothing to check
 *   remap                  index tables matching the output's axes, inside the input
 *   gather                 a table of rows × width codes; slice: rows within the axis
 *   matmul, mul, addconst  integer zero points; table: an entry for every input code
 *   softmax, layernorm     their bounds are checked when they are lowered (integer/lower-transformer.ts)
 * and every integer value fits the int32 storage every back end uses (no uint32).
 */
import type { CheckContext, CheckTable } from "../contract.js";
import { type AddConstOp, type IntOp, type Program, type RequantOp, sampleSize, type TableOp } from "../../integer/program.js";
import { intTypeName } from "../../numerics/int.js";
import { remapIssue } from "../../numerics/remap.js";
import { fixedRescaleDomainIssue } from "../../numerics/fixed-rescale.js";
import { dequantizeDomainIssue, quantizeDomainIssue, requantDomainIssue, rescaleDomainIssue } from "../../numerics/domain.js";

const zeroPoint = (z: number): string[] => (Number.isSafeInteger(z) ? [] : [`input zero point ${z} is not an integer`]);
/** An integer value of more than 31 bits unsigned does not fit int32 storage. */
function storage(p: Program, op: IntOp): string[] {
  if (op.kind === "dequantize") return [];
  const t = p.values.get(op.output)?.type;
  return t && t.bits >= 32 && !t.signed ? [`${intTypeName(t)} values do not fit the int32 storage of the integer program (largest: int32, uint31)`] : [];
}

const storageOnly = (op: IntOp, ctx: CheckContext): string[] => storage(ctx.program, op);
const opt = (issue: string | undefined): string[] => (issue === undefined ? [] : [issue]);

function requantIssues(op: RequantOp, ctx: CheckContext): string[] {
  const channels = ctx.program.values.get(op.output)?.shape[op.axis];
  if (op.multipliers.length !== 1 && op.multipliers.length !== channels) return [`${op.multipliers.length} multipliers for ${channels} channels along axis ${op.axis}`];
  const rounding = ctx.program.rounding;
  const issues: string[] = [];
  let certified: ReturnType<CheckContext["certifiedRange"]> | undefined;
  op.multipliers.forEach((d, c) => {
    if (requantDomainIssue(d, rounding, ctx.typeRange(op.input)) === undefined) return;
    certified ??= ctx.certifiedRange(op.input);
    const issue = requantDomainIssue(d, rounding, certified);
    if (issue !== undefined) issues.push(op.multipliers.length > 1 ? `channel ${c}: ${issue}` : issue);
  });
  return issues.length > 3 ? [...issues.slice(0, 3), `and ${issues.length - 3} more channels`] : issues;
}

export const NUMERICS_CHECKS = {
  quantize: (op, ctx) => [...storage(ctx.program, op), ...opt(quantizeDomainIssue(op.scale, op.zeroPoint, op.qmin, op.qmax))],
  dequantize: (op) => opt(dequantizeDomainIssue(op.scale, op.zeroPoint)),
  conv: (op, ctx) => [...storage(ctx.program, op), ...zeroPoint(op.inputZero)],
  dense: (op, ctx) => [...storage(ctx.program, op), ...zeroPoint(op.inputZero)],
  sumpool: (op, ctx) => [...storage(ctx.program, op), ...zeroPoint(op.inputZero)],
  maxpool: storageOnly,
  requant: (op, ctx) => [...storage(ctx.program, op), ...requantIssues(op, ctx)],
  rescale: (op, ctx) => {
    if (rescaleDomainIssue(op, op.inputs.map((i) => ctx.typeRange(i))) === undefined) return storage(ctx.program, op);
    return [...storage(ctx.program, op), ...opt(rescaleDomainIssue(op, op.inputs.map((i) => ctx.certifiedRange(i))))];
  },
  fixedrescale: (op, ctx) => {
    if (fixedRescaleDomainIssue(op, op.inputs.map((i) => ctx.typeRange(i))) === undefined) return storage(ctx.program, op);
    return [...storage(ctx.program, op), ...opt(fixedRescaleDomainIssue(op, op.inputs.map((i) => ctx.certifiedRange(i))))];
  },
  reshape: storageOnly,
  transpose: storageOnly,
  concat: storageOnly,
  matmul: (op, ctx) => [...storage(ctx.program, op), ...op.inputZeros.flatMap(zeroPoint)],
  mul: (op, ctx) => [...storage(ctx.program, op), ...op.inputZeros.flatMap(zeroPoint)],
  table: (op, ctx) => [...storage(ctx.program, op), ...tableIssues(op, ctx)],
  softmax: storageOnly,
  layernorm: storageOnly,
  addconst: (op, ctx) => [...storage(ctx.program, op), ...zeroPoint(op.inputZero), ...offsetSpan(op, ctx)],
  gather: (op, ctx) => [...storage(ctx.program, op), ...(op.table.length === op.rows * op.width ? [] : [`a table of ${op.table.length} codes is not ${op.rows} rows of ${op.width}`])],
  remap: (op, ctx) => {
    const shape = (name: string) => ctx.program.values.get(name)?.shape ?? [];
    return [...storage(ctx.program, op), ...opt(remapIssue(op.offsets, sampleSize(shape(op.input)), shape(op.output)))];
  },
  slice: (op, ctx) => {
    const d = ctx.program.values.get(op.input)?.shape[op.axis] ?? 0;
    return [...storage(ctx.program, op), ...(op.start >= 0 && op.start < op.end && op.end <= d ? [] : [`rows ${op.start}…${op.end - 1} are not within axis ${op.axis} of length ${d}`])];
  },
} satisfies CheckTable;

/** The offset spans whole trailing axes of a sample (its length is their product). */
function offsetSpan(op: AddConstOp, ctx: CheckContext): string[] {
  const shape = ctx.program.values.get(op.output)?.shape ?? [];
  for (let k = shape.length; k >= 0; k--) if (shape.slice(k).reduce((a, b) => a * b, 1) === op.offset.length) return [];
  return [`an offset of ${op.offset.length} values does not span trailing axes of [${shape.join(",")}]`];
}

/** Every code of the input's type has a table entry. */
function tableIssues(op: TableOp, ctx: CheckContext): string[] {
  const r = ctx.typeRange(op.input);
  return r.lo >= op.inputMin && r.hi - op.inputMin < op.table.length ? [] : [`the table covers ${op.inputMin}…${op.inputMin + op.table.length - 1}, not the input's ${r.lo}…${r.hi}`];
}
